import { Registry } from 'prom-client';
import { CoherentCache } from '../coherent-cache';
import { LocalCoherenceBus } from '../local-bus';
import { counterValue } from './helpers';

/**
 * The L1 is bounded in bytes, answers and their variant keys
 * included. A client sending 50,000 distinct queries (long aliases, new
 * variables) onto a few lines used to grow one line's map without end.
 */
describe('the L1 under many distinct queries', () => {
  it('keeps its bytes under maxBytes and each line under maxVariantsPerLine, and the heap settles', async () => {
    const bus = new LocalCoherenceBus();
    const registry = new Registry();
    const maxBytes = 4 * 1024 * 1024;
    const cache = new CoherentCache({ instanceId: 'g', bus, registry, maxBytes, maxVariantsPerLine: 32 });
    await cache.start();
    const gauge = async () => (await registry.getSingleMetric('libfed_cache_bytes')!.get()).values[0]?.value ?? 0;
    const answer = 'x'.repeat(500);
    const heap: number[] = [];
    try {
      for (let i = 0; i < 50_000; i++) {
        // Five root lines (Query.loans, ...) and a long alias per request, as an abusive client would send.
        const line = `Query.list${i % 5}`;
        const variant = `loans:0:{ a${i}_${'z'.repeat(200)}: loans(first: 3) { totalCount } }:{}`;
        await cache.read(line, variant, async () => `${answer}${i}`);
        if (i % 10_000 === 9_999) {
          expect(await gauge()).toBeLessThanOrEqual(maxBytes);
          global.gc?.();
          heap.push(process.memoryUsage().heapUsed);
        }
      }
      expect(await gauge()).toBeGreaterThan(0);
      expect(await counterValue(registry, 'libfed_cache_evictions_total', { instance: 'g' })).toBeGreaterThan(40_000);
      // 50,000 answers of ~1.5 KB would be ~75 MB; bounded, the heap does not grow with the count.
      expect(Math.max(...heap) - Math.min(...heap)).toBeLessThan(32 * 1024 * 1024);
      // A recent variant is still served.
      let filled = false;
      const last = `loans:0:{ a49999_${'z'.repeat(200)}: loans(first: 3) { totalCount } }:{}`;
      expect(await cache.read('Query.list4', last, async () => ((filled = true), 'refilled'))).toBe(`${answer}49999`);
      expect(filled).toBe(false);
    } finally {
      await cache.stop();
      await bus.stop();
    }
  });

  it('refuses to install an answer larger than the whole bound, and still returns it', async () => {
    const bus = new LocalCoherenceBus();
    const cache = new CoherentCache({ instanceId: 'g', bus, registry: new Registry(), maxBytes: 1024 });
    await cache.start();
    try {
      let fills = 0;
      const big = async () => (++fills, 'y'.repeat(4096));
      expect(await cache.read('Book:1', 'v', big)).toHaveLength(4096);
      expect(await cache.read('Book:1', 'v', big)).toHaveLength(4096);
      expect(fills).toBe(2);
    } finally {
      await cache.stop();
      await bus.stop();
    }
  });
});

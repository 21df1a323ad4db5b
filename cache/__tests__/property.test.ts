import fc from 'fast-check';
import { Registry } from 'prom-client';
import type { CoherenceBus } from '../bus';
import { CoherentCache } from '../coherent-cache';
import { LocalCoherenceBus } from '../local-bus';
import { manualClock, REDIS_URL, redisBuses, startCaches } from './helpers';

/**
 * The guarantee of docs/ARCHITECTURE.md §5, checked over random histories: three gateway
 * instances with two clients each, every client running its reads and writes
 * one after another, all six at once, over a "database" of versioned entities. A read must never
 * return a version older than the newest write whose `cache.write` had returned
 * (the client's answer) before that read began, whichever instance wrote.
 */
type Op =
  | { kind: 'read'; instance: number; client: number; entity: number; variant: number }
  | { kind: 'write'; instance: number; client: number; entity: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('read' as const), instance: fc.nat(2), client: fc.nat(1), entity: fc.nat(1), variant: fc.nat(1) }),
  fc.record({ kind: fc.constant('write' as const), instance: fc.nat(2), client: fc.nat(1), entity: fc.nat(1) }),
);

/** The shared state of one history: the database and, per entity, the newest acknowledged version. */
class History {
  readonly db = [0, 0, 0];
  readonly acked = [0, 0, 0];
  readonly violations: string[] = [];

  constructor(
    private readonly lineOf: (entity: number) => string,
    /** Where the history may be interleaved: around a commit and around a site's read. */
    private readonly yieldPoint: () => Promise<void>,
  ) {}

  async run(cache: CoherentCache, op: Op): Promise<void> {
    const line = this.lineOf(op.entity);
    if (op.kind === 'write') {
      await this.yieldPoint();
      const version = ++this.db[op.entity];
      await this.yieldPoint(); // the commit's answer travels back to the gateway
      await cache.write([line]); // the mutation's answer goes to its client after this
      this.acked[op.entity] = Math.max(this.acked[op.entity], version);
      return;
    }
    const atLeast = this.acked[op.entity];
    const fill = async () => {
      await this.yieldPoint();
      const version = this.db[op.entity];
      await this.yieldPoint(); // the site's answer travels back to the gateway
      return version;
    };
    const value = await cache.read(line, `v${op.variant}`, fill);
    if (value < atLeast) this.violations.push(`${op.instance} read ${line}@${value} after @${atLeast} was acknowledged`);
  }

  /** Each client runs its ops in order; the two clients of each of the three instances run concurrently. */
  runAll(caches: CoherentCache[], ops: Op[]): Promise<void[]> {
    const clients = caches.flatMap((cache, instance) => [0, 1].map((client) => ({ cache, instance, client })));
    return Promise.all(
      clients.map(async ({ cache, instance, client }) => {
        for (const op of ops.filter((o) => o.instance === instance && o.client === client)) await this.run(cache, op);
      }),
    );
  }
}

describe('coherence over random interleavings (fast-check)', () => {
  it('never returns a value older than the last acknowledged write, on the in-process bus', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(opArb, { minLength: 1, maxLength: 40 }), async (s, ops) => {
        // The scheduler also decides when each bus message arrives, so invalidations
        // race join replies, fills and commits. The clock never moves: no timeouts.
        const clock = manualClock();
        const bus = new LocalCoherenceBus({ clock, deliver: (task) => void s.schedule(Promise.resolve()).then(task) });
        const caches = ['A', 'B', 'C'].map(
          (id) => new CoherentCache({ instanceId: id, bus, registry: new Registry(), clock, maxLines: 1 }),
        );
        await Promise.all(caches.map((cache) => cache.start()));
        const history = new History((e) => `Book:${e}`, () => s.schedule(Promise.resolve()));
        await s.waitFor(history.runAll(caches, ops));
        await Promise.all(caches.map((cache) => cache.stop()));
        expect(history.violations).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  (REDIS_URL ? it : it.skip)('never returns a value older than the last acknowledged write, on Redis', async () => {
    const kind = redisBuses(REDIS_URL ?? '');
    const caches = await startCaches(kind, ['A', 'B', 'C'], { maxLines: 1, ackTimeoutMs: 1000 }, (_id, bus: CoherenceBus) => bus);
    const randomDelay = () => new Promise<void>((resolve) => setTimeout(resolve, Math.floor(Math.random() * 3)));
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
          run += 1; // fresh entities per run: the caches and directory are shared across runs
          const history = new History((e) => `Book:${run}-${e}`, randomDelay);
          await history.runAll(caches, ops);
          expect(history.violations).toEqual([]);
        }),
        { numRuns: 40 },
      );
    } finally {
      await Promise.all(caches.map((cache) => cache.stop()));
      await kind.cleanup();
    }
  });
});

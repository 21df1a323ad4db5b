import fc from 'fast-check';
import { Registry } from 'prom-client';
import { CoherentCache } from '../coherent-cache';
import type { LineRecord } from '../l1';
import { ResponseStore, ResponseTrace } from '../responses';
import { LocalCoherenceBus } from '../local-bus';
import { counterValue, deferred, describeEachBus, manualClock, registryOf, startCaches, type BusKind } from './helpers';

/**
 * The coherent response cache (docs/ARCHITECTURE.md §5, "Whole responses"): a
 * whole answer kept with the lines it was read from, served while each is
 * valid here, never after a write of one of them was acknowledged, never
 * installed from a request a write overtook, and gone with the L1.
 */
describeEachBus('the response cache', (makeKind) => {
  let kind: BusKind;
  let caches: CoherentCache[] = [];
  const db: Record<string, string> = {};

  beforeEach(() => {
    kind = makeKind();
    db['Copy:Q1-QS1'] = 'available';
    db['Book:9'] = 'Dune';
  });

  afterEach(async () => {
    await Promise.all(caches.map((cache) => cache.stop()));
    caches = [];
    await kind.cleanup();
  });

  /** One request: two reads through the entity cache, the second with a type line, answered as one text. */
  async function request(cache: CoherentCache, held?: Promise<void>) {
    const trace = cache.traceResponse();
    const copy = await cache.read('Copy:Q1-QS1', 'sel', async () => db['Copy:Q1-QS1'], [], undefined, trace);
    const book = await cache.read('Book:9', 'sel', async () => {
      const title = db['Book:9'];
      await held;
      return title;
    }, ['Copy:*'], undefined, trace);
    return { trace, text: `${copy}/${book}` };
  }

  it('serves a stored response until another instance writes one of its lines, then misses', async () => {
    const [a, b] = (caches = await startCaches(kind, ['A', 'B']));
    const { trace, text } = await request(a);
    expect(a.storeResponse('q', trace, text)).toBe(true);
    expect(a.lookupResponse('q')).toBe('available/Dune');
    db['Book:9'] = 'Dune Messiah';
    await b.write(['Book:9']);
    expect(a.lookupResponse('q')).toBeUndefined();
    expect(await counterValue(registryOf(a), 'libfed_response_cache_invalidations_total')).toBe(1);
    expect(await counterValue(registryOf(a), 'libfed_response_cache_hits_total')).toBe(1);
  });

  it('drops a response when a dependency (type) line is written', async () => {
    const [a, b] = (caches = await startCaches(kind, ['A', 'B']));
    const { trace, text } = await request(a);
    a.storeResponse('q', trace, text);
    await b.write(['Copy:*']);
    expect(a.lookupResponse('q')).toBeUndefined();
  });

  it('drops a response on its own instance\'s write (read your writes)', async () => {
    const [a] = (caches = await startCaches(kind, ['A']));
    const { trace, text } = await request(a);
    a.storeResponse('q', trace, text);
    await a.write(['Copy:Q1-QS1']);
    expect(a.lookupResponse('q')).toBeUndefined();
  });

  it('does not store a response a write overtook while it was being built (fill fencing)', async () => {
    const [a, b] = (caches = await startCaches(kind, ['A', 'B']));
    await request(a); // both lines held: the next request is all hits...
    const held = deferred<void>();
    const trace = a.traceResponse();
    const copy = await a.read('Copy:Q1-QS1', 'sel', async () => 'not asked', [], undefined, trace);
    // ...then a write of a line the request already read lands before it is stored.
    db['Copy:Q1-QS1'] = 'on loan';
    await b.write(['Copy:Q1-QS1']);
    const book = await a.read('Book:9', 'sel2', async () => (await held.promise, db['Book:9']), ['Copy:*'], undefined, (held.resolve(), trace));
    expect(a.storeResponse('q', trace, `${copy}/${book}`)).toBe(false);
    expect(a.lookupResponse('q')).toBeUndefined();
  });

  it('does not store a response whose fill was overtaken by a write', async () => {
    const [a, b] = (caches = await startCaches(kind, ['A', 'B']));
    const held = deferred<void>();
    const building = request(a, held.promise);
    await new Promise((r) => setTimeout(r, 20));
    db['Book:9'] = 'Dune Messiah';
    await b.write(['Book:9']);
    held.resolve();
    const { trace, text } = await building;
    expect(text).toBe('available/Dune');
    expect(a.storeResponse('q', trace, text)).toBe(false);
  });

  it('does not store a response with a part that was not cacheable', async () => {
    const [a] = (caches = await startCaches(kind, ['A']));
    const trace = a.traceResponse();
    await a.read('Copy:Q1-QS1', 'sel', async () => '', [], (v) => v !== '', trace);
    expect(a.storeResponse('q', trace, '{}')).toBe(false);
  });

  it('refuses hits and forgets every response when the directory is lost', async () => {
    const [a] = (caches = await startCaches(kind, ['A']));
    const { trace, text } = await request(a);
    a.storeResponse('q', trace, text);
    (a as unknown as { enterBypass(reason: string): void }).enterBypass('connection-lost');
    expect(a.lookupResponse('q')).toBeUndefined();
    (a as unknown as { current: { phase: string } }).current = { phase: 'coherent', token: 't', leaseUntil: Number.POSITIVE_INFINITY } as never;
    expect(a.lookupResponse('q')).toBeUndefined(); // even coherent again, nothing from before survives
  });

  it('stores nothing when turned off', async () => {
    const [a] = (caches = await startCaches(kind, ['A'], { responseMaxEntries: 0 }));
    const { trace, text } = await request(a);
    expect(a.storeResponse('q', trace, text)).toBe(false);
    expect(a.lookupResponse('q')).toBeUndefined();
  });
});

describe('the response cache\'s bounds and time', () => {
  it('keeps at most responseMaxEntries responses and forgets one past its time bucket', async () => {
    let wall = 1_000;
    const clock = manualClock();
    const cache = new CoherentCache({ instanceId: 'A', bus: new LocalCoherenceBus({ clock }), registry: new Registry(), clock, responseMaxEntries: 2, wallNowMs: () => wall });
    await cache.start();
    for (const key of ['q1', 'q2', 'q3']) {
      const trace = cache.traceResponse();
      await cache.read(`Book:${key}`, 'sel', async () => key, [], undefined, trace);
      trace.expiresAt(2_000);
      expect(cache.storeResponse(key, trace, key)).toBe(true);
    }
    expect(cache.lookupResponse('q1')).toBeUndefined();
    expect(cache.lookupResponse('q3')).toBe('q3');
    wall = 2_000;
    expect(cache.lookupResponse('q3')).toBeUndefined();
    await cache.stop();
  });
});

/**
 * Random histories over three instances, two clients each, all at once: a
 * query reads two entities (one with a type line) and is answered from the
 * response cache when it can, stored when it cannot; a write bumps one
 * entity. No answer, from the response cache or built, may show a version
 * older than a write acknowledged before the query began.
 */
type Op =
  | { kind: 'query'; instance: number; client: number; entities: [number, number] }
  | { kind: 'write'; instance: number; client: number; entity: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('query' as const), instance: fc.nat(2), client: fc.nat(1), entities: fc.tuple(fc.nat(1), fc.nat(1)) }),
  fc.record({ kind: fc.constant('write' as const), instance: fc.nat(2), client: fc.nat(1), entity: fc.nat(1) }),
);

describe('whole responses over random interleavings (fast-check)', () => {
  it('never serves a response older than an acknowledged write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(opArb, { minLength: 1, maxLength: 40 }), async (s, ops) => {
        const clock = manualClock();
        const bus = new LocalCoherenceBus({ clock, deliver: (task) => void s.schedule(Promise.resolve()).then(task) });
        // Few lines: evictions drop responses too.
        const caches = ['A', 'B', 'C'].map((id) => new CoherentCache({ instanceId: id, bus, registry: new Registry(), clock, maxLines: 4 }));
        await Promise.all(caches.map((cache) => cache.start()));
        const db = [0, 0];
        const acked = [0, 0];
        const violations: string[] = [];
        const pause = () => s.schedule(Promise.resolve());
        const line = (e: number) => `Book:${e}`;
        const run = async (cache: CoherentCache, op: Op) => {
          if (op.kind === 'write') {
            await pause();
            const version = ++db[op.entity];
            await pause();
            const lines = [line(op.entity), 'Book:*'];
            await cache.write(lines);
            acked[op.entity] = Math.max(acked[op.entity], version);
            return;
          }
          const atLeast = [...acked];
          const key = `q${op.entities.join(',')}`;
          let versions = cache.lookupResponse(key) as readonly number[] | undefined;
          if (versions === undefined) {
            const trace = cache.traceResponse();
            const parts: number[] = [];
            for (const [i, e] of op.entities.entries()) {
              const fill = async () => (await pause(), db[e]);
              parts.push(await cache.read(line(e), `v${i}`, async () => { const v = await fill(); await pause(); return v; }, i === 1 ? ['Book:*'] : [], undefined, trace));
            }
            versions = Object.freeze(parts);
            await pause();
            cache.storeResponse(key, trace, versions);
          }
          op.entities.forEach((e, i) => {
            if (versions[i] < atLeast[e]) violations.push(`${key} showed Book:${e}@${versions[i]} after @${atLeast[e]} was acknowledged`);
          });
        };
        const clients = caches.flatMap((cache, instance) => [0, 1].map((client) => ({ cache, instance, client })));
        await s.waitFor(
          Promise.all(
            clients.map(async ({ cache, instance, client }) => {
              for (const op of ops.filter((o) => o.instance === instance && o.client === client)) await run(cache, op);
            }),
          ),
        );
        await Promise.all(caches.map((cache) => cache.stop()));
        expect(violations).toEqual([]);
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});

describe('the response store\'s validity check', () => {
  const record = (): LineRecord => ({ state: 'S', epoch: 1, serial: 1, entries: new Map(), bytes: 0 });

  it('serves without walking the lines while the L1 generation stands, and walks them once it moves', () => {
    const held = new Map([['Book:1', record()], ['Copy:Q1-1', record()]]);
    let walked = 0;
    const l1 = { generation: 7, get: (line: string) => (walked++, held.get(line)) };
    const store = new ResponseStore({ maxEntries: 10, maxBytes: 1 << 20, onInvalidated: () => {} });
    const trace = new ResponseTrace();
    for (const [line, r] of held) trace.saw(line, r);
    const answer = Object.freeze({ data: 1 });
    expect(store.set('q', answer, 10, trace, 7)).toBe(true);
    expect(store.get('q', l1, 0)).toBe(answer);
    expect(walked).toBe(0);
    // Something else went (generation moves): the members are checked again, and still hold.
    l1.generation = 8;
    expect(store.get('q', l1, 0)).toBe(answer);
    expect(walked).toBe(2);
    expect(store.get('q', l1, 0)).toBe(answer);
    expect(walked).toBe(2);
    // A member's record is replaced (generation moves with it): a miss, and the entry is gone.
    held.set('Copy:Q1-1', record());
    l1.generation = 9;
    expect(store.get('q', l1, 0)).toBeUndefined();
    l1.generation = 10;
    held.set('Copy:Q1-1', trace.lines.get('Copy:Q1-1')!);
    expect(store.get('q', l1, 0)).toBeUndefined();
  });

  it('counts every way a record goes as a new L1 generation', async () => {
    const clock = manualClock();
    const cache = new CoherentCache({ instanceId: 'A', bus: new LocalCoherenceBus({ clock }), registry: new Registry(), clock, maxLines: 2 });
    await cache.start();
    const trace = cache.traceResponse();
    await cache.read('Book:1', 'sel', async () => 'a', [], undefined, trace);
    expect(cache.storeResponse('q', trace, 'a')).toBe(true);
    expect(cache.lookupResponse('q')).toBe('a');
    // Two other lines evict Book:1 (maxLines 2): the response built from it is gone.
    await cache.read('Book:2', 'sel', async () => 'b');
    await cache.read('Book:3', 'sel', async () => 'c');
    expect(cache.lookupResponse('q')).toBeUndefined();
    await cache.stop();
  });
});

import type { CoherenceBus } from '../bus';
import type { CoherentCache } from '../coherent-cache';
import {
  counterValue,
  describeEachBus,
  eventually,
  losingBus,
  registryOf,
  spyBus,
  startCaches,
  type BusCall,
  type BusKind,
  type CacheOverrides,
} from './helpers';

/** The MESI transition table of docs/ARCHITECTURE.md §5, on the in-process bus and on Redis. */
describeEachBus('MESI transitions', (makeKind) => {
  let kind: BusKind;
  let caches: CoherentCache[] = [];
  const db = new Map<string, string>();
  const fills: string[] = [];
  /** A fill that reads the "database" and records who asked. */
  const fillFor = (who: string, line: string) => async () => {
    fills.push(`${who}:${line}`);
    return db.get(line);
  };
  const start = async (ids: string[], overrides: CacheOverrides = {}, wrap?: (id: string, bus: CoherenceBus) => CoherenceBus) => {
    caches = await startCaches(kind, ids, overrides, wrap);
    return caches;
  };
  /** Instance A's directory transitions and messages. */
  let calls: BusCall[] = [];
  const spyOnA = (id: string, bus: CoherenceBus) => {
    if (id !== 'A') return bus;
    const [spied, aCalls] = spyBus(bus);
    calls = aCalls;
    return spied;
  };

  beforeEach(() => {
    kind = makeKind();
    db.clear();
    fills.length = 0;
    db.set('Reader:Q1-DG1', 'v1');
    db.set('Reader:Q1-DG2', 'w1');
  });

  afterEach(async () => {
    await Promise.all(caches.map((cache) => cache.stop()));
    caches = [];
    await kind.cleanup();
  });

  it('gives the first reader E, and answers its next read from L1', async () => {
    const [a] = await start(['A']);
    expect(await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'))).toBe('v1');
    expect(a.stateOf('Reader:Q1-DG1')).toBe('E');
    expect(await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'))).toBe('v1');
    expect(fills).toEqual(['A:Reader:Q1-DG1']);
    expect(await counterValue(registryOf(a), 'libfed_cache_hits_total')).toBe(1);
    expect(await counterValue(registryOf(a), 'libfed_cache_misses_total')).toBe(1);
    expect(await counterValue(registryOf(a), 'libfed_cache_transitions_total', { from: 'I', to: 'E' })).toBe(1);
  });

  it('answers a fill that `keep` refuses, and installs nothing: the next read fills again', async () => {
    const [a] = await start(['A']);
    db.set('Reader:Q1-DG1', 'error');
    const keep = (value: string | undefined) => value !== 'error';
    expect(await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'), [], keep)).toBe('error');
    db.set('Reader:Q1-DG1', 'v1');
    expect(await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'), [], keep)).toBe('v1');
    expect(await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'), [], keep)).toBe('v1');
    expect(fills).toEqual(['A:Reader:Q1-DG1', 'A:Reader:Q1-DG1']);
  });

  it('moves both to S when a second instance reads the line, and tells the E holder', async () => {
    const [a, b] = await start(['A', 'B']);
    await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'));
    await b.read('Reader:Q1-DG1', 'sel1', fillFor('B', 'Reader:Q1-DG1'));
    expect(b.stateOf('Reader:Q1-DG1')).toBe('S');
    await eventually(() => expect(a.stateOf('Reader:Q1-DG1')).toBe('S'));
    expect(await counterValue(registryOf(a), 'libfed_cache_transitions_total', { from: 'E', to: 'S' })).toBe(1);
  });

  it('moves the writer to M and every other holder to I before the write returns', async () => {
    const [a, b, c] = await start(['A', 'B', 'C']);
    for (const [who, cache] of [['A', a], ['B', b], ['C', c]] as const) await cache.read('Reader:Q1-DG1', 'sel1', fillFor(who, 'Reader:Q1-DG1'));
    await b.read('Reader:Q1-DG2', 'sel1', fillFor('B', 'Reader:Q1-DG2'));
    db.set('Reader:Q1-DG1', 'v2');
    const outcome = await b.write(['Reader:Q1-DG1']);
    // No `eventually`: the acks are what the write waited for.
    expect(outcome).toEqual({ kind: 'invalidated', lines: ['Reader:Q1-DG1'], revoked: [] });
    expect([a.stateOf('Reader:Q1-DG1'), b.stateOf('Reader:Q1-DG1'), c.stateOf('Reader:Q1-DG1')]).toEqual(['I', 'M', 'I']);
    expect(b.stateOf('Reader:Q1-DG2')).toBe('E');
    expect(await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'))).toBe('v2');
    expect(await b.read('Reader:Q1-DG1', 'sel1', fillFor('B', 'Reader:Q1-DG1'))).toBe('v2');
    expect(await counterValue(registryOf(b), 'libfed_cache_invalidations_sent_total')).toBe(2);
    expect(await counterValue(registryOf(a), 'libfed_cache_invalidations_received_total')).toBe(1);
    expect(await counterValue(registryOf(b), 'libfed_cache_transitions_total', { from: 'S', to: 'M' })).toBe(1);
  });

  it('writes from E with no invalidation message, the directory alone confirming no one joined', async () => {
    const [a] = await start(['A'], {}, spyOnA);
    await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'));
    expect(a.stateOf('Reader:Q1-DG1')).toBe('E');
    calls.length = 0;
    expect(await a.write(['Reader:Q1-DG1'])).toEqual({ kind: 'invalidated', lines: ['Reader:Q1-DG1'], revoked: [] });
    expect(calls).toEqual([{ method: 'apply', op: expect.objectContaining({ kind: 'write', instanceId: 'A', lines: ['Reader:Q1-DG1'] }) }]);
    expect(a.stateOf('Reader:Q1-DG1')).toBe('M');
    expect(await counterValue(registryOf(a), 'libfed_cache_transitions_total', { from: 'E', to: 'M' })).toBe(1);
  });
  it('still invalidates a holder that joined while the writer believed it held E', async () => {
    // A never hears of its downgrade, so it still says E when it writes.
    const [a, b] = await start(['A', 'B'], {}, (id, bus) => (id === 'A' ? losingBus(spyOnA(id, bus), (m) => m.type === 'downgrade') : bus));
    await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'));
    await b.read('Reader:Q1-DG1', 'sel1', fillFor('B', 'Reader:Q1-DG1'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([a.stateOf('Reader:Q1-DG1'), b.stateOf('Reader:Q1-DG1')]).toEqual(['E', 'S']);
    calls.length = 0;
    db.set('Reader:Q1-DG1', 'v2');
    await a.write(['Reader:Q1-DG1']);
    expect(calls.filter((c) => c.method === 'send')).toEqual([
      { method: 'send', to: 'B', message: expect.objectContaining({ type: 'invalidate', lines: [{ line: 'Reader:Q1-DG1', epoch: 1, serial: expect.any(Number) }] }) },
    ]);
    expect(b.stateOf('Reader:Q1-DG1')).toBe('I');
    expect(await b.read('Reader:Q1-DG1', 'sel1', fillFor('B', 'Reader:Q1-DG1'))).toBe('v2');
  });

  it('downgrades M to S when another instance reads the line', async () => {
    const [a, b] = await start(['A', 'B']);
    db.set('Reader:Q1-DG1', 'v2');
    await a.write(['Reader:Q1-DG1']);
    expect(a.stateOf('Reader:Q1-DG1')).toBe('M');
    expect(await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'))).toBe('v2');
    expect(await b.read('Reader:Q1-DG1', 'sel1', fillFor('B', 'Reader:Q1-DG1'))).toBe('v2');
    expect(b.stateOf('Reader:Q1-DG1')).toBe('S');
    await eventually(() => expect(a.stateOf('Reader:Q1-DG1')).toBe('S'));
    // A's copy, made under M, is still served: a downgrade keeps the data.
    expect(await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'))).toBe('v2');
    expect(fills).toEqual(['A:Reader:Q1-DG1', 'B:Reader:Q1-DG1']);
    expect(await counterValue(registryOf(a), 'libfed_cache_transitions_total', { from: 'M', to: 'S' })).toBe(1);
  });

  it('leaves the directory on eviction, so the next reader elsewhere gets E', async () => {
    const [a, b] = await start(['A', 'B'], { maxLines: 1 });
    await a.read('Reader:Q1-DG1', 'sel1', fillFor('A', 'Reader:Q1-DG1'));
    await a.read('Reader:Q1-DG2', 'sel1', fillFor('A', 'Reader:Q1-DG2'));
    expect(a.stateOf('Reader:Q1-DG1')).toBe('I');
    await new Promise((resolve) => setTimeout(resolve, 20)); // the leave is sent without waiting
    await b.read('Reader:Q1-DG1', 'sel1', fillFor('B', 'Reader:Q1-DG1'));
    expect(b.stateOf('Reader:Q1-DG1')).toBe('E');
  });
});

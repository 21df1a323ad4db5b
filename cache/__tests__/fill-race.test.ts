import type { CoherenceBus } from '../bus';
import type { CoherentCache } from '../coherent-cache';
import { counterValue, describeEachBus, deferred, registryOf, startCaches, type BusKind } from './helpers';

/**
 * docs/ARCHITECTURE.md §5: a fill that began before an invalidation must not install. Each
 * test holds a fill on a deferred promise, lets a write go through, then lets
 * the fill finish with the answer it read before the write.
 */
describeEachBus('the fill race', (makeKind) => {
  let kind: BusKind;
  let caches: CoherentCache[] = [];
  const line = 'Copy:Q1-QS7';
  let db: string;
  const fromDb = async () => db;

  beforeEach(() => {
    kind = makeKind();
    db = 'available';
  });

  afterEach(async () => {
    await Promise.all(caches.map((cache) => cache.stop()));
    caches = [];
    await kind.cleanup();
  });

  it('returns a fill begun before another instance\'s write to its caller, but does not install it', async () => {
    const [a, b] = (caches = await startCaches(kind, ['A', 'B']));
    const held = deferred<string>();
    const reading = a.read(line, 'sel1', () => held.promise);
    // The miss registers A before the fill runs, so B's write must go through A.
    await waitForState(a, line, 'E');
    db = 'on loan';
    expect(await b.write([line])).toEqual({ kind: 'invalidated', lines: [line], revoked: [] });
    held.resolve('available'); // what the site answered before the write committed
    expect(await reading).toBe('available');
    expect(a.stateOf(line)).toBe('I');
    expect(await a.read(line, 'sel1', fromDb)).toBe('on loan');
    expect(await counterValue(registryOf(a), 'libfed_cache_fills_discarded_total')).toBe(1);
  });

  it('does not install a fill of a new selection of a line held in S when the line is invalidated', async () => {
    const [a, b] = (caches = await startCaches(kind, ['A', 'B']));
    await a.read(line, 'sel1', fromDb);
    await b.read(line, 'sel1', fromDb);
    const held = deferred<string>();
    const reading = a.read(line, 'sel2', () => held.promise);
    db = 'on loan';
    await b.write([line]);
    held.resolve('available');
    expect(await reading).toBe('available');
    expect(await a.read(line, 'sel2', fromDb)).toBe('on loan');
    expect(await a.read(line, 'sel2', async () => 'not asked')).toBe('on loan');
  });

  it('does not install a fill begun before the instance\'s own write', async () => {
    const [a] = (caches = await startCaches(kind, ['A']));
    await a.read(line, 'sel1', fromDb);
    const held = deferred<string>();
    const reading = a.read(line, 'sel2', () => held.promise);
    db = 'on loan';
    await a.write([line]);
    held.resolve('available');
    expect(await reading).toBe('available');
    expect(a.stateOf(line)).toBe('M');
    expect(await a.read(line, 'sel2', fromDb)).toBe('on loan');
    expect(await counterValue(registryOf(a), 'libfed_cache_fills_discarded_total')).toBe(1);
  });

  it('does not install when the invalidation overtakes the reply to the join (they travel apart)', async () => {
    const joinReply = deferred<void>();
    const holdJoinReplies = (id: string, bus: CoherenceBus): CoherenceBus =>
      id !== 'A'
        ? bus
        : {
            apply: async (op) => {
              const reply = await bus.apply(op);
              if (op.kind === 'join') await joinReply.promise;
              return reply;
            },
            send: (to, message) => bus.send(to, message),
            listen: (instanceId, listener) => bus.listen(instanceId, listener),
            stop: () => bus.stop(),
          };
    const [a, b] = (caches = await startCaches(kind, ['A', 'B'], {}, holdJoinReplies));
    const reading = a.read(line, 'sel1', fromDb);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the join is in the directory, its reply held
    db = 'on loan';
    expect(await b.write([line])).toEqual({ kind: 'invalidated', lines: [line], revoked: [] });
    joinReply.resolve();
    expect(await reading).toBe('on loan');
    expect(a.stateOf(line)).toBe('I');
    db = 'returned';
    await b.write([line]);
    expect(await a.read(line, 'sel1', fromDb)).toBe('returned');
  });

  it('installs a fill that no write overtook (the check is not always-discard)', async () => {
    const [a] = (caches = await startCaches(kind, ['A']));
    const held = deferred<string>();
    const reading = a.read(line, 'sel1', () => held.promise);
    held.resolve('available');
    expect(await reading).toBe('available');
    expect(await a.read(line, 'sel1', async () => 'not asked')).toBe('available');
    expect(await counterValue(registryOf(a), 'libfed_cache_fills_discarded_total')).toBe(0);
  });
});

async function waitForState(cache: CoherentCache, line: string, state: string): Promise<void> {
  for (let i = 0; i < 200 && cache.stateOf(line) !== state; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(cache.stateOf(line)).toBe(state);
}

import type { BusMessage, CoherenceBus } from '../bus';
import type { CoherentCache } from '../coherent-cache';
import { LocalCoherenceBus } from '../local-bus';
import { counterValue, localBuses, losingBus, manualClock, registryOf, startCaches, type BusKind } from './helpers';

/**
 * The bounded wait: a holder that does not ack within `ackTimeoutMs` is revoked,
 * and the write returns once that holder's lease has run out, so a silent holder
 * cannot serve the old value after the client got its answer. Time is a manual
 * clock: nothing here sleeps.
 */
describe('a holder that does not acknowledge an invalidation', () => {
  const line = 'Reader:Q3-DG42';
  const options = { ackTimeoutMs: 100, leaseMs: 1000, heartbeatMs: 300 };
  let clock: ReturnType<typeof manualClock>;
  let kind: BusKind;
  let caches: CoherentCache[] = [];
  let db: string;
  const fromDb = async () => db;
  const invalidations = (m: BusMessage) => m.type === 'invalidate';

  beforeEach(() => {
    clock = manualClock();
    kind = localBuses(clock);
    db = 'Q3';
  });

  afterEach(async () => {
    await Promise.all(caches.map((cache) => cache.stop()));
    caches = [];
    await kind.cleanup();
  });

  it('is revoked after ackTimeoutMs; the write returns when its lease ends; it drops its L1 at its next heartbeat', async () => {
    // B misses invalidations but still heartbeats.
    const wrap = (id: string, bus: CoherenceBus) => (id === 'B' ? losingBus(bus, invalidations) : bus);
    const [a, b] = (caches = await startCaches(kind, ['A', 'B'], { ...options, clock }, wrap));
    await a.read(line, 'sel', fromDb);
    await b.read(line, 'sel', fromDb);
    db = 'Q1';
    let outcome: unknown;
    const writing = a.write([line]).then((o) => (outcome = o));
    await clock.advance(99);
    expect(outcome).toBeUndefined();
    await clock.advance(1); // ack timeout: B is revoked; its lease (from t=0) has 900 ms left
    expect(outcome).toBeUndefined();
    await clock.advance(300); // B's heartbeat at t=300 finds its membership gone
    expect(b.stateOf(line)).toBe('I');
    await clock.advance(600);
    await writing;
    expect(outcome).toEqual({ kind: 'invalidated', lines: [line], revoked: ['B'] });
    expect(await b.read(line, 'sel', fromDb)).toBe('Q1');
    expect(b.phase).toBe('coherent'); // re-registered with a new token, caching again
    expect(await counterValue(registryOf(a), 'libfed_cache_holders_revoked_total')).toBe(1);
    expect(await counterValue(registryOf(b), 'libfed_cache_l1_drops_total', { reason: 'expelled' })).toBe(1);
  });

  it('serves no hit after the write returned even if it never heard from the directory again', async () => {
    // B misses invalidations and its renewals hang (a frozen connection): only its lease stops it.
    const frozen = (id: string, bus: CoherenceBus): CoherenceBus => {
      if (id !== 'B') return bus;
      const deaf = losingBus(bus, invalidations);
      return { ...deaf, apply: (op) => (op.kind === 'renew' ? new Promise(() => undefined) : deaf.apply(op)), listen: deaf.listen };
    };
    const [a, b] = (caches = await startCaches(kind, ['A', 'B'], { ...options, clock }, frozen));
    await a.read(line, 'sel', fromDb);
    await b.read(line, 'sel', fromDb);
    db = 'Q1';
    let returned = false;
    const writing = a.write([line]).then(() => (returned = true));
    await clock.advance(999);
    expect(returned).toBe(false);
    expect(await b.read(line, 'sel', async () => 'filled')).toBe('Q3'); // still within its lease: allowed, A has not answered
    await clock.advance(1);
    await writing;
    expect(returned).toBe(true);
    expect(await b.read(line, 'sel', fromDb)).toBe('Q1');
    expect(b.stateOf(line)).toBe('I');
    expect(await counterValue(registryOf(b), 'libfed_cache_l1_drops_total', { reason: 'lease-expired' })).toBe(1);
  });

  it('fences a revoked holder: a later write of ANOTHER line it holds waits out its lease too', async () => {
    // B misses invalidations and its renewals hang. A's write revokes B; C then writes a line
    // B also holds. The directory no longer lists B as live, yet B may still serve that line within its lease.
    const frozen = (id: string, bus: CoherenceBus): CoherenceBus => {
      if (id !== 'B') return bus;
      const deaf = losingBus(bus, invalidations);
      return { ...deaf, apply: (op) => (op.kind === 'renew' ? new Promise(() => undefined) : deaf.apply(op)), listen: deaf.listen };
    };
    const other = 'Copy:Q3-QS00042';
    const [a, b, c] = (caches = await startCaches(kind, ['A', 'B', 'C'], { ...options, clock }, frozen));
    await b.read(line, 'sel', fromDb);
    await b.read(other, 'sel', async () => 'copy-v1');
    await c.read(other, 'sel', async () => 'copy-v1');
    const first = a.write([line]);
    await clock.advance(100); // B is revoked at the ack timeout; A waits out its lease (to t=1000)
    let returned = false;
    const second = c.write([other]).then(() => (returned = true));
    await clock.advance(800);
    expect(returned).toBe(false);
    expect(await b.read(other, 'sel', async () => 'copy-v2')).toBe('copy-v1'); // allowed: C has not answered yet
    await clock.advance(100);
    await Promise.all([first, second]);
    expect(returned).toBe(true);
    expect(await b.read(other, 'sel', async () => 'copy-v2')).toBe('copy-v2');
  });

  it('does not wait for an instance that stopped: stop ends its membership', async () => {
    const bus = new LocalCoherenceBus({ clock });
    kind = { name: 'local', busFor: () => bus, cleanup: () => bus.stop() };
    const [a, b] = (caches = await startCaches(kind, ['A', 'B'], { ...options, clock }));
    await a.read(line, 'sel', fromDb);
    await b.read(line, 'sel', fromDb);
    await clock.advance(500); // B's heartbeat at t=300 renewed its lease to t=1300
    await b.stop(); // gone without a word (stop revokes itself: nothing is left to wait for)
    let returned = false;
    const writing = a.write([line]).then(() => (returned = true));
    await clock.advance(0);
    await writing;
    expect(returned).toBe(true);
  });
});

import pino from 'pino';
import { Registry } from 'prom-client';
import type { CoherenceBus } from '../../../cache';
import { CoherentCache, LocalCoherenceBus } from '../../../cache';
import type { ParticipantClient } from '../../../contracts';
import type { Coordinator, TxPlan } from '../coordinator';
import { LocalWaitForGraph } from '../waitfor';
import { MutationService } from '../service';

/** The callers here act as the manager: the role checks are the gateway's, tested in test/roles.test.ts. */
const MANAGER = { caller: { username: 'quanly', role: 'QUANLY', branch: null } };

/**
 * Chaos problem 1, "acknowledged means coherent": a gateway cut off from the
 * coherence directory committed a write and answered at once while another
 * gateway still served the old value from its L1. The rule: a write whose
 * invalidation was deferred answers only after the coherence bound, and no
 * gateway serves a hit past that bound unless a drain round that started after
 * the commit (and so saw its dirty-line record) renewed its fence.
 */
const BOUND_MS = 400;
const LINE = 'Book:9786040000017';

/** A bus that can be cut under one instance: every directory call then fails, as with Redis gone. */
function cuttable(inner: CoherenceBus) {
  let cut = false;
  const bus: CoherenceBus = {
    apply: (op) => (cut ? Promise.reject(new Error('connection is closed')) : inner.apply(op)),
    send: (to, message) => (cut ? Promise.reject(new Error('connection is closed')) : inner.send(to, message)),
    listen: (id, listener) => inner.listen(id, listener),
    stop: () => inner.stop(),
  };
  return { bus, cut: () => (cut = true) };
}

function fakeCoordinator(onCommit: () => void): Coordinator {
  return {
    newGid: (site: string) => `${site}.gw0-0-0`,
    run: async (_plan: TxPlan) => {
      onCommit();
      return [{ entity: { type: 'Copy', id: 'Q1-QS09999' } }];
    },
  } as unknown as Coordinator;
}

const noSites: ParticipantClient = { call: () => Promise.reject(new Error('no site in this test')) };

describe('a write acknowledged by a gateway cut off from the directory', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it('is answered only once no other gateway can serve the old value', async () => {
    const shared = new LocalCoherenceBus();
    const writerBus = cuttable(shared);
    const a = new CoherentCache({ instanceId: 'a', bus: writerBus.bus, registry: new Registry(), fenceMs: BOUND_MS });
    const b = new CoherentCache({ instanceId: 'b', bus: shared, registry: new Registry(), fenceMs: BOUND_MS });
    stops.push(() => a.stop(), () => b.stop(), () => shared.stop());
    await Promise.all([a.start(), b.start()]);

    // B's drain rounds complete (and renew its fence) until the commit; none completes after it.
    let committed = false;
    const renewing = setInterval(() => committed || b.startFenceRound()(), 20);
    stops.push(async () => clearInterval(renewing));
    b.startFenceRound()();

    let fills = 0;
    const read = () => b.read(LINE, 'v', async () => `old-${++fills}`);
    await read();
    expect(await read()).toBe('old-1'); // a hit: B holds the line

    writerBus.cut();
    const service = new MutationService({
      coordinator: fakeCoordinator(() => (committed = true)),
      cache: a,
      coherenceBoundMs: BOUND_MS,
      planning: { client: noSites, siteIds: ['Q1'], birthSite: () => 'Q1', now: () => new Date(), maxOpenLoans: 5, loanDays: 14 },
      client: noSites,
      waitFor: new LocalWaitForGraph(),
      log: pino({ level: 'silent' }),
    });
    const answer = await service.run('addCopy', { isbn: '9786040000017', branchId: 'Q1' }, undefined, MANAGER);
    expect(answer.key).toBe('Q1-QS09999');
    // Acknowledged: B must not answer from what it held before the commit.
    await read();
    expect(fills).toBe(2);
  });

  it('renews the fence only forward, and a cache without one serves hits as before', async () => {
    const bus = new LocalCoherenceBus();
    const fenced = new CoherentCache({ instanceId: 'f', bus, registry: new Registry(), fenceMs: BOUND_MS });
    const plain = new CoherentCache({ instanceId: 'p', bus, registry: new Registry() });
    stops.push(() => fenced.stop(), () => plain.stop(), () => bus.stop());
    await Promise.all([fenced.start(), plain.start()]);
    let fills = 0;
    const fill = async () => ++fills;
    // Never renewed: every read fills.
    await fenced.read('L', 'v', fill);
    await fenced.read('L', 'v', fill);
    expect(fills).toBe(2);
    const older = fenced.startFenceRound();
    await new Promise((r) => setTimeout(r, 20));
    fenced.startFenceRound()();
    older(); // a round that started earlier and ended later does not pull the fence back
    await fenced.read('L', 'v', fill);
    expect(await fenced.read('L', 'v', fill)).toBe(3);
    await plain.read('M', 'v', fill);
    expect(await plain.read('M', 'v', fill)).toBe(4);
  });
});

import fc from 'fast-check';
import { ParticipantFailed, ParticipantUnreachable, type ParticipantClient } from '../../../contracts';
import { Coordinator, parseGid, type TxPlan } from '../coordinator';
import { LocalWaitForGraph, type WaitForGraph } from '../waitfor';

/**
 * What the coordinator tells a client, given what the sites answered: the
 * commit point's outcome and nothing else. A fake participant client scripts
 * each site's answers; the spy records every call, so the tests assert exact
 * ABORTs and exact codes.
 */
type Script = (site: string, action: string, body: any) => unknown | Promise<unknown>;

function spyClient(script: Script): [ParticipantClient, { site: string; action: string; body: any }[]] {
  const calls: { site: string; action: string; body: any }[] = [];
  const client: ParticipantClient = {
    call: async (site, action, body) => {
      calls.push({ site, action, body });
      return (await script(site, action, body)) as any;
    },
  };
  return [client, calls];
}

const brokenGraph: WaitForGraph = {
  wait: () => Promise.reject(new Error('redis: connection is closed')),
  update: () => Promise.reject(new Error('redis: connection is closed')),
  forget: () => Promise.reject(new Error('redis: connection is closed')),
  edges: () => Promise.reject(new Error('redis: connection is closed')),
};

const op = { kind: 'copy.add', isbn: '9786040000017', branchId: 'Q1' } as const;
const oneSite: TxPlan = { ops: new Map([['Q1', [op]]]), commitSite: 'Q1', lines: ['Book:9786040000017'] };
const crossSite: TxPlan = { ops: new Map([['Q1', [op]], ['Q3', [op]], ['Q5', [op]]]), commitSite: 'Q1', lines: [] };
const committed = { outcome: 'COMMITTED', applied: [{ entity: { type: 'Copy', id: 'Q1-QS00001' } }] };

const codeOf = (p: Promise<unknown>) => p.then(() => 'COMMITTED', (e) => e.extensions?.code ?? `uncoded: ${e.message}`);

describe('coordinator outcomes', () => {
  it('a one-site request that timed out after it may have arrived is TX_IN_DOUBT with its gid, not "nothing changed"', async () => {
    const [client] = spyClient(() => {
      throw new ParticipantUnreachable('Q1', true, 'no answer within 5000 ms');
    });
    const coordinator = new Coordinator({ client, waitFor: new LocalWaitForGraph() });
    const error = await coordinator.run(oneSite).catch((e) => e);
    expect(error.extensions).toMatchObject({ code: 'TX_IN_DOUBT', site: 'Q1' });
    expect(parseGid(error.extensions.gid)?.commitSite).toBe('Q1');
  });

  it('a one-site request refused before connecting is BRANCH_UNAVAILABLE; a server error is in doubt; a 400 changed nothing', async () => {
    const answers = [
      new ParticipantUnreachable('Q1', false, 'ECONNREFUSED'),
      new ParticipantFailed('Q1', 500, 'internal'),
      new ParticipantFailed('Q1', 400, 'ops.0.readerId: too long'),
    ];
    const codes = [];
    for (const answer of answers) {
      const [client] = spyClient(() => {
        throw answer;
      });
      codes.push(await codeOf(new Coordinator({ client, waitFor: new LocalWaitForGraph() }).run(oneSite)));
    }
    expect(codes).toEqual(['BRANCH_UNAVAILABLE', 'TX_IN_DOUBT', 'BAD_USER_INPUT']);
  });

  it('a refusal with a code outside the catalogue is an internal error that still says nothing changed', async () => {
    const [client] = spyClient(() => ({ vote: 'REFUSED', code: 'SOMETHING_NEW', message: 'x' }));
    const error = await new Coordinator({ client, waitFor: new LocalWaitForGraph() }).run(oneSite).catch((e) => e);
    expect(error.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', nothingChanged: true });
  });

  it('a committed mutation is answered committed when the wait-for graph (Redis) fails at every step', async () => {
    const busyOnce = new Set<string>();
    const [client] = spyClient((site, action) => {
      if (action === 'prepare' && !busyOnce.has(site)) {
        busyOnce.add(site);
        return { vote: 'BUSY', holder: 'other', resource: 'QUYENSACH:x' };
      }
      if (action === 'prepare') return { vote: 'PREPARED' };
      if (action === 'commit-point' || action === 'local') return committed;
      return { applied: [] };
    });
    const coordinator = new Coordinator({ client, waitFor: brokenGraph, retryMs: 1 });
    await expect(coordinator.run(oneSite)).resolves.toEqual(committed.applied);
    await expect(coordinator.run(crossSite)).resolves.toEqual(committed.applied);
  });

  it('a commit point that stays BUSY past the lock-wait bound: TX_LOCK_TIMEOUT, after ABORT to every prepared site', async () => {
    const [client, calls] = spyClient((_site, action) => {
      if (action === 'prepare') return { vote: 'PREPARED' };
      if (action === 'commit-point') return { vote: 'BUSY', holder: 'older', resource: 'QUYENSACH:x' };
      return { state: 'ABORTED' };
    });
    const coordinator = new Coordinator({ client, waitFor: new LocalWaitForGraph(), lockWaitMs: 30, retryMs: 2 });
    expect(await codeOf(coordinator.run(crossSite))).toBe('TX_LOCK_TIMEOUT');
    expect(calls.filter((c) => c.action === 'abort').map((c) => c.site).sort()).toEqual(['Q3', 'Q5']);
  });

  it('a PREPARE that fails without a code (HTTP 500, a bug) still aborts every site a PREPARE went to', async () => {
    const [client, calls] = spyClient((site, action) => {
      if (action === 'prepare' && site === 'Q5') throw new TypeError('cannot read properties of undefined');
      if (action === 'prepare' && site === 'Q3') return { vote: 'PREPARED' };
      return { state: 'ABORTED' };
    });
    const coordinator = new Coordinator({ client, waitFor: new LocalWaitForGraph() });
    expect(await codeOf(coordinator.run(crossSite))).toBe('INTERNAL_SERVER_ERROR');
    expect(calls.filter((c) => c.action === 'abort').map((c) => c.site).sort()).toEqual(['Q3', 'Q5']);
    expect(calls.some((c) => c.action === 'commit-point')).toBe(false);
  });

  it('a commit point that may have committed is not aborted anywhere: TX_IN_DOUBT', async () => {
    const [client, calls] = spyClient((_site, action) => {
      if (action === 'prepare') return { vote: 'PREPARED' };
      if (action === 'commit-point') throw new ParticipantUnreachable('Q1', true, 'socket hang up');
      return {};
    });
    const coordinator = new Coordinator({ client, waitFor: new LocalWaitForGraph() });
    expect(await codeOf(coordinator.run(crossSite))).toBe('TX_IN_DOUBT');
    expect(calls.filter((c) => c.action === 'abort')).toEqual([]);
  });

  it('no prepared deadline passes while phase 1 still waits within the lock-wait bound for another site', async () => {
    // Q3 is busy for longer than the prepared TTL (but within lockWaitMs): the
    // deadline Q5 was given must not have passed when the commit point decides,
    // or recovery presumes abort under a coordinator that is about to commit.
    let now = 1_000_000;
    const deadlines: number[] = [];
    let decidedAt = 0;
    const [client] = spyClient((site, action, body) => {
      now += 30;
      if (action === 'prepare') {
        deadlines.push(Date.parse(body.deadline));
        if (site === 'Q3' && deadlines.length < 8) return { vote: 'BUSY', holder: 'other', resource: 'QUYENSACH:x' };
        return { vote: 'PREPARED' };
      }
      if (action === 'commit-point') {
        decidedAt = now;
        return committed;
      }
      return { applied: [] };
    });
    const coordinator = new Coordinator({ client, waitFor: new LocalWaitForGraph(), clock: () => now, preparedTtlMs: 100, lockWaitMs: 500, retryMs: 1 });
    await expect(coordinator.run(crossSite)).resolves.toEqual(committed.applied);
    expect(decidedAt).toBeGreaterThan(0);
    expect(deadlines.filter((d) => d <= decidedAt)).toEqual([]);
  });

  it('never reaches the commit point past a participant\'s deadline, however the lock waits fall between phase 1 and the decision', async () => {
    // Generated: how many BUSY answers Q3's PREPARE and the commit point Q1 give before they
    // answer. Each answer takes 30 ms of the coordinator's clock; lockWaitMs is 500, the TTL 100.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 25 }), async (busyPrepare, busyDecide) => {
        let now = 1_000_000;
        const deadlines: number[] = [];
        let decidedAt: number | undefined;
        let [prepares, decides] = [0, 0];
        const [client] = spyClient((site, action, body) => {
          now += 30;
          if (action === 'prepare') {
            deadlines.push(Date.parse(body.deadline));
            if (site === 'Q3' && prepares++ < busyPrepare) return { vote: 'BUSY', holder: 'other', resource: 'QUYENSACH:x' };
            return { vote: 'PREPARED' };
          }
          if (action === 'commit-point') {
            if (decides++ < busyDecide) return { vote: 'BUSY', holder: 'other', resource: 'DOCGIA:y' };
            decidedAt = now;
            return committed;
          }
          return { applied: [] };
        });
        const coordinator = new Coordinator({ client, waitFor: new LocalWaitForGraph(), clock: () => now, preparedTtlMs: 100, lockWaitMs: 500, retryMs: 0 });
        const code = await codeOf(coordinator.run(crossSite));
        // Committed, or refused for the lock wait (nothing decided); never a decision past a deadline.
        expect(['COMMITTED', 'TX_LOCK_TIMEOUT']).toContain(code);
        if (decidedAt !== undefined) expect(deadlines.filter((d) => d <= decidedAt!)).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('outcome(gid): the commit point\'s record; PENDING within the deadline; presumed ABORTED after it; null for a foreign id', async () => {
    let now = 1_000_000;
    const decisions = new Map<string, string>();
    const [client, calls] = spyClient((_site, action, body) => {
      if (action === 'decision') return { decision: decisions.has(body.gid) ? { gid: body.gid, outcome: decisions.get(body.gid), entity: { type: 'Copy', id: 'Q1-QS00001' } } : null };
      if (action === 'decide') {
        if (!decisions.has(body.gid)) decisions.set(body.gid, 'ABORTED');
        return { outcome: decisions.get(body.gid) };
      }
      return {};
    });
    const coordinator = new Coordinator({ client, waitFor: new LocalWaitForGraph(), clock: () => now, preparedTtlMs: 100, lockWaitMs: 50 });
    const done = coordinator.newGid('Q1');
    decisions.set(done, 'COMMITTED');
    expect(await coordinator.outcome(done)).toEqual({ gid: done, outcome: 'COMMITTED', commitSite: 'Q1', entityId: 'Q1-QS00001' });
    const open = coordinator.newGid('Q3');
    expect((await coordinator.outcome(open))?.outcome).toBe('PENDING');
    expect(calls.some((c) => c.action === 'decide')).toBe(false);
    now += 151;
    expect((await coordinator.outcome(open))?.outcome).toBe('ABORTED');
    expect(calls.filter((c) => c.action === 'decide').map((c) => c.site)).toEqual(['Q3']);
    expect(await coordinator.outcome('not-a-gid')).toBeNull();
  });
});

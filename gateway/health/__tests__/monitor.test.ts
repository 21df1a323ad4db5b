import { ParticipantUnreachable, type ParticipantClient } from '../../../contracts';
import { SiteMonitor } from '../monitor';
import { GuardedParticipantClient } from '../participants';

const SITES = [{ id: 'Q1', url: 'http://q1' }, { id: 'Q3', url: 'http://q3' }];
const until = async (condition: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('SiteMonitor', () => {
  let monitor: SiteMonitor | undefined;
  afterEach(() => monitor?.stop());

  it('refuses a site whose heartbeats stopped, and asks it again once they resume', async () => {
    const clock = { now: 0 };
    const alive = new Set(['Q1', 'Q3']);
    monitor = new SiteMonitor({ sites: SITES, heartbeatIntervalMs: 5, now: () => clock.now, probe: async (site) => alive.has(site.id) });
    expect(monitor.refusal('Q1')).toBeUndefined();
    // Silence on the injected clock: no heartbeat was counted, so phi climbs past the threshold.
    clock.now += 5000;
    expect(monitor.refusal('Q1')).toMatch(/^its heartbeats stopped \(phi \d+\.\d ≥ 8\)/);
    expect(monitor.state('Q1')).toMatchObject({ suspected: true, breaker: 'closed' });
    // Heartbeats: Q3 answers, Q1 does not.
    alive.delete('Q1');
    monitor.start();
    await until(() => monitor!.refusal('Q3') === undefined);
    expect(monitor.refusal('Q1')).toBeDefined();
    alive.add('Q1');
    await until(() => monitor!.refusal('Q1') === undefined);
    expect(monitor.state('Q1')).toMatchObject({ suspected: false });
    expect(monitor.state('Q1').phi).toBeLessThan(0.01);
  });

  it('opens a breaker on consecutive failures only, refuses at once while open, and closes on a good half-open probe', async () => {
    monitor = new SiteMonitor({ sites: SITES, breakerFailures: 3, breakerResetMs: 50 });
    const fail = () => monitor!.through('Q1', () => Promise.reject(new Error('down'))).catch(() => 'failed');
    const ok = () => monitor!.through('Q1', async () => 'ok');
    await fail();
    await fail();
    await ok();
    await fail();
    await fail();
    expect(monitor.state('Q1').breaker).toBe('closed');
    await fail();
    expect(monitor.state('Q1').breaker).toBe('open');
    expect(monitor.refusal('Q1')).toContain('circuit breaker is open after 3 failed fetches');
    let called = false;
    await expect(monitor.through('Q1', async () => (called = true))).rejects.toMatchObject({ code: 'EOPENBREAKER' });
    expect(called).toBe(false);
    await until(() => monitor!.state('Q1').breaker === 'halfOpen');
    expect(monitor.refusal('Q1')).toBeUndefined();
    expect(await ok()).toBe('ok');
    expect(monitor.state('Q1').breaker).toBe('closed');
    // A failed probe would have reopened it; the other site never noticed any of this.
    expect(monitor.state('Q3').breaker).toBe('closed');
  });
});

describe('SiteMonitor, a site back after a silence', () => {
  it('closes its open breaker at the first heartbeat, and one failed fetch opens it again', async () => {
    const clock = { now: 0 };
    const alive = { Q1: false };
    const monitor = new SiteMonitor({ sites: SITES, heartbeatIntervalMs: 5, breakerResetMs: 60_000, now: () => clock.now, probe: async (site) => site.id !== 'Q1' || alive.Q1 });
    try {
      for (let i = 0; i < 3; i++) await monitor.through('Q1', () => Promise.reject(new Error('down'))).catch(() => undefined);
      clock.now += 5000;
      expect(monitor.state('Q1')).toMatchObject({ suspected: true, breaker: 'open' });
      monitor.start();
      alive.Q1 = true;
      await until(() => monitor.refusal('Q1') === undefined);
      expect(monitor.state('Q1').breaker).toBe('closed');
      await monitor.through('Q1', () => Promise.reject(new Error('still down'))).catch(() => undefined);
      expect(monitor.state('Q1').breaker).toBe('open');
    } finally {
      monitor.stop();
    }
  });
});

describe('GuardedParticipantClient', () => {
  const spy = (): [ParticipantClient, string[]] => {
    const calls: string[] = [];
    const client: ParticipantClient = { call: async (site, action) => (calls.push(`${action}@${site}`), ({ state: 'ABORTED', applied: [] }) as never) };
    return [client, calls];
  };

  it('refuses new work at a suspected site without sending it, as a call that never arrived', async () => {
    const [inner, calls] = spy();
    const client = new GuardedParticipantClient(inner, (site) => (site === 'Q3' ? 'its heartbeats stopped' : undefined));
    for (const action of ['local', 'prepare', 'commit-point'] as const) {
      const error = await client.call('Q3', action, { gid: `g-${action}`, ops: [], lines: [] } as never).catch((e) => e);
      expect(error).toBeInstanceOf(ParticipantUnreachable);
      expect(error).toMatchObject({ siteId: 'Q3', delivered: false });
    }
    await client.call('Q1', 'prepare', { gid: 'g-ok', ops: [], lines: [] } as never);
    expect(calls).toEqual(['prepare@Q1']);
  });

  it('sends phase 2 and recovery calls whatever the detector says; only the ABORT of an unsent PREPARE is answered here', async () => {
    const [inner, calls] = spy();
    const client = new GuardedParticipantClient(inner, () => 'its heartbeats stopped');
    await client.call('Q3', 'prepare', { gid: 'g1' } as never).catch(() => undefined);
    expect(await client.call('Q3', 'abort', { gid: 'g1' })).toEqual({ state: 'ABORTED' });
    for (const action of ['commit', 'abort', 'decide', 'decision'] as const) await client.call('Q3', action, { gid: 'g2' });
    // The second ABORT of g1 goes to the site: the local answer is given once.
    await client.call('Q3', 'abort', { gid: 'g1' });
    expect(calls).toEqual(['commit@Q3', 'abort@Q3', 'decide@Q3', 'decision@Q3', 'abort@Q3']);
  });
});

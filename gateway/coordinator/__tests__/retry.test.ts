import { createHash } from 'node:crypto';
import pino from 'pino';
import type { ParticipantClient } from '../../../contracts';
import type { Coordinator, TxPlan } from '../coordinator';
import { MutationService } from '../service';
import { LocalWaitForGraph } from '../waitfor';

/** The callers here act as the manager: the role checks are the gateway's, tested in test/roles.test.ts. */
const MANAGER = { caller: { username: 'quanly', role: 'QUANLY', branch: null } };

/**
 * A client that times out and retries with the same idempotency key while its
 * first attempt is still running on this gateway: the retry waits for it and
 * answers its outcome, instead of racing it (the first attempt's key is not
 * recorded at any site until it commits).
 */
describe('a keyed retry during its first attempt', () => {
  it('runs the mutation once and answers both with its outcome', async () => {
    // The fingerprint the service binds the key to: the mutation and its arguments, keys sorted.
    const fingerprint = createHash('sha256').update(JSON.stringify(['addCopy', { branchId: 'Q1', isbn: '9786040000017' }])).digest('hex').slice(0, 32);
    let committed: { gid: string } | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let runs = 0;
    const coordinator = {
      newGid: (site: string) => `${site}.gw0-0-${runs}`,
      run: async (_plan: TxPlan, gid: string) => {
        runs += 1;
        await gate;
        committed = { gid };
        return [{ entity: { type: 'Copy', id: 'Q1-QS09999' } }];
      },
    } as unknown as Coordinator;
    const client: ParticipantClient = {
      call: async (_site, action, body: any) => {
        if (action !== 'by-key') throw new Error(`unexpected ${action}`);
        return { decision: committed ? { gid: committed.gid, outcome: 'COMMITTED', idempotency: { key: body.key, fingerprint }, entity: { type: 'Copy', id: 'Q1-QS09999' } } : null } as any;
      },
    };
    const service = new MutationService({
      coordinator,
      coherenceBoundMs: 100,
      planning: { client, siteIds: ['Q1'], birthSite: () => 'Q1', now: () => new Date(), maxOpenLoans: 5, loanDays: 14 },
      client,
      waitFor: new LocalWaitForGraph(),
      log: pino({ level: 'silent' }),
    });
    const args = { isbn: '9786040000017', branchId: 'Q1' };
    const a = service.run('addCopy', args, 'k-1', MANAGER);
    const b = service.run('addCopy', args, 'k-1', MANAGER);
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).toBe(1);
    release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(runs).toBe(1);
    expect(rb).toEqual({ key: ra.key, gid: ra.gid });
  });
});

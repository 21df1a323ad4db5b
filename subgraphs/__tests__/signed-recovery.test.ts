import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { dropPostgresDatabase, ensurePostgresDatabase, migrate, openPostgres, type SqlExecutor } from '../../sql';
import { startSiteServer, type SiteHandle } from '../server';

/**
 * A site's own recovery (docs/ARCHITECTURE.md §4) asks the commit-point site
 * of a participant left PREPARED past its deadline, and signs that call like a
 * gateway does: a peer holding the same secret answers it and the participant
 * is resolved; a peer holding another secret refuses it, and the participant
 * stays PREPARED rather than being resolved on an answer that never came.
 * On a real PostgreSQL server (PG_URL): PGlite does not load inside jest.
 */
const pgDescribe = process.env.PG_URL ? describe : describe.skip;
// The refusal this test provokes is logged as a warning; the test reads the participant, not the log.
const quiet = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

pgDescribe("a site's recovery calls to its peers", () => {
  const names = ['q1', 'q3'].map((site) => `libfed_recovery_${site}_${randomBytes(4).toString('hex')}`);
  const dbs: SqlExecutor[] = [];
  const running: SiteHandle[] = [];

  beforeAll(async () => {
    for (const [i, name] of names.entries()) {
      await ensurePostgresDatabase(process.env.PG_URL!, name);
      const url = new URL(process.env.PG_URL!);
      url.pathname = `/${name}`;
      dbs.push(openPostgres(url.toString(), { poolMax: 2 }));
      await migrate(dbs[i], i === 0 ? 'Q1' : 'Q3');
    }
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.close()));
    for (const name of names) await dropPostgresDatabase(process.env.PG_URL!, name);
  });

  /** Q3 holding `peerSecrets`, and Q1 signing with `secret`, with one participant PREPARED at Q1 whose commit point is Q3. */
  async function inDoubtAtQ1(secret: string, peerSecrets: string[]): Promise<{ q1: SiteHandle; gid: string }> {
    const q3 = await startSiteServer({ siteId: 'Q3', db: dbs[1], siteSecrets: peerSecrets, log: quiet });
    running.push(q3);
    const q1 = await startSiteServer({ siteId: 'Q1', db: dbs[0], siteSecrets: [secret], peers: { Q3: q3.url }, recoveryIntervalMs: 100, log: quiet });
    running.push(q1);
    const gid = `Q1.recovery-${randomBytes(3).toString('hex')}`;
    const isbn = `97860${String(randomBytes(3).readUIntBE(0, 3)).padStart(8, '0')}`;
    const vote = await q1.participant.prepare(gid, [{ kind: 'book.add', isbn, title: 'Số đỏ', author: 'Vũ Trọng Phụng' }], 'Q3', new Date(Date.now() + 300));
    expect(vote).toEqual({ vote: 'PREPARED' });
    return { q1, gid };
  }

  const prepared = async (site: SiteHandle) => (await site.participant.status()).prepared.map((p) => p.gid);

  it('resolves an in-doubt participant by a signed call to a peer that holds the secret', async () => {
    const secret = randomBytes(32).toString('hex');
    const { q1, gid } = await inDoubtAtQ1(secret, [randomBytes(32).toString('hex'), secret]);
    expect(await prepared(q1)).toEqual([gid]);
    for (let i = 0; i < 50 && (await prepared(q1)).length; i++) await sleep(100);
    // Presumed abort: Q3 never heard of the gid, so it decides ABORTED.
    expect(await prepared(q1)).toEqual([]);
  });

  it('leaves it PREPARED when the peer refuses the signature', async () => {
    const { q1, gid } = await inDoubtAtQ1(randomBytes(32).toString('hex'), [randomBytes(32).toString('hex')]);
    await sleep(1500);
    expect(await prepared(q1)).toEqual([gid]);
    await q1.participant.abort(gid);
  });
});

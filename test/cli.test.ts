import { join } from 'node:path';
import { Client } from 'pg';
import { startTestChain, type TestChain } from './harness';
import { libfed } from './libfed';

/**
 * The `libfed` command as an operator runs it, a child process against a
 * running chain: a difference planted straight into one site's database is
 * found (exit 1, the ISBN and the site named), repaired through the gateway's
 * two-phase commit (exit 0), gone on the next check, and the repaired row is
 * what the gateway answers. Planting needs a database this test can open
 * beside the running site: PostgreSQL (PG_URL); a PGlite site holds its files.
 */
const ROOT = join(__dirname, '..');
const pgDescribe = process.env.PG_URL ? describe : describe.skip;

describe('libfed without a chain', () => {
  it('prints its help, and refuses an unknown command with the usage and exit 2', async () => {
    const help = await libfed(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: libfed <command>/);
    for (const command of ['start', 'seed', 'status', 'recover', 'check-replicas', 'sites']) expect(help.stdout).toContain(command);
    const nope = await libfed(['nope']);
    expect(nope.code).toBe(2);
    expect(nope.stderr).toMatch(/unknown command "nope"/);
    expect(nope.stderr).toMatch(/Usage: libfed/);
    const badFlag = await libfed(['status', '--port', 'abc']);
    expect(badFlag.code).toBe(2);
    const subHelp = await libfed(['check-replicas', '--help']);
    expect(subHelp.code).toBe(0);
    expect(subHelp.stdout).toMatch(/--repair/);
  });

  it('says what it tried when nothing answers (exit 3), and that sites add needs its flags (exit 2)', async () => {
    const none = await libfed(['status', '--port', '1', '--data', join(ROOT, 'no-such-data-dir')]);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/tried gateway http:\/\/127\.0\.0\.1:1\/graphql/);
    const add = await libfed(['sites', 'add', 'Q7']);
    expect(add.code).toBe(2);
    expect(add.stderr).toMatch(/needs --id/);
  });
});

pgDescribe('libfed against a running chain (postgres)', () => {
  let chain: TestChain;
  const target = () => ['--data', chain.dataDir, '--config', chain.configFile];

  beforeAll(async () => {
    chain = await startTestChain('postgres');
  }, 180_000);
  afterAll(() => chain?.close());

  it('status --json: every site healthy, nothing in doubt, replicas agree', async () => {
    const run = await libfed(['status', '--json', ...target()]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout);
    expect(status.gateway).toEqual({ url: chain.gatewayUrl, health: 'ok', ready: true });
    expect(status.sites.map((s: { id: string }) => s.id)).toEqual(chain.config.sites.map((s) => s.id));
    for (const site of status.sites) {
      expect(site).toMatchObject({ health: 'ok', ready: true, inDoubt: 0, prepared: 0 });
      expect(typeof site.pid).toBe('number');
      // phi and breaker come from the gateway's /ready once it reports them: null until then, never made up.
      expect(site).toHaveProperty('phi');
      expect(site).toHaveProperty('breaker');
      expect(Object.keys(site.replicas).sort()).toEqual(['CHINHANH', 'SACH', 'libfed_staff']);
      expect(site.replicas.SACH.maxVersion).toBeGreaterThanOrEqual(1);
    }
    expect(status.inDoubt).toEqual([]);
    expect(status.replicasAgree).toBe(true);
    const table = await libfed(['status', ...target()]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/site\s+url\s+pid\s+health/);
  }, 60_000);

  it('finds a row changed at one site, repairs it through the 2PC, and the gateway answers the repaired row', async () => {
    const q3 = chain.config.sites.find((s) => s.id === 'Q3')!.database as { url: string };
    const db = new Client({ connectionString: q3.url });
    await db.connect();
    let isbn: string;
    try {
      isbn = (await db.query<{ isbn: string }>('SELECT ISBN AS isbn FROM SACH ORDER BY ISBN LIMIT 1')).rows[0].isbn;
      // Read once through the gateway first, so a cached answer is there to be made stale.
      const before = await chain.query<{ book: { title: string } }>('query($i: ID!) { book(isbn: $i) { title } }', { i: isbn });
      expect(before.data?.book.title).toBeTruthy();
      // Changed behind LibFed's back at Q3 alone: a newer version there, so the repair spreads Q3's row.
      await db.query('UPDATE SACH SET TenSach = $1, version = version + 1 WHERE ISBN = $2', ['Planted title at Q3', isbn]);
    } finally {
      await db.end();
    }

    const found = await libfed(['check-replicas', ...target()]);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain(isbn);
    expect(found.stdout).toMatch(new RegExp(`SACH ${isbn}: Q1, Q5 differ from Q3`));

    const repaired = await libfed(['check-replicas', '--repair', ...target()]);
    expect(repaired.stderr).toBe('');
    expect(repaired.stdout).toMatch(new RegExp(`repair SACH ${isbn} -> v\\d+: COMMITTED`));
    expect(repaired.code).toBe(0);

    const again = await libfed(['check-replicas', '--json', ...target()]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).differences).toEqual([]);

    const after = await chain.query<{ book: { title: string } }>('query($i: ID!) { book(isbn: $i) { title } }', { i: isbn });
    expect(after.data?.book.title).toBe('Planted title at Q3');
    for (const site of chain.config.sites) {
      const c = new Client({ connectionString: (site.database as { url: string }).url });
      await c.connect();
      const row = (await c.query<{ title: string }>('SELECT TenSach AS title FROM SACH WHERE ISBN = $1', [isbn])).rows[0];
      await c.end();
      expect([site.id, row.title]).toEqual([site.id, 'Planted title at Q3']);
    }
  }, 120_000);

  it('recover: nothing in doubt on a quiet chain, exit 0', async () => {
    const run = await libfed(['recover', '--json', ...target()]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ resolved: [], stillInDoubt: [] });
  }, 60_000);
});

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chainSecrets, secretsEnv, startProcess, type ChildHandle } from '../launch/chain';
import { TYPESCRIPT_NODE_ARGS } from '../platform';
import { loadSites } from '../schema';
import { generateDemoData, siteFragment } from '../sql/seed';
import { DEMO_NOW, demoBranches } from './fixture';

/**
 * A site's first start creates and seeds its database in a process of its
 * own (a WASM heap grown by initdb and seeding would never shrink), and a
 * restart opens what is there: it starts no other process and writes no row.
 * Over a fresh data directory, not the template: creating it is the point.
 */
const CONFIG = join(__dirname, '..', 'schema', 'sites.yaml');
const SITE = 'Q3';

interface Started {
  site: ChildHandle;
  /** The site's `database-prepared` log lines. */
  prepared: { seeded: boolean; pid: number }[];
}

describe('a site prepares its database in a process of its own', () => {
  let dir: string;
  // The demo staff come with the demo data when the launcher gives their password, as npm start does.
  const env = { ...secretsEnv(chainSecrets()), LIBFED_DEMO_PASSWORD: 'first-start-test' };
  const staff = loadSites(CONFIG).sites.length + 1;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'libfed-first-start-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function startSite(flags: string[]): Promise<Started> {
    const prepared: Started['prepared'] = [];
    const output = (_name: string, line: string) => {
      if (!line.includes('"database-prepared"')) return;
      const event = JSON.parse(line);
      prepared.push({ seeded: event.seeded, pid: event.pid });
    };
    const args = ['--site', SITE, '--config', CONFIG, '--data', dir, '--port', '0', ...flags];
    const site = await startProcess(SITE, 'subgraphs/main.ts', args, { env, output });
    return { site, prepared };
  }

  /** Rows of every table the demo writes, and the slips' numbers (which a second load would shift). */
  const contents = (): Record<string, any> =>
    JSON.parse(execFileSync(process.execPath, [...TYPESCRIPT_NODE_ARGS, join(__dirname, 'site-contents.child.ts'), CONFIG, dir, SITE], { encoding: 'utf8' }));

  const demo = ['--demo', '--demo-now', DEMO_NOW.toISOString()];

  it('seeds on the first start through another process, and a restart neither starts one nor reseeds', async () => {
    const first = await startSite(demo);
    await first.site.stop();
    expect(first.prepared).toHaveLength(1);
    expect(first.prepared[0].seeded).toBe(true);
    expect(first.prepared[0].pid).not.toBe(first.site.child.pid);

    const data = generateDemoData({ branches: demoBranches(loadSites(CONFIG)), now: DEMO_NOW });
    const fragment = siteFragment(data, SITE);
    const seeded = contents();
    expect(seeded).toMatchObject({ libfed_staff: staff, CHINHANH: data.branches.length, SACH: data.books.length, QUYENSACH: fragment.copies.length, DOCGIA: fragment.readers.length, PHIEUMUON: fragment.loans.length });

    const restart = await startSite(demo);
    await restart.site.stop();
    expect(restart.prepared).toEqual([]);
    expect(contents()).toEqual(seeded);
  }, 240_000);

  it('a database made without --demo is seeded by another process when a later start asks for the demo', async () => {
    const plain = await startSite([]);
    await plain.site.stop();
    expect(plain.prepared).toHaveLength(1);
    expect(plain.prepared[0].seeded).toBe(false);
    expect(contents()).toMatchObject({ CHINHANH: 0, PHIEUMUON: 0, libfed_staff: 0 });

    const withDemo = await startSite(demo);
    await withDemo.site.stop();
    expect(withDemo.prepared).toHaveLength(1);
    expect(withDemo.prepared[0]).toMatchObject({ seeded: true });
    expect(withDemo.prepared[0].pid).not.toBe(withDemo.site.child.pid);
    expect((contents()).CHINHANH).toBeGreaterThan(0);
  }, 240_000);

  it('makes again a database whose creation was interrupted: a directory beside its creation marker is not a database', async () => {
    // What a kill during initdb leaves: PG_VERSION written, the rest missing, the marker still there.
    mkdirSync(join(dir, SITE), { recursive: true });
    writeFileSync(join(dir, SITE, 'PG_VERSION'), '17\n');
    writeFileSync(join(dir, `${SITE}.creating`), 'being created by process 1\n');
    const started = await startSite(demo);
    await started.site.stop();
    expect(started.prepared).toEqual([expect.objectContaining({ seeded: true })]);
    expect(existsSync(join(dir, `${SITE}.creating`))).toBe(false);
    expect(contents().CHINHANH).toBeGreaterThan(0);
  }, 240_000);

  it('stops the preparing process when its site is killed, and the next start makes the database again', async () => {
    const args = ['--site', SITE, '--config', CONFIG, '--data', dir, '--port', '0', ...demo];
    const site = spawn(process.execPath, [...TYPESCRIPT_NODE_ARGS, join(__dirname, '..', 'subgraphs', 'main.ts'), ...args], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const childrenOf = (pid: number) =>
      readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    let preparing: number | undefined;
    for (let i = 0; i < 600 && preparing === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      preparing = childrenOf(site.pid!)[0];
    }
    expect(preparing).toBeDefined();
    process.kill(site.pid!, 'SIGKILL');
    const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\bState:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    for (let i = 0; i < 200 && alive(preparing!); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(preparing!)).toBe(false);

    const restarted = await startSite(demo);
    await restarted.site.stop();
    expect(restarted.prepared).toEqual([expect.objectContaining({ seeded: true })]);
    expect(contents().CHINHANH).toBeGreaterThan(0);
  }, 240_000);
});

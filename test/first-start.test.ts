import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
});

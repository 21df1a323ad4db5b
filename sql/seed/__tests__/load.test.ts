import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { migrate } from '../../migrations';
import { dropPostgresDatabase, ensurePostgresDatabase, openPostgres } from '../../postgres';
import { generateDemoData, isSeeded, loadDemoData } from '..';
import { expectedObservation, observeSite, TEST_BRANCHES, TEST_NOW } from './observe';
import type { PgliteLoadReport } from './pglite-load.child';

const SEED = 11;
const PG_URL = process.env.PG_URL;
const pgIt = PG_URL ? it : it.skip;

/** Runs the PGlite scenarios in a child process (see pglite-load.child.ts for why). */
async function runPgliteChild(seed: number): Promise<PgliteLoadReport> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'pglite-load.child.ts'), String(seed)],
    { cwd: join(__dirname, '..', '..', '..'), maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as PgliteLoadReport;
}

describe('loadDemoData into PGlite', () => {
  const data = generateDemoData({ branches: TEST_BRANCHES, now: TEST_NOW, seed: SEED });
  let report: PgliteLoadReport;
  beforeAll(async () => {
    report = await runPgliteChild(SEED);
  }, 60_000);

  it.each(TEST_BRANCHES.map((b) => b.id))("loads site %s: its fragment, MaPM in seq order, within the site's CHECKs", (siteId) => {
    const site = report.sites[siteId];
    expect(site.seededBefore).toBe(false);
    expect(site.seededAfter).toBe(true);
    expect(site.observed).toEqual(expectedObservation(data, siteId));
  });

  it('writes batched multi-row INSERTs within the parameter limit, reporting progress', () => {
    const { inserts, observed, progress } = report.sites.Q1;
    const { CHINHANH, SACH, QUYENSACH, DOCGIA, PHIEUMUON } = observed.counts;
    const locations = data.locations.filter((l) => l.id.startsWith('Q1-')).length;
    // As many rows per statement as 2,000 parameters allow; a loan binds its position too.
    const statements = (rows: number, parametersPerRow: number) => Math.ceil(rows / Math.floor(2000 / parametersPerRow));
    expect(inserts.perTable).toEqual({
      CHINHANH: 1,
      SACH: statements(SACH, 3),
      QUYENSACH: statements(QUYENSACH, 4),
      DOCGIA: statements(DOCGIA, 4),
      PHIEUMUON: statements(PHIEUMUON, 8),
      ...(locations ? { libfed_location: statements(locations, 3) } : {}),
    });
    expect(inserts.maxParameters).toBeLessThanOrEqual(2000);
    const total = CHINHANH + SACH + QUYENSACH + DOCGIA + PHIEUMUON + locations;
    expect(progress[0]).toEqual([0, total]);
    expect(progress.at(-1)).toEqual([total, total]);
  });

  it('keeps MaPM in borrowedAt order across many small batches', () => {
    const small = generateDemoData({ branches: TEST_BRANCHES, now: TEST_NOW, seed: SEED + 1, scale: 0.2 });
    expect(report.smallBatches.observed).toEqual(expectedObservation(small, 'Q3'));
    expect(report.smallBatches.inserts.perTable.PHIEUMUON).toBeGreaterThan(10);
    expect(report.smallBatches.inserts.maxParameters).toBeLessThanOrEqual(40);
  });

  it("rolls back everything when a row breaks the site's CHECK constraints", () => {
    expect(report.wrongSite.error).toMatch(/check constraint/i);
    expect(report.wrongSite.branchesLeft).toBe(0);
    expect(report.wrongSite.booksLeft).toBe(0);
  });

  it('refuses a site the data does not know', () => {
    expect(report.unknownSite.error).toMatch(/"Q9" is not a branch/);
  });
});

describe('loadDemoData into a PostgreSQL server (PG_URL)', () => {
  pgIt(
    'loads one site',
    async () => {
      const name = `libfed_seed_test_${process.pid}_${Date.now()}`;
      await ensurePostgresDatabase(PG_URL!, name);
      const url = new URL(PG_URL!);
      url.pathname = `/${name}`;
      const db = openPostgres(url.toString(), { poolMax: 2 });
      try {
        await migrate(db, 'Q3');
        const data = generateDemoData({ branches: TEST_BRANCHES, now: TEST_NOW, seed: SEED });
        expect(await isSeeded(db)).toBe(false);
        await loadDemoData(db, 'Q3', data);
        expect(await observeSite(db)).toEqual(expectedObservation(data, 'Q3'));
        expect(await isSeeded(db)).toBe(true);
      } finally {
        await db.close();
        await dropPostgresDatabase(PG_URL!, name);
      }
    },
    30_000,
  );
});

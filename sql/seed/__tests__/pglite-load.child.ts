/**
 * `node --import tsx pglite-load.child.ts SEED`: runs the PGlite load scenarios and
 * prints one JSON report. A child process because PGlite loads its WebAssembly
 * with import(), which Jest's module sandbox refuses unless Node runs with
 * --experimental-vm-modules (electric-sql/pglite#224).
 */
import { postgres } from '../../dialect';
import type { SqlExecutor } from '../../executor';
import { raw, sql } from '../../fragment';
import { migrate } from '../../migrations';
import { openPglite } from '../../pglite';
import { generateDemoData, isSeeded, loadDemoData } from '..';
import { insertStats, observeSite, recordingExecutor, TEST_BRANCHES, TEST_NOW, type InsertStats, type SiteObservation } from './observe';

/** What the child saw, for load.test.ts to compare with what the data predicts. */
export interface PgliteLoadReport {
  sites: Record<
    string,
    { seededBefore: boolean; seededAfter: boolean; observed: SiteObservation; inserts: InsertStats; progress: [number, number][] }
  >;
  smallBatches: { observed: SiteObservation; inserts: InsertStats };
  wrongSite: { error: string; branchesLeft: number; booksLeft: number };
  unknownSite: { error: string };
}

/** One PGlite (initdb takes seconds); each scenario gets a fresh schema migrated for its site. */
async function freshSite(db: SqlExecutor, schema: string, siteId: string): Promise<void> {
  await db.query(sql`CREATE SCHEMA ${raw(schema)}`);
  await db.query(sql`SET search_path TO ${raw(schema)}`);
  await migrate(db, siteId);
}

async function errorOf(work: Promise<unknown>): Promise<string> {
  return work.then(
    () => 'no error',
    (error: Error) => error.message,
  );
}

async function run(seed: number): Promise<PgliteLoadReport> {
  const data = generateDemoData({ branches: TEST_BRANCHES, now: TEST_NOW, seed });
  const db = await openPglite(undefined);
  try {
    const sites: PgliteLoadReport['sites'] = {};
    for (const { id } of TEST_BRANCHES) {
      await freshSite(db, `site_${id.toLowerCase()}`, id);
      const seededBefore = await isSeeded(db);
      const [spy, statements] = recordingExecutor(db);
      const progress: [number, number][] = [];
      await loadDemoData(spy, id, data, (done, total) => progress.push([done, total]));
      sites[id] = { seededBefore, seededAfter: await isSeeded(db), observed: await observeSite(db), inserts: insertStats(statements), progress };
    }

    const small = generateDemoData({ branches: TEST_BRANCHES, now: TEST_NOW, seed: seed + 1, scale: 0.2 });
    await freshSite(db, 'small_batches', 'Q3');
    const [spy, statements] = recordingExecutor(db, { ...postgres, maxParameters: 40 });
    await loadDemoData(spy, 'Q3', small);
    const smallBatches = { observed: await observeSite(db), inserts: insertStats(statements) };

    await freshSite(db, 'wrong_site', 'Q1');
    const wrongSite = {
      error: await errorOf(loadDemoData(db, 'Q5', data)),
      branchesLeft: (await observeSite(db)).counts.CHINHANH,
      booksLeft: (await observeSite(db)).counts.SACH,
    };
    const unknownSite = { error: await errorOf(loadDemoData(db, 'Q9', data)) };
    return { sites, smallBatches, wrongSite, unknownSite };
  } finally {
    await db.close();
  }
}

run(Number(process.argv[2])).then(
  (report) => process.stdout.write(JSON.stringify(report)),
  (error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  },
);

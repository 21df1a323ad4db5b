import { loadSites, siteById } from '../schema';
import { openSiteDatabase, raw, sql } from '../sql';

/**
 * `node --import tsx test/site-contents.child.ts CONFIG DATA SITE`: prints, as
 * one JSON line, how many rows each demo table of a PGlite site holds and the
 * range of its slip numbers. A process of its own: PGlite does not load in
 * jest's (it needs a dynamic import jest's VM refuses).
 */
async function main(configFile: string, dataDir: string, siteId: string): Promise<void> {
  const db = await openSiteDatabase(siteById(loadSites(configFile), siteId)!, dataDir);
  try {
    const counts: Record<string, unknown> = {};
    for (const table of ['CHINHANH', 'SACH', 'QUYENSACH', 'DOCGIA', 'PHIEUMUON', 'libfed_staff']) {
      const [row] = await db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${raw(table)}`);
      counts[table] = Number(row.n);
    }
    const [slips] = await db.query<{ lo: number | null; hi: number | null }>(sql`SELECT MIN(MaPM) AS lo, MAX(MaPM) AS hi FROM PHIEUMUON`);
    process.stdout.write(`${JSON.stringify({ ...counts, slips: [slips.lo, slips.hi] })}\n`);
  } finally {
    await db.close();
  }
}

const [configFile, dataDir, siteId] = process.argv.slice(2);
main(configFile, dataDir, siteId).catch((error) => {
  console.error(error);
  process.exit(1);
});

import { loadSites } from '../schema';
import { migrate, openSiteDatabase } from '../sql';
import { generateDemoData, loadDemoData, loadDemoStaff } from '../sql/seed';
import { DEMO_NOW, DEMO_PASSWORD, demoBranches } from './fixture';

/**
 * `tsx test/prepare-template.ts DIR`: migrated, seeded PGlite data dirs for every
 * site, made once per test run; each test copies them instead of running initdb.
 */
async function main(dir: string): Promise<void> {
  const config = loadSites(`${__dirname}/../schema/sites.yaml`);
  const data = generateDemoData({ branches: demoBranches(config), now: DEMO_NOW });
  await Promise.all(
    config.sites.map(async (site) => {
      const db = await openSiteDatabase(site, dir);
      await migrate(db, site.id);
      await loadDemoData(db, site.id, data);
      await loadDemoStaff(db, config.sites.map((s) => s.id), DEMO_PASSWORD);
      await db.close();
    }),
  );
}

main(process.argv[2]).catch((error) => {
  console.error(error);
  process.exit(1);
});

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { SitesConfig } from '../schema';
import { migrate, openPglite, raw, sql } from '../sql';
import type { DemoData } from '../sql/seed';
import { loadDemoData, loadDemoStaff } from '../sql/seed';

/**
 * One database holding every branch's rows: the centralised baseline. It is a
 * Q1 site database without its fragment predicates, loaded with all copies,
 * readers and loans (relabelled to Q1 so the loader accepts them; the rows and
 * joins are the same, only branch ids differ), and the demo staff when a
 * password is given (a LibFed gateway over it writes as the manager: the
 * staleness scenario's writer for the plain baseline). Returns a config file naming it.
 */
export async function prepareCentralSite(dir: string, config: SitesConfig, data: DemoData, staffPassword?: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const db = await openPglite(join(dir, 'Q1'));
  await migrate(db, 'Q1');
  for (const [table, check] of [['QUYENSACH', 'CK_QUYENSACH_site'], ['DOCGIA', 'CK_DOCGIA_site'], ['PHIEUMUON', 'CK_PHIEUMUON_site']]) {
    await db.query(sql`ALTER TABLE ${raw(table)} DROP CONSTRAINT ${raw(check)}`);
  }
  const relabelled: DemoData = {
    ...data,
    copies: data.copies.map((c) => ({ ...c, branchId: 'Q1' })),
    readers: data.readers.map((r) => ({ ...r, homeBranchId: 'Q1' })),
    loans: data.loans.map((l, i) => ({ ...l, branchId: 'Q1', seq: i + 1 })),
    locations: [],
  };
  await loadDemoData(db, 'Q1', relabelled);
  if (staffPassword) await loadDemoStaff(db, ['Q1'], staffPassword);
  await db.close();
  const file = join(dir, 'central.yaml');
  const q1 = config.sites[0];
  writeFileSync(file, stringify({ fragments: {}, replicated: [], sites: [{ id: 'Q1', name: q1.name, address: q1.address, url: q1.url, database: 'pglite' }] }));
  return file;
}


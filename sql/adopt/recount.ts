import type { SqlExecutor } from '../executor';
import { pendingMigrations } from '../migrations';
import { sql } from '../fragment';

export interface SiteDb {
  id: string;
  db: SqlExecutor;
}

export interface Recounted {
  site: string;
  readerId: string;
  from: number;
  to: number;
}

/**
 * `libfed migrate --recount`: each reader's open-loan counter (DOCGIA.SoMuonDangMo, which the
 * loan limit is checked against at the reader's home site) set to the reader's open loans at
 * every site. Migration 2 added the counter as 0, and the older application never kept it: a
 * reader with open loans could borrow five more, and a later return would find the counter
 * at 0 and leave it. Run once every site is migrated and nothing writes (no LibFed, no older
 * application); run again it changes nothing. Answers the counters it changed.
 */
export async function recountOpenLoans(sites: SiteDb[]): Promise<Recounted[]> {
  for (const site of sites) {
    // A database with no ledger cannot even be asked: it is not migrated at all.
    const pending = await pendingMigrations(site.db).catch(() => null);
    if (pending === null) throw new Error(`site ${site.id} has no LibFed migration ledger: run libfed migrate --site ${site.id} on it first`);
    if (pending.length) throw new Error(`site ${site.id} still lacks migrations ${pending.join(', ')}: run libfed migrate --site ${site.id} on it first`);
  }
  const open = new Map<string, number>();
  for (const site of sites) {
    const rows = await site.db.query<{ reader: string; n: number }>(sql`SELECT MaDG AS reader, COUNT(*) AS n FROM PHIEUMUON WHERE NgayTra IS NULL GROUP BY MaDG`);
    for (const row of rows) open.set(row.reader, (open.get(row.reader) ?? 0) + Number(row.n));
  }
  const changed: Recounted[] = [];
  for (const site of sites) {
    const readers = await site.db.query<{ id: string; n: number }>(sql`SELECT MaDG AS id, SoMuonDangMo AS n FROM DOCGIA`);
    for (const reader of readers) {
      const to = open.get(reader.id) ?? 0;
      if (Number(reader.n) === to) continue;
      // The version moves too: a cache that holds the reader must not keep the old count.
      await site.db.query(sql`UPDATE DOCGIA SET SoMuonDangMo = ${to}, version = version + 1 WHERE MaDG = ${reader.id}`);
      changed.push({ site: site.id, readerId: reader.id, from: Number(reader.n), to });
    }
  }
  return changed;
}

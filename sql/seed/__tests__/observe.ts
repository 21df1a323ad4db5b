import type { Dialect } from '../../dialect';
import type { SqlExecutor } from '../../executor';
import { raw, sql, type Sql } from '../../fragment';
import { COPY_STATUS } from '../../migrations';
import { siteFragment, type DemoData } from '..';

/** Shared by the load tests and the PGlite child they start: the data both sides generate. */
export const TEST_BRANCHES = [
  { id: 'Q1', name: 'Chi nhánh Quận 1', address: '12 Lê Lợi, Quận 1' },
  { id: 'Q3', name: 'Chi nhánh Quận 3', address: '285 Cách Mạng Tháng Tám, Quận 3' },
  { id: 'Q5', name: 'Chi nhánh Quận 5', address: '105 Trần Hưng Đạo, Quận 5' },
];
export const TEST_NOW = new Date('2026-03-15T03:00:00.000Z');

/** What a loaded site database holds, in plain JSON so a child process can report it. */
export interface SiteObservation {
  counts: {
    CHINHANH: number;
    SACH: number;
    QUYENSACH: number;
    DOCGIA: number;
    PHIEUMUON: number;
    onLoan: number;
    open: number;
  };
  /** PHIEUMUON by MaPM: [MaPM, MaQuyenSach, MaDG, ISBN, NgayMuon as ISO]. */
  loans: [number, string, string, string | null, string][];
}

async function count(db: SqlExecutor, table: string, where: Sql = raw('')): Promise<number> {
  const [row] = await db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${raw(table)} ${where}`);
  return Number(row.n);
}

export async function observeSite(db: SqlExecutor): Promise<SiteObservation> {
  const counts = {
    CHINHANH: await count(db, 'CHINHANH'),
    SACH: await count(db, 'SACH'),
    QUYENSACH: await count(db, 'QUYENSACH'),
    DOCGIA: await count(db, 'DOCGIA'),
    PHIEUMUON: await count(db, 'PHIEUMUON'),
    onLoan: await count(db, 'QUYENSACH', sql`WHERE TinhTrang = ${COPY_STATUS.ON_LOAN}`),
    open: await count(db, 'PHIEUMUON', raw('WHERE NgayTra IS NULL')),
  };
  const rows = await db.query<{ mapm: number; maquyensach: string; madg: string; isbn: string | null; ngaymuon: Date }>(
    sql`SELECT MaPM AS mapm, MaQuyenSach AS maquyensach, MaDG AS madg, ISBN AS isbn, NgayMuon AS ngaymuon
        FROM PHIEUMUON ORDER BY MaPM`,
  );
  const loans = rows.map((r): SiteObservation['loans'][number] => [
    Number(r.mapm),
    r.maquyensach,
    r.madg,
    r.isbn,
    new Date(r.ngaymuon).toISOString(),
  ]);
  return { counts, loans };
}

/** The replicated tables in full plus the site's fragment; MaPM equal to `seq`. */
export function expectedObservation(data: DemoData, siteId: string): SiteObservation {
  const fragment = siteFragment(data, siteId);
  // A slip keeps its copy's ISBN even after the copy was transferred to another site.
  const isbnOfCopy = new Map(data.copies.map((c) => [c.id, c.isbn]));
  return {
    counts: {
      CHINHANH: data.branches.length,
      SACH: data.books.length,
      QUYENSACH: fragment.copies.length,
      DOCGIA: fragment.readers.length,
      PHIEUMUON: fragment.loans.length,
      onLoan: fragment.copies.filter((c) => c.status === COPY_STATUS.ON_LOAN).length,
      open: fragment.loans.filter((l) => l.returnedAt === null).length,
    },
    loans: fragment.loans.map((l) => [l.seq, l.copyId, l.readerId, isbnOfCopy.get(l.copyId)!, l.borrowedAt.toISOString()]),
  };
}

/** Spy: the executor plus every statement it ran, optionally under another dialect (to force small batches). */
export function recordingExecutor(inner: SqlExecutor, dialect: Dialect = inner.dialect): [SqlExecutor, Sql[]] {
  const statements: Sql[] = [];
  const wrap = (db: SqlExecutor): SqlExecutor => ({
    dialect,
    query: (statement) => {
      statements.push(statement);
      return db.query(statement);
    },
    transaction: (work) => db.transaction((tx) => work(wrap(tx))),
    close: () => db.close(),
  });
  return [wrap(inner), statements];
}

/** How a load was cut into statements. */
export interface InsertStats {
  /** INSERT statements per table, keyed by the table name. */
  perTable: Record<string, number>;
  maxParameters: number;
}

export function insertStats(statements: Sql[]): InsertStats {
  const perTable: Record<string, number> = {};
  let maxParameters = 0;
  for (const statement of statements) {
    const table = /^INSERT INTO (\w+)/.exec(statement.strings[0])?.[1];
    if (!table) continue;
    perTable[table] = (perTable[table] ?? 0) + 1;
    maxParameters = Math.max(maxParameters, statement.values.length);
  }
  return { perTable, maxParameters };
}

import type { Dialect } from '../dialect';
import type { SqlExecutor } from '../executor';
import { join, list, raw, sql, type Sql } from '../fragment';
import { siteFragment, type DemoData } from './model';

/** One table's share of a site load, in foreign-key order. */
interface TableLoad {
  rows: unknown[][];
  insert(d: Dialect, batch: unknown[][]): Sql;
}

/** SQL Server refuses a VALUES list longer than 1,000 rows, whatever the parameter count. */
const MAX_ROWS_PER_STATEMENT = 1000;

/**
 * Writes one site's share of `data` into an empty, migrated site database in a
 * single transaction: the replicated CHINHANH and SACH in full, and only the
 * site's fragment of QUYENSACH, DOCGIA and PHIEUMUON. `onProgress` hears rows
 * written after every statement.
 */
export async function loadDemoData(
  db: SqlExecutor,
  siteId: string,
  data: DemoData,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  if (!data.branches.some((branch) => branch.id === siteId)) {
    throw new Error(`site "${siteId}" is not a branch of the demo data (${data.branches.map((b) => b.id).join(', ')})`);
  }
  const tables = siteTables(data, siteId);
  const total = tables.reduce((sum, t) => sum + t.rows.length, 0);
  let done = 0;
  onProgress?.(done, total);
  await db.transaction(async (tx) => {
    for (const table of tables) {
      for (const batch of batches(table.rows, rowsPerStatement(tx.dialect, table.rows[0]?.length ?? 1))) {
        await tx.query(table.insert(tx.dialect, batch));
        done += batch.length;
        onProgress?.(done, total);
      }
    }
  });
}

/** True once a site database holds data: every load writes CHINHANH first. Needs a migrated database. */
export async function isSeeded(db: SqlExecutor): Promise<boolean> {
  const [row] = await db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM CHINHANH`);
  return Number(row.n) > 0;
}

function siteTables(data: DemoData, siteId: string): TableLoad[] {
  const fragment = siteFragment(data, siteId);
  // PHIEUMUON.ISBN is a LibFed addition: the slip remembers its copy's title.
  // All copies, not the fragment's: a copy lent here may have been transferred since.
  const isbnOfCopy = new Map(data.copies.map((c) => [c.id, c.isbn]));
  // DOCGIA.SoMuonDangMo counts a reader's open loans at every branch.
  const openLoans = new Map<string, number>();
  for (const l of data.loans) if (l.returnedAt === null) openLoans.set(l.readerId, (openLoans.get(l.readerId) ?? 0) + 1);
  return [
    plain('CHINHANH', ['MaCN', 'TenCN', 'DiaChi'], data.branches.map((b) => [b.id, b.name, b.address])),
    plain('SACH', ['ISBN', 'TenSach', 'TacGia'], data.books.map((b) => [b.isbn, b.title, b.author])),
    plain(
      'QUYENSACH',
      ['MaQuyenSach', 'ISBN', 'MaCN', 'TinhTrang'],
      fragment.copies.map((c) => [c.id, c.isbn, c.branchId, c.status]),
    ),
    plain(
      'DOCGIA',
      ['MaDG', 'HoTen', 'MaCN_DangKy', 'SoMuonDangMo'],
      fragment.readers.map((r) => [r.id, r.name, r.homeBranchId, openLoans.get(r.id) ?? 0]),
    ),
    plain(
      'libfed_location',
      ['entity', 'id', 'site'],
      data.locations.filter((l) => l.id.startsWith(`${siteId}-`)).map((l) => [l.entity, l.id, l.site]),
    ),
    identityOrdered(
      'PHIEUMUON',
      [
        ['MaDG', (d) => d.types.varchar(20)],
        ['MaQuyenSach', (d) => d.types.varchar(20)],
        ['MaCN', (d) => d.types.varchar(10)],
        ['ISBN', (d) => d.types.varchar(20)],
        ['NgayMuon', (d) => d.types.timestamp],
        ['HanTra', (d) => d.types.timestamp],
        ['NgayTra', (d) => d.types.timestamp],
      ],
      fragment.loans.map((l) => [
        l.seq,
        l.readerId,
        l.copyId,
        l.branchId,
        isbnOfCopy.get(l.copyId),
        l.borrowedAt,
        l.dueAt,
        l.returnedAt,
      ]),
    ),
  ];
}

/** INSERT INTO t (a, b) VALUES (...), (...): every value bound, never spliced. */
function plain(table: string, columns: string[], rows: unknown[][]): TableLoad {
  return {
    rows,
    insert: (_d, batch) =>
      sql`INSERT INTO ${raw(table)} (${raw(columns.join(', '))}) VALUES ${join(batch.map((row) => list(row)), ', ')}`,
  };
}

type TypedColumn = [name: string, type: (d: Dialect) => Sql];

/**
 * For tables with an identity key whose numbers are part of the contract (MaPM):
 * each row carries its position first, and INSERT ... SELECT ... ORDER BY hands
 * out identity values in that order. SQL Server guarantees identity order only
 * for this form, not for a plain VALUES list. The casts give the derived
 * table's columns real types; PostgreSQL would otherwise type bound values as text.
 */
function identityOrdered(table: string, columns: TypedColumn[], rows: unknown[][]): TableLoad {
  const names = raw(columns.map(([name]) => name).join(', '));
  return {
    rows,
    insert: (d, batch) => {
      const cast = (value: unknown, type: Sql) => sql`CAST(${value} AS ${type})`;
      const tuples = batch.map(
        ([position, ...values]) =>
          sql`(${join([cast(position, d.types.int), ...values.map((v, i) => cast(v, columns[i][1](d)))], ', ')})`,
      );
      return sql`INSERT INTO ${raw(table)} (${names}) SELECT ${names} FROM (VALUES ${join(tuples, ', ')}) AS v (seed_position, ${names}) ORDER BY seed_position`;
    },
  };
}

function rowsPerStatement(d: Dialect, parametersPerRow: number): number {
  return Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(d.maxParameters / parametersPerRow)));
}

function batches<T>(rows: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

import type { SqlExecutor } from '../../executor';
import { raw, sql, type Sql } from '../../fragment';
import { COPY_STATUS } from '../../migrations';
import { DEFAULT_LOAN_DAYS } from '../plan';

/**
 * A branch database as the older application left it, from what is known of it: the five
 * tables, varchar(10) reader ids, zoneless datetimes in local time (UTC+7) with a local-time
 * default on the borrow time, the status CHECK and a CHECK on each fragment's branch column,
 * foreign keys from loans to readers and copies, no version, ISBN or due date on loans, no
 * LibFed table. Statuses were compared under a case-insensitive, trailing-space-ignoring
 * collation, so a few are spelt oddly. PostgreSQL compares exactly, so its CHECK folds case
 * and spaces to stand in for that collation.
 */
export const LEGACY_OFFSET_MINUTES = 420;

export interface LegacyData {
  branches: { id: string; name: string; address: string }[];
  books: { isbn: string; title: string; author: string }[];
  copies: { id: string; isbn: string; status: string }[];
  readers: { id: string; name: string }[];
  /** In MaPM order (1, 2, ...). Times are local wall-clock ISO text, as the older application wrote them. */
  loans: { readerId: string; copyId: string; borrowedLocal: string; returnedLocal: string | null }[];
}

/** The local wall time `local` (UTC+7) as the instant it names. */
export function instantOf(local: string): Date {
  return new Date(new Date(`${local}Z`).getTime() - LEGACY_OFFSET_MINUTES * 60_000);
}

/** ISO text without a zone; milliseconds a datetime holds exactly (its ticks are 1/300 s). */
function wall(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23);
}

const MILLIS = [0, 3, 7, 500, 997];

/** The same data every time: 2 branches, 30 books, 90 copies, 60 readers, 200 loans. */
export function legacyData(siteId: string): LegacyData {
  const branches = [
    { id: siteId, name: 'Chi nhánh Quận 1', address: '12 Lê Lợi, Quận 1' },
    { id: 'Q3', name: 'Chi nhánh Quận 3', address: '5 Võ Văn Tần, Quận 3' },
  ];
  const books = Array.from({ length: 30 }, (_, i) => ({ isbn: `978604${String(i).padStart(7, '0')}`, title: `Sách số ${i + 1}: Truyện Kiều`, author: i % 2 ? 'Nguyễn Du' : 'Hồ Xuân Hương' }));
  const readers = Array.from({ length: 60 }, (_, i) => ({ id: `DG${String(i + 1).padStart(5, '0')}`, name: `Trần Thị ${String.fromCharCode(65 + (i % 26))}${i}` }));
  const copies = Array.from({ length: 90 }, (_, i) => ({ id: `QS${String(i + 1).padStart(6, '0')}`, isbn: books[i % books.length].isbn, status: COPY_STATUS.AVAILABLE as string }));
  const base = Date.UTC(2026, 2, 1, 8, 0, 0);
  const loans: LegacyData['loans'] = [];
  for (let i = 0; i < 197; i++) {
    // Every fifth slip shares its borrow time with the one before: the cursor's tie step must find both.
    const j = i % 5 === 4 ? i - 1 : i;
    const at = base + j * 3_600_000 + MILLIS[j % MILLIS.length];
    loans.push({ readerId: readers[i % readers.length].id, copyId: copies[i % copies.length].id, borrowedLocal: wall(at), returnedLocal: wall(at + (1 + (i % 9)) * 86_400_000 + 7) });
  }
  // Two readers with open loans: DG00001 two, DG00002 one; their copies are on loan.
  const open = [
    { readerId: readers[0].id, copyId: copies[10].id },
    { readerId: readers[0].id, copyId: copies[11].id },
    { readerId: readers[1].id, copyId: copies[12].id },
  ];
  open.forEach((o, i) => {
    loans.push({ ...o, borrowedLocal: wall(Date.UTC(2026, 4, 20, 23, 30, 0) + i * 1000 + 3), returnedLocal: null });
    copies.find((c) => c.id === o.copyId)!.status = COPY_STATUS.ON_LOAN;
  });
  // Statuses a case-insensitive collation let through.
  copies[20].status = 'có sẵn';
  copies[21].status = 'Có sẵn ';
  return { branches, books, copies, readers, loans };
}

function ddl(mssql: boolean, siteId: string): Sql[] {
  const n = (s: string) => (mssql ? `N'${s}'` : `'${s}'`);
  const text = mssql ? 'nvarchar(255)' : 'varchar(255)';
  const statusCheck = mssql
    ? `CHECK (TinhTrang IN (${n(COPY_STATUS.AVAILABLE)}, ${n(COPY_STATUS.ON_LOAN)}))`
    : `CHECK (lower(btrim(TinhTrang)) IN (lower(${n(COPY_STATUS.AVAILABLE)}), lower(${n(COPY_STATUS.ON_LOAN)})))`;
  return [
    `CREATE TABLE CHINHANH (MaCN varchar(10) NOT NULL PRIMARY KEY, TenCN ${text} NOT NULL, DiaChi ${text} NOT NULL)`,
    `CREATE TABLE SACH (ISBN varchar(20) NOT NULL PRIMARY KEY, TenSach ${text} NOT NULL, TacGia ${text} NOT NULL)`,
    `CREATE TABLE QUYENSACH (MaQuyenSach varchar(20) NOT NULL PRIMARY KEY, ISBN varchar(20) NOT NULL REFERENCES SACH (ISBN),
       MaCN varchar(10) NOT NULL REFERENCES CHINHANH (MaCN), TinhTrang ${mssql ? 'nvarchar(50)' : 'varchar(50)'} NOT NULL,
       CONSTRAINT CK_QS_TinhTrang ${statusCheck}, CONSTRAINT CK_QS_MaCN CHECK (MaCN = '${siteId}'))`,
    `CREATE TABLE DOCGIA (MaDG varchar(10) NOT NULL PRIMARY KEY, HoTen ${text} NOT NULL,
       MaCN_DangKy varchar(10) NOT NULL REFERENCES CHINHANH (MaCN), CONSTRAINT CK_DG_MaCN CHECK (MaCN_DangKy = '${siteId}'))`,
    `CREATE TABLE PHIEUMUON (MaPM ${mssql ? 'int IDENTITY(1,1)' : 'serial'} NOT NULL PRIMARY KEY,
       MaDG varchar(10) NOT NULL REFERENCES DOCGIA (MaDG), MaQuyenSach varchar(20) NOT NULL REFERENCES QUYENSACH (MaQuyenSach),
       MaCN varchar(10) NOT NULL REFERENCES CHINHANH (MaCN), NgayMuon ${mssql ? 'datetime NOT NULL DEFAULT GETDATE()' : 'timestamp(3) NOT NULL DEFAULT localtimestamp'},
       NgayTra ${mssql ? 'datetime' : 'timestamp(3)'} NULL, CONSTRAINT CK_PM_MaCN CHECK (MaCN = '${siteId}'))`,
  ].map(raw);
}

/** Creates the older application's tables in `db` (an empty database) and fills them with `data`. */
export async function createLegacyDatabase(db: SqlExecutor, siteId: string, data: LegacyData): Promise<void> {
  for (const statement of ddl(db.dialect.name === 'mssql', siteId)) await db.query(statement);
  for (const b of data.branches) await db.query(sql`INSERT INTO CHINHANH (MaCN, TenCN, DiaChi) VALUES (${b.id}, ${b.name}, ${b.address})`);
  for (const b of data.books) await db.query(sql`INSERT INTO SACH (ISBN, TenSach, TacGia) VALUES (${b.isbn}, ${b.title}, ${b.author})`);
  for (const c of data.copies) await db.query(sql`INSERT INTO QUYENSACH (MaQuyenSach, ISBN, MaCN, TinhTrang) VALUES (${c.id}, ${c.isbn}, ${siteId}, ${c.status})`);
  for (const r of data.readers) await db.query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES (${r.id}, ${r.name}, ${siteId})`);
  // Times bound as ISO text: the column keeps the wall clock as written, whatever zone the driver is in.
  for (const l of data.loans) {
    await db.query(sql`INSERT INTO PHIEUMUON (MaDG, MaQuyenSach, MaCN, NgayMuon, NgayTra) VALUES (${l.readerId}, ${l.copyId}, ${siteId}, ${l.borrowedLocal}, ${l.returnedLocal})`);
  }
}

/** Every row of the tables the older application had, as LibFed reads them, in key order: equal dumps mean nothing changed. */
export async function dump(db: SqlExecutor): Promise<Record<string, unknown[]>> {
  const bin = db.dialect.binaryCollation;
  return {
    branches: await db.query(sql`SELECT MaCN AS id, TenCN AS name, DiaChi AS address, version FROM CHINHANH ORDER BY MaCN ${bin}`),
    books: await db.query(sql`SELECT ISBN AS isbn, TenSach AS title, TacGia AS author, version FROM SACH ORDER BY ISBN ${bin}`),
    copies: await db.query(sql`SELECT MaQuyenSach AS id, ISBN AS isbn, MaCN AS branch, TinhTrang AS status, version FROM QUYENSACH ORDER BY MaQuyenSach ${bin}`),
    readers: await db.query(sql`SELECT MaDG AS id, HoTen AS name, MaCN_DangKy AS branch, SoMuonDangMo AS open_loans, version FROM DOCGIA ORDER BY MaDG ${bin}`),
    loans: await db.query(
      sql`SELECT MaPM AS seq, MaDG AS reader_id, MaQuyenSach AS copy_id, MaCN AS branch, ISBN AS isbn, NgayMuon AS borrowed_at, NgayTra AS returned_at, HanTra AS due_at, version FROM PHIEUMUON ORDER BY MaPM`,
    ),
  };
}

/** What `dump` must read once `data` is adopted: the same rows, statuses spelt as the CHECK spells them, times as UTC instants, LibFed's columns filled. */
export function adoptedDump(data: LegacyData, siteId: string): Record<string, unknown[]> {
  const canonical = (s: string) => (s.trim().toLowerCase() === COPY_STATUS.AVAILABLE.toLowerCase() ? COPY_STATUS.AVAILABLE : s);
  const isbnOf = new Map(data.copies.map((c) => [c.id, c.isbn]));
  return {
    branches: [...data.branches].sort((a, b) => (a.id < b.id ? -1 : 1)).map((b) => ({ ...b, version: 1 })),
    books: data.books.map((b) => ({ ...b, version: 1 })),
    copies: data.copies.map((c) => ({ id: c.id, isbn: c.isbn, branch: siteId, status: canonical(c.status), version: 1 })),
    readers: data.readers.map((r) => ({ id: r.id, name: r.name, branch: siteId, open_loans: 0, version: 1 })),
    loans: data.loans.map((l, i) => ({
      seq: i + 1,
      reader_id: l.readerId,
      copy_id: l.copyId,
      branch: siteId,
      isbn: isbnOf.get(l.copyId),
      borrowed_at: instantOf(l.borrowedLocal),
      returned_at: l.returnedLocal === null ? null : instantOf(l.returnedLocal),
      due_at: new Date(instantOf(l.borrowedLocal).getTime() + DEFAULT_LOAN_DAYS * 86_400_000),
      version: 1,
    })),
  };
}

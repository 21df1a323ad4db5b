import { randomUUID } from 'node:crypto';
import type { SqlExecutor } from '../executor';
import { raw, sql } from '../fragment';
import { MIGRATIONS, migrate } from '../migrations';
import { openMssql } from '../mssql';

/**
 * Against a real SQL Server, when MSSQL_URL names one; skipped otherwise. For example:
 *
 *   docker run -e ACCEPT_EULA=Y -e MSSQL_SA_PASSWORD='LibFed!2024' -p 1433:1433 mcr.microsoft.com/mssql/server:2019-latest
 *   MSSQL_URL='mssql://sa:LibFed!2024@localhost:1433/master?encrypt=false' npx jest sql/__tests__/mssql-server
 *
 * The login must be allowed to create databases: each run makes its own and drops it.
 */
const url = process.env.MSSQL_URL;
const mssqlIt = url ? it : it.skip;

function withDatabase(serverUrl: string, database: string): string {
  const target = new URL(serverUrl);
  target.pathname = `/${database}`;
  return target.toString();
}

describe('SQL Server executor and schema (MSSQL_URL)', () => {
  const database = `libfed_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  let admin: SqlExecutor | undefined;
  let db: SqlExecutor | undefined;

  /** The migrated test database; only reached by tests that run with MSSQL_URL. */
  const site = (): SqlExecutor => {
    if (!db) throw new Error('the test database was not opened');
    return db;
  };

  beforeAll(async () => {
    if (!url) return;
    admin = await openMssql(url);
    await admin.query(raw(`CREATE DATABASE [${database}]`));
    db = await openMssql(withDatabase(url, database));
    await migrate(db, 'Q1');
    await db.query(sql`INSERT INTO CHINHANH (MaCN, TenCN, DiaChi) VALUES (${'Q1'}, ${'Chi nhánh Quận 1'}, ${'12 Lê Lợi'})`);
  });

  afterAll(async () => {
    await db?.close();
    if (!admin) return;
    try {
      await admin.query(raw(`ALTER DATABASE [${database}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE`));
      await admin.query(raw(`DROP DATABASE [${database}]`));
    } finally {
      await admin.close();
    }
  });

  mssqlIt('records the migration in its ledger and does not run it twice', async () => {
    const ledger = await site().query<{ id: number; name: string; applied_at: Date }>(sql`SELECT id, name, applied_at FROM libfed_migrations ORDER BY id`);
    expect(ledger).toEqual(MIGRATIONS.map((m) => ({ id: m.id, name: m.name, applied_at: expect.any(Date) })));
    expect(await migrate(site(), 'Q1')).toEqual([]);
  });

  mssqlIt('stores and reads Vietnamese text, bound and as N\'\' literals', async () => {
    await site().query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES (${'Q1-1'}, ${'Nguyễn Thị Lan'}, ${'Q1'})`);
    await site().query(raw(`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES ('Q1-2', N'Nguyễn Thị Lan', 'Q1')`));
    const rows = await site().query<{ id: string; name: string }>(
      sql`SELECT MaDG AS id, HoTen AS name FROM DOCGIA WHERE HoTen = ${'Nguyễn Thị Lan'} ORDER BY MaDG ${site().dialect.binaryCollation}`,
    );
    expect(rows).toEqual([
      { id: 'Q1-1', name: 'Nguyễn Thị Lan' },
      { id: 'Q1-2', name: 'Nguyễn Thị Lan' },
    ]);
    const [branch] = await site().query<{ name: string }>(sql`SELECT TenCN AS name FROM CHINHANH WHERE MaCN = ${'Q1'}`);
    expect(branch.name).toBe('Chi nhánh Quận 1');
  });

  mssqlIt('contains() ignores case and diacritics and takes % literally', async () => {
    const d = site().dialect;
    await site().query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES (${'Q1-3'}, ${'Trần Văn 100%'}, ${'Q1'})`);
    const search = (needle: string) =>
      site().query<{ id: string }>(sql`SELECT MaDG AS id FROM DOCGIA WHERE ${d.contains(sql`HoTen`, needle)} ORDER BY MaDG ${d.binaryCollation}`);
    expect(await search('nguyen thi lan')).toEqual([{ id: 'Q1-1' }, { id: 'Q1-2' }]);
    expect(await search('TRẦN')).toEqual([{ id: 'Q1-3' }]);
    expect(await search('0%')).toEqual([{ id: 'Q1-3' }]);
    expect(await search('n%l')).toEqual([]);
  });

  mssqlIt('orders by code unit under binaryCollation, and limit() cuts after ORDER BY', async () => {
    const d = site().dialect;
    await site().query(sql`INSERT INTO SACH (ISBN, TenSach, TacGia) VALUES (${'B-1'}, ${'an'}, ${'x'}), (${'B-2'}, ${'Ân'}, ${'x'}), (${'B-3'}, ${'Zed'}, ${'x'})`);
    const titles = (n: number) =>
      site().query<{ title: string }>(sql`SELECT TenSach AS title FROM SACH WHERE ISBN LIKE 'B-%' ORDER BY TenSach ${d.binaryCollation}, ISBN ${d.binaryCollation} ${d.limit(n)}`);
    expect((await titles(10)).map((r) => r.title)).toEqual(['Zed', 'an', 'Ân']);
    expect((await titles(2)).map((r) => r.title)).toEqual(['Zed', 'an']);
    expect(await titles(0)).toEqual([]);
  });

  mssqlIt('keeps datetime2(3) instants in UTC to the millisecond, and identity ids as numbers', async () => {
    const borrowed = new Date('2024-03-05T23:59:58.123Z');
    const due = new Date('2024-03-19T23:59:58.123Z');
    await site().query(sql`INSERT INTO PHIEUMUON (MaDG, MaQuyenSach, MaCN, NgayMuon, NgayTra, HanTra)
      VALUES (${'Q1-1'}, ${'Q1-C1'}, ${'Q1'}, ${borrowed}, ${null}, ${due})`);
    const [loan] = await site().query<{ seq: number; borrowed_at: Date; returned_at: Date | null; due_at: Date }>(
      sql`SELECT MaPM AS seq, NgayMuon AS borrowed_at, NgayTra AS returned_at, HanTra AS due_at FROM PHIEUMUON WHERE MaDG = ${'Q1-1'}`,
    );
    expect(loan).toEqual({ seq: expect.any(Number), borrowed_at: borrowed, returned_at: null, due_at: due });
    const [count] = await site().query<{ n: number }>(sql`SELECT COUNT_BIG(*) AS n FROM PHIEUMUON`);
    expect(count.n).toBe(1);
  });

  mssqlIt('rolls a failed transaction back completely', async () => {
    const failure = site().transaction(async (tx) => {
      await tx.query(sql`INSERT INTO SACH (ISBN, TenSach, TacGia) VALUES (${'R-1'}, ${'Rollback'}, ${'x'})`);
      await tx.query(sql`INSERT INTO SACH (ISBN, TenSach, TacGia) VALUES (${'R-2'}, ${'Rollback'}, ${'x'})`);
      throw new Error('work failed');
    });
    await expect(failure).rejects.toThrow('work failed');
    expect(await site().query(sql`SELECT ISBN FROM SACH WHERE ISBN LIKE 'R-%'`)).toEqual([]);
    await site().transaction((tx) => tx.query(sql`INSERT INTO SACH (ISBN, TenSach, TacGia) VALUES (${'R-3'}, ${'Commit'}, ${'x'})`));
    expect(await site().query(sql`SELECT ISBN AS isbn FROM SACH WHERE ISBN LIKE 'R-%'`)).toEqual([{ isbn: 'R-3' }]);
  });

  mssqlIt('reports a duplicate primary key as a unique violation, and a CHECK failure as not one', async () => {
    const d = site().dialect;
    const insert = () => site().query(sql`INSERT INTO SACH (ISBN, TenSach, TacGia) VALUES (${'D-1'}, ${'Dup'}, ${'x'})`);
    await insert();
    const duplicate = await insert().then(() => undefined, (error: unknown) => error);
    expect(d.isUniqueViolation(duplicate)).toBe(true);
    // CK_QUYENSACH_TinhTrang admits only the two Vietnamese statuses.
    const badStatus = await site()
      .query(sql`INSERT INTO QUYENSACH (MaQuyenSach, ISBN, MaCN, TinhTrang) VALUES (${'Q1-C9'}, ${'D-1'}, ${'Q1'}, ${'Lost'})`)
      .then(() => undefined, (error: unknown) => error);
    expect(badStatus).toMatchObject({ number: 547 });
    expect(d.isUniqueViolation(badStatus)).toBe(false);
    await site().query(sql`INSERT INTO QUYENSACH (MaQuyenSach, ISBN, MaCN, TinhTrang) VALUES (${'Q1-C9'}, ${'D-1'}, ${'Q1'}, ${'Có sẵn'})`);
  });
});

import { randomUUID } from 'node:crypto';
import { mssql } from '../../dialect';
import type { SqlExecutor } from '../../executor';
import { raw, sql } from '../../fragment';
import { migrate, pendingMigrations } from '../../migrations';
import { openMssql } from '../../mssql';
import { migrationPlan } from '../plan';
import { recountOpenLoans } from '../recount';
import { applyPlan, renderScript } from '../script';
import { adoptedDump, createLegacyDatabase, dump, LEGACY_OFFSET_MINUTES, legacyData } from './legacy';

/**
 * libfed migrate against a real SQL Server, when MSSQL_URL names one (see
 * sql/__tests__/mssql-server.test.ts for a container to run); skipped otherwise. The
 * login must be allowed to create databases: the run makes two and drops them. The older
 * database takes the server's default collation (case-insensitive on a stock install).
 */
const url = process.env.MSSQL_URL;
const mssqlDescribe = url ? describe : describe.skip;

function withDatabase(serverUrl: string, database: string): string {
  const target = new URL(serverUrl);
  target.pathname = `/${database}`;
  return target.toString();
}

mssqlDescribe('libfed migrate over an older branch database (SQL Server, MSSQL_URL)', () => {
  const names = ['q1', 'q3'].map((s) => `libfed_adopt_${s}_${randomUUID().replace(/-/g, '').slice(0, 10)}`);
  const data = legacyData('Q1');
  let admin: SqlExecutor;
  let q1: SqlExecutor;
  let q3: SqlExecutor;

  beforeAll(async () => {
    admin = await openMssql(url!);
    for (const name of names) await admin.query(raw(`CREATE DATABASE [${name}]`));
    q1 = await openMssql(withDatabase(url!, names[0]), { requestTimeoutMs: 60_000 });
    q3 = await openMssql(withDatabase(url!, names[1]), { requestTimeoutMs: 60_000 });
    await createLegacyDatabase(q1, 'Q1', data);
    await migrate(q3, 'Q3');
    await q3.query(sql`INSERT INTO CHINHANH (MaCN, TenCN, DiaChi) VALUES ('Q3', N'Quận 3', N'Võ Văn Tần')`);
    await q3.query(sql`INSERT INTO PHIEUMUON (MaDG, MaQuyenSach, MaCN, NgayMuon, HanTra) VALUES ('DG00001', 'Q3-QS00001', 'Q3', ${new Date('2026-05-21T00:00:00Z')}, ${new Date('2026-06-04T00:00:00Z')})`);
  });

  afterAll(async () => {
    await q1?.close();
    await q3?.close();
    if (!admin) return;
    try {
      for (const name of names) {
        await admin.query(raw(`ALTER DATABASE [${name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE`));
        await admin.query(raw(`DROP DATABASE [${name}]`));
      }
    } finally {
      await admin.close();
    }
  });

  it('the printed script, run batch by batch as sqlcmd runs it, adopts the database with every row and time right', async () => {
    const script = renderScript(mssql, 'Q1', migrationPlan(mssql, 'Q1', { legacyOffsetMinutes: LEGACY_OFFSET_MINUTES }));
    for (const batch of script.split(/\nGO\n/).filter((b) => b.trim())) await q1.query(raw(batch));
    expect(await dump(q1)).toEqual(adoptedDump(data, 'Q1'));
    expect(await pendingMigrations(q1)).toEqual([]);
    const [pk] = await q1.query<{ name: string }>(sql`SELECT name FROM sys.key_constraints WHERE parent_object_id = OBJECT_ID(N'DOCGIA') AND type = 'PK'`);
    expect(pk.name).toBe('PK_DOCGIA');
  });

  it('a second run finds nothing due and changes nothing', async () => {
    const before = await dump(q1);
    expect(await applyPlan(q1, migrationPlan(mssql, 'Q1', { legacyOffsetMinutes: LEGACY_OFFSET_MINUTES }))).toEqual([]);
    expect(await dump(q1)).toEqual(before);
  });

  it('keeps the CHECK constraints and fits birth-site prefixed reader ids', async () => {
    await expect(q1.query(sql`INSERT INTO QUYENSACH (MaQuyenSach, ISBN, MaCN, TinhTrang) VALUES ('QS999999', ${data.books[0].isbn}, 'Q1', N'Mất')`)).rejects.toMatchObject({ number: 547 });
    await expect(q1.query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES ('Q3-DG0001', N'Lê Văn Tám', 'Q3')`)).rejects.toMatchObject({ number: 547 });
    await q1.query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES ('Q1-DG000001', N'Lê Văn Tám', 'Q1')`);
    await q1.query(sql`DELETE FROM DOCGIA WHERE MaDG = 'Q1-DG000001'`);
  });

  it("--recount sets each reader's counter from every site's open loans, once", async () => {
    const sites = [
      { id: 'Q1', db: q1 },
      { id: 'Q3', db: q3 },
    ];
    expect(await recountOpenLoans(sites)).toEqual([
      { site: 'Q1', readerId: 'DG00001', from: 0, to: 3 },
      { site: 'Q1', readerId: 'DG00002', from: 0, to: 1 },
    ]);
    expect(await recountOpenLoans(sites)).toEqual([]);
  });

  it("a loan's borrow-time tie is found by the cursor's equality step (datetime2 now, no 1/300 s ticks)", async () => {
    const [tie] = await q1.query<{ at: Date; n: number }>(sql`SELECT TOP 1 NgayMuon AS at, COUNT(*) AS n FROM PHIEUMUON GROUP BY NgayMuon HAVING COUNT(*) > 1 ORDER BY NgayMuon`);
    const [found] = await q1.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM PHIEUMUON WHERE NgayMuon = ${tie.at}`);
    expect(found.n).toBe(tie.n);
  });
});

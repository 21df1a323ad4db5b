import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { loadSites } from '../../../schema';
import type { SqlExecutor } from '../../executor';
import { raw, sql } from '../../fragment';
import { LegacyDatabase, migrate, pendingMigrations } from '../../migrations';
import { migrationPlan } from '../plan';
import { recountOpenLoans } from '../recount';
import { applyPlan } from '../script';
import { adoptedDump, createLegacyDatabase, dump, LEGACY_OFFSET_MINUTES, legacyData } from './legacy';
import { emptyDatabase, pgDescribe } from '../../__tests__/databases';

pgDescribe('libfed migrate over an older branch database (PostgreSQL)', () => {
  const data = legacyData('Q1');
  let q1: Awaited<ReturnType<typeof emptyDatabase>>;
  let q3: Awaited<ReturnType<typeof emptyDatabase>>;
  const plan = (db: SqlExecutor) => migrationPlan(db.dialect, 'Q1', { legacyOffsetMinutes: LEGACY_OFFSET_MINUTES });
  let firstRun: string[];

  beforeAll(async () => {
    q1 = await emptyDatabase('adopt');
    q3 = await emptyDatabase('adopt');
    await createLegacyDatabase(q1.db, 'Q1', data);
    // Another site, new under LibFed, where a Q1 reader also has an open loan.
    await migrate(q3.db, 'Q3');
    await q3.db.query(sql`INSERT INTO CHINHANH (MaCN, TenCN, DiaChi) VALUES ('Q3', 'Quận 3', 'Võ Văn Tần')`);
    await q3.db.query(
      sql`INSERT INTO PHIEUMUON (MaDG, MaQuyenSach, MaCN, NgayMuon, HanTra) VALUES ('DG00001', 'Q3-QS00001', 'Q3', ${new Date('2026-05-21T00:00:00Z')}, ${new Date('2026-06-04T00:00:00Z')})`,
    );
  });

  afterAll(async () => {
    await q1?.drop();
    await q3?.drop();
  });

  it('a site does not start on it: migrate() stops before any change and names the commands to run', async () => {
    await expect(migrate(q1.db, 'Q1')).rejects.toThrow(LegacyDatabase);
    await expect(migrate(q1.db, 'Q1')).rejects.toThrow(/libfed migrate --site Q1 --print/);
  });

  it('refuses to guess the zone of the old datetimes: without legacyTimeZone the run stops at that step, and a run with it picks up there', async () => {
    const scratch = await emptyDatabase('adopt');
    try {
      await createLegacyDatabase(scratch.db, 'Q1', legacyData('Q1'));
      await expect(applyPlan(scratch.db, migrationPlan(scratch.db.dialect, 'Q1'))).rejects.toThrow(/set legacyTimeZone for site Q1/);
      const [row] = await scratch.db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM PHIEUMUON`);
      expect(Number(row.n)).toBe(data.loans.length);
      const resumed = await applyPlan(scratch.db, plan(scratch.db));
      expect(resumed[0]).toMatch(/^PHIEUMUON\.NgayMuon: zoneless local times to UTC instants/);
      expect(await dump(scratch.db)).toEqual(adoptedDump(data, 'Q1'));
    } finally {
      await scratch.drop();
    }
  });

  it('keeps every row with its values; times become the UTC instants they meant; what LibFed adds is filled', async () => {
    firstRun = await applyPlan(q1.db, plan(q1.db));
    expect(firstRun.length).toBeGreaterThan(10);
    expect(await dump(q1.db)).toEqual(adoptedDump(data, 'Q1'));
    expect(await pendingMigrations(q1.db)).toEqual([]);
  });

  it('keeps the CHECK constraints: a status outside the two and a row of another branch are still refused', async () => {
    await expect(q1.db.query(sql`INSERT INTO QUYENSACH (MaQuyenSach, ISBN, MaCN, TinhTrang) VALUES ('QS999999', ${data.books[0].isbn}, 'Q1', 'Mất')`)).rejects.toThrow();
    await expect(q1.db.query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES ('Q3-DG0001', 'Lê Văn Tám', 'Q3')`)).rejects.toThrow();
    // A reader id with its birth site now fits (varchar(10) held 10 characters).
    await q1.db.query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES ('Q1-DG000001', 'Lê Văn Tám', 'Q1')`);
    await q1.db.query(sql`DELETE FROM DOCGIA WHERE MaDG = 'Q1-DG000001'`);
    // Loans no longer need their reader or copy here: a reader of another site borrows at Q1.
    await q1.db.query(sql`INSERT INTO PHIEUMUON (MaDG, MaQuyenSach, MaCN, NgayMuon, HanTra) VALUES ('Q3-DG0001', 'Q3-QS00001', 'Q1', ${new Date()}, ${new Date()})`);
    await q1.db.query(sql`DELETE FROM PHIEUMUON WHERE MaDG = 'Q3-DG0001'`);
  });

  it("ends with the columns (types, lengths, nullability, collations, defaults) and indexes of a database LibFed created", async () => {
    const created = await emptyDatabase('adopt');
    try {
      await migrate(created.db, 'Q1');
      const columns = (db: SqlExecutor) =>
        db.query<{ column_default: string | null }>(raw(`SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default, collation_name
          FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, column_name`));
      const indexes = (db: SqlExecutor) => db.query(raw(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%pkey' ORDER BY indexname`));
      // The older MaPM numbers its rows from a sequence, LibFed's from an identity: both number each new slip.
      const serialAsIdentity = (rows: { column_default: string | null }[]) => rows.map((r) => ({ ...r, column_default: r.column_default?.startsWith('nextval(') ? null : r.column_default }));
      expect(serialAsIdentity(await columns(q1.db))).toEqual(await columns(created.db));
      expect(await indexes(q1.db)).toEqual(await indexes(created.db));
    } finally {
      await created.drop();
    }
  });

  it('a second run finds nothing due and changes nothing', async () => {
    const before = await dump(q1.db);
    expect(await applyPlan(q1.db, plan(q1.db))).toEqual([]);
    expect(await dump(q1.db)).toEqual(before);
  });

  it("--recount sets each reader's counter from every site's open loans, once", async () => {
    const sites = [
      { id: 'Q1', db: q1.db },
      { id: 'Q3', db: q3.db },
    ];
    expect(await recountOpenLoans(sites)).toEqual([
      { site: 'Q1', readerId: 'DG00001', from: 0, to: 3 },
      { site: 'Q1', readerId: 'DG00002', from: 0, to: 1 },
    ]);
    expect(await recountOpenLoans(sites)).toEqual([]);
  });

  it('a new database gets the same schema from the plan as from migrate(), and a second plan run is a no-op', async () => {
    const fresh = await emptyDatabase('adopt');
    const migrated = await emptyDatabase('adopt');
    const columns = (db: SqlExecutor) =>
      db.query(raw(`SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default, collation_name
        FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, column_name`));
    const indexes = (db: SqlExecutor) => db.query(raw(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%pkey' ORDER BY indexname`));
    try {
      await migrate(migrated.db, 'Q1');
      const ran = await applyPlan(fresh.db, migrationPlan(fresh.db.dialect, 'Q1'));
      // Nothing of the adoption is due on a database LibFed creates.
      expect(ran.filter((note) => !/^(migration \d+:|ledger:|the migration ledger)/.test(note))).toEqual([]);
      expect(await pendingMigrations(fresh.db)).toEqual([]);
      expect(await migrate(fresh.db, 'Q1')).toEqual([]);
      expect(await applyPlan(fresh.db, migrationPlan(fresh.db.dialect, 'Q1'))).toEqual([]);
      expect(await columns(fresh.db)).toEqual(await columns(migrated.db));
      expect(await indexes(fresh.db)).toEqual(await indexes(migrated.db));
    } finally {
      await fresh.drop();
      await migrated.drop();
    }
  });
});

pgDescribe('the libfed migrate command over an older PostgreSQL database', () => {
  it('applies the steps, then finds nothing to do; recounts, then finds every counter right', async () => {
    const site = await emptyDatabase('adopt');
    const dir = mkdtempSync(join(tmpdir(), 'libfed-migrate-'));
    try {
      await createLegacyDatabase(site.db, 'Q1', legacyData('Q1'));
      const configFile = join(dir, 'sites.yaml');
      const config = loadSites(join(__dirname, '..', '..', '..', 'schema', 'sites.yaml'));
      const q1 = { ...config.sites[0], database: site.url, legacyTimeZone: '+07:00' };
      writeFileSync(configFile, stringify({ ...config, sites: [q1] }));
      const run = async (...args: string[]) => (await promisify(execFile)(process.execPath, [join(__dirname, '..', '..', '..', 'bin', 'libfed.js'), 'migrate', ...args, '--config', configFile])).stdout;
      expect(await run('--site', 'Q1')).toMatch(/^Q1: \d+ step\(s\) applied:\n {2}the migration ledger\n/);
      expect(await run('--site', 'Q1')).toBe('Q1: nothing to do, the database is up to date\n');
      expect(await run('--recount')).toBe('2 reader(s) recounted:\n  Q1 DG00001: 0 -> 2\n  Q1 DG00002: 0 -> 1\n');
      expect(await run('--recount')).toBe("every reader's open-loan counter already matches the open loans\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await site.drop();
    }
    // Four processes, each loading the TypeScript through tsx.
  }, 180_000);
});

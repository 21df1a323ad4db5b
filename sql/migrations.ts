import type { Dialect } from './dialect';
import type { SqlExecutor } from './executor';
import { raw, sql, type Sql } from './fragment';

/**
 * Site schema. The seed tables keep the names and columns users already have
 * (docs/ARCHITECTURE.md §1) so LibFed can sit on an existing site database; LibFed only ADDS
 * columns and tables. Each site's CHECK constraints enforce its fragment predicate. Defaults
 * are named (`DF_<table>_<column>`): SQL Server would otherwise name each one at random per
 * database, and a DBA's script to drop or change one could not be written once for every site.
 */
export interface Migration {
  id: number;
  name: string;
  up(d: Dialect, siteId: string): Sql[];
}

/** Copy statuses as stored by the course databases. */
export const COPY_STATUS = { AVAILABLE: 'Có sẵn', ON_LOAN: 'Đang được mượn' } as const;

/** A site id inlined as a literal; sites.ts restricts ids to [A-Z0-9]. */
function siteLiteral(siteId: string): Sql {
  if (!/^[A-Z][A-Z0-9]*$/.test(siteId)) throw new Error(`site id "${siteId}" is not a safe literal`);
  return raw(`'${siteId}'`);
}

export const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'seed tables with fragment predicates',
    up: (d, siteId) => {
      const t = d.types;
      const site = siteLiteral(siteId);
      const n = (s: string) => raw(d.name === 'mssql' ? `N'${s}'` : `'${s}'`);
      return [
        sql`CREATE TABLE CHINHANH (
          MaCN ${t.varchar(10)} NOT NULL PRIMARY KEY,
          TenCN ${t.nvarchar(255)} NOT NULL,
          DiaChi ${t.nvarchar(255)} NOT NULL,
          version ${t.int} NOT NULL CONSTRAINT DF_CHINHANH_version DEFAULT 1)`,
        sql`CREATE TABLE SACH (
          ISBN ${t.varchar(20)} NOT NULL PRIMARY KEY,
          TenSach ${t.nvarchar(255)} NOT NULL,
          TacGia ${t.nvarchar(255)} NOT NULL,
          version ${t.int} NOT NULL CONSTRAINT DF_SACH_version DEFAULT 1)`,
        sql`CREATE TABLE QUYENSACH (
          MaQuyenSach ${t.varchar(20)} NOT NULL PRIMARY KEY,
          ISBN ${t.varchar(20)} NOT NULL REFERENCES SACH (ISBN),
          MaCN ${t.varchar(10)} NOT NULL REFERENCES CHINHANH (MaCN),
          TinhTrang ${t.nvarchar(50)} NOT NULL,
          version ${t.int} NOT NULL CONSTRAINT DF_QUYENSACH_version DEFAULT 1,
          CONSTRAINT CK_QUYENSACH_TinhTrang CHECK (TinhTrang IN (${n(COPY_STATUS.AVAILABLE)}, ${n(COPY_STATUS.ON_LOAN)})),
          CONSTRAINT CK_QUYENSACH_site CHECK (MaCN = ${site}))`,
        sql`CREATE INDEX IX_QUYENSACH_ISBN ON QUYENSACH (ISBN)`,
        // MaDG is widened from varchar(10) to fit birth-site prefixed ids.
        sql`CREATE TABLE DOCGIA (
          MaDG ${t.varchar(20)} NOT NULL PRIMARY KEY,
          HoTen ${t.nvarchar(255)} ${d.binaryCollation} NOT NULL,
          MaCN_DangKy ${t.varchar(10)} NOT NULL REFERENCES CHINHANH (MaCN),
          version ${t.int} NOT NULL CONSTRAINT DF_DOCGIA_version DEFAULT 1,
          CONSTRAINT CK_DOCGIA_site CHECK (MaCN_DangKy = ${site}))`,
        // Binary collation on the column (an index column cannot carry one in T-SQL):
        // readers are listed in code-point order, the order the gateway merges in.
        sql`CREATE INDEX IX_DOCGIA_HoTen ON DOCGIA (HoTen, MaDG)`,
        // MaDG and MaQuyenSach carry no foreign key: the reader may live at another
        // site and the copy may have moved since; the gateway enforces them.
        sql`CREATE TABLE PHIEUMUON (
          MaPM ${t.identity} NOT NULL PRIMARY KEY,
          MaDG ${t.varchar(20)} NOT NULL,
          MaQuyenSach ${t.varchar(20)} NOT NULL,
          MaCN ${t.varchar(10)} NOT NULL REFERENCES CHINHANH (MaCN),
          -- LibFed additions: the copy's title (a copy never changes title, so
          -- reports need not find a copy that has since moved) and the due date.
          ISBN ${t.varchar(20)} NULL,
          NgayMuon ${t.timestamp} NOT NULL,
          NgayTra ${t.timestamp} NULL,
          HanTra ${t.timestamp} NOT NULL,
          version ${t.int} NOT NULL CONSTRAINT DF_PHIEUMUON_version DEFAULT 1,
          CONSTRAINT CK_PHIEUMUON_site CHECK (MaCN = ${site}))`,
        sql`CREATE INDEX IX_PHIEUMUON_NgayMuon ON PHIEUMUON (NgayMuon DESC, MaPM DESC)`,
        sql`CREATE INDEX IX_PHIEUMUON_MaDG ON PHIEUMUON (MaDG)`,
        sql`CREATE INDEX IX_PHIEUMUON_MaQuyenSach ON PHIEUMUON (MaQuyenSach)`,
        // docs/ARCHITECTURE.md §3 rule 4: the birth site remembers where its entities live now.
        sql`CREATE TABLE libfed_location (
          entity ${t.varchar(20)} NOT NULL,
          id ${t.varchar(40)} NOT NULL,
          site ${t.varchar(10)} NOT NULL,
          PRIMARY KEY (entity, id))`,
      ];
    },
  },
  {
    id: 2,
    name: 'two-phase commit: locks, participant log, decisions, barrier; reader open-loan count',
    up: (d) => {
      const t = d.types;
      return [
        // docs/ARCHITECTURE.md §4: a reader's open loans across every branch, kept at the reader's home
        // site so the loan limit is checked there inside the borrowing transaction.
        sql`ALTER TABLE DOCGIA ADD SoMuonDangMo ${t.int} NOT NULL CONSTRAINT DF_DOCGIA_SoMuonDangMo DEFAULT 0`,
        // A row (or a row about to be inserted) held by a transaction: `resource` names
        // table and key. Committed data stays untouched until phase 2.
        sql`CREATE TABLE libfed_lock (
          resource ${t.varchar(80)} NOT NULL PRIMARY KEY,
          gid ${t.varchar(64)} NOT NULL,
          created_at ${t.timestamp} NOT NULL)`,
        // The participant's durable vote: the redo of its operations, until phase 2.
        sql`CREATE TABLE libfed_tx (
          gid ${t.varchar(64)} NOT NULL PRIMARY KEY,
          state ${t.varchar(12)} NOT NULL,
          commit_site ${t.varchar(10)} NOT NULL,
          redo ${t.text} NOT NULL,
          lines ${t.text} NOT NULL,
          deadline ${t.timestamp} NOT NULL,
          created_at ${t.timestamp} NOT NULL,
          updated_at ${t.timestamp} NOT NULL)`,
        // At the commit-point site: the global decision. Presumed abort: no row, no commit.
        sql`CREATE TABLE libfed_decision (
          gid ${t.varchar(64)} NOT NULL PRIMARY KEY,
          outcome ${t.varchar(10)} NOT NULL,
          decided_at ${t.timestamp} NOT NULL)`,
        // dtm's barrier: each phase of a gid runs at most once at a site, in any order.
        sql`CREATE TABLE libfed_barrier (
          gid ${t.varchar(64)} NOT NULL,
          op ${t.varchar(10)} NOT NULL,
          PRIMARY KEY (gid, op))`,
        // docs/ARCHITECTURE.md §5: the entity-cache lines each commit made stale, kept until a gateway
        // has invalidated them — so a write whose coordinator died still reaches every cache.
        sql`CREATE TABLE libfed_dirty (
          gid ${t.varchar(64)} NOT NULL,
          line ${t.varchar(120)} NOT NULL,
          PRIMARY KEY (gid, line))`,
        sql`CREATE TABLE libfed_sequence (
          name ${t.varchar(20)} NOT NULL PRIMARY KEY,
          value ${t.int} NOT NULL)`,
      ];
    },
  },
  {
    id: 3,
    name: 'decisions record the idempotency key and the entity a commit produced',
    up: (d) => {
      const t = d.types;
      return [
        // A retry with the same key answers the first outcome (docs/ARCHITECTURE.md §4): the key is
        // recorded with the decision, in the commit-point site's deciding transaction.
        sql`ALTER TABLE libfed_decision ADD idem_key ${t.nvarchar(100)} NULL`,
        // What the request was (mutation and arguments, hashed): a key reused for another request is refused.
        sql`ALTER TABLE libfed_decision ADD fingerprint ${t.varchar(64)} NULL`,
        sql`ALTER TABLE libfed_decision ADD entity_type ${t.varchar(20)} NULL`,
        sql`ALTER TABLE libfed_decision ADD entity_id ${t.varchar(64)} NULL`,
        // Filtered: presumed-abort decisions carry no key (SQL Server's UNIQUE counts NULLs as equal).
        sql`CREATE UNIQUE INDEX UX_libfed_decision_key ON libfed_decision (idem_key) WHERE idem_key IS NOT NULL`,
      ];
    },
  },
  {
    id: 4,
    name: 'staff accounts (replicated) and the audit trail (per site)',
    up: (d) => {
      const t = d.types;
      return [
        // Librarians (THUTHU, one branch) and managers (QUANLY): written on every site by the
        // same write-all two-phase commit as the catalogue. Only scrypt hashes are kept.
        sql`CREATE TABLE libfed_staff (
          username ${t.nvarchar(64)} NOT NULL PRIMARY KEY,
          password_hash ${t.varchar(200)} NOT NULL,
          role ${t.varchar(10)} NOT NULL CHECK (role IN ('THUTHU', 'QUANLY')),
          branch_id ${t.varchar(8)} NULL,
          disabled ${t.int} NOT NULL CONSTRAINT DF_libfed_staff_disabled DEFAULT 0,
          version ${t.int} NOT NULL CONSTRAINT DF_libfed_staff_version DEFAULT 1,
          CHECK ((role = 'THUTHU' AND branch_id IS NOT NULL) OR (role = 'QUANLY' AND branch_id IS NULL)))`,
        // Every mutation, allowed or refused, kept at the site that decided it (or, when nothing
        // was decided, the branch it was aimed at): an allowed one in the transaction of its effect.
        sql`CREATE TABLE libfed_audit (
          id ${t.varchar(40)} NOT NULL PRIMARY KEY,
          at ${t.timestamp} NOT NULL,
          username ${t.nvarchar(64)} NULL,
          role ${t.varchar(10)} NOT NULL,
          operation ${t.varchar(40)} NOT NULL,
          arguments ${t.text} NOT NULL,
          branches ${t.varchar(200)} NOT NULL,
          gid ${t.varchar(64)} NULL,
          outcome ${t.varchar(20)} NOT NULL,
          code ${t.varchar(40)} NULL)`,
        sql`CREATE INDEX IX_libfed_audit_at ON libfed_audit (at, id)`,
      ];
    },
  },
  {
    id: 5,
    name: 'lock rows indexed by transaction',
    // Every phase 2, commit point and abort deletes a gid's lock rows (`DELETE ... WHERE gid`).
    // Without an index that is a scan, and on SQL Server a scan takes update locks on every
    // row it reads, waiting on other transactions' lock rows: two concurrent borrows at one
    // site could deadlock on the scan itself. With the index the delete seeks its own rows.
    up: () => [sql`CREATE INDEX IX_libfed_lock_gid ON libfed_lock (gid)`],
  },
];

/** `table` is one of LibFed's own names, inlined as a literal. */
async function tableExists(db: SqlExecutor, table: 'libfed_migrations' | 'CHINHANH'): Promise<boolean> {
  const exists =
    db.dialect.name === 'mssql'
      ? sql`SELECT CASE WHEN OBJECT_ID(${raw(`'${table}'`)}, 'U') IS NULL THEN 0 ELSE 1 END AS present`
      : sql`SELECT CASE WHEN to_regclass(${raw(`'${table.toLowerCase()}'`)}) IS NULL THEN 0 ELSE 1 END AS present`;
  const [row] = await db.query<{ present: number }>(exists);
  return Number(row.present) === 1;
}

/**
 * A database the older application made: its tables and no ledger. Migration 1 would stop on
 * its first CREATE TABLE; adopting it is `libfed migrate` (sql/adopt), a script a DBA reviews.
 */
export class LegacyDatabase extends Error {
  override name = 'LegacyDatabase';
  constructor(siteId: string) {
    super(
      `site ${siteId}: the database holds the tables of an older application and no LibFed migration ledger; ` +
        `review the script \`libfed migrate --site ${siteId} --print\`, run \`libfed migrate --site ${siteId}\` (and \`libfed migrate --recount\` once every site is migrated), then start again`,
    );
  }
}

async function ensureLedger(db: SqlExecutor, siteId: string): Promise<void> {
  if (await tableExists(db, 'libfed_migrations')) return;
  if (await tableExists(db, 'CHINHANH')) throw new LegacyDatabase(siteId);
  await db.query(ledgerTable(db.dialect));
}

/** The ledger: one row per migration applied, written in the migration's own transaction. */
export function ledgerTable(d: Dialect): Sql {
  return sql`CREATE TABLE libfed_migrations (
    id ${d.types.int} NOT NULL PRIMARY KEY,
    name ${d.types.nvarchar(200)} NOT NULL,
    applied_at ${d.types.timestamp} NOT NULL)`;
}

/**
 * Applies the migrations this database has not seen yet, each in its own
 * transaction together with its ledger row, so a crash leaves no half-applied step.
 * Running it again is a no-op. Returns the ids it applied.
 */
/** The migrations this database still lacks (none when it is ready to serve); throws when it cannot be read. */
export async function pendingMigrations(db: SqlExecutor, migrations = MIGRATIONS): Promise<number[]> {
  const done = new Set((await db.query<{ id: number }>(sql`SELECT id FROM libfed_migrations`)).map((r) => Number(r.id)));
  return migrations.filter((m) => !done.has(m.id)).map((m) => m.id);
}

export async function migrate(db: SqlExecutor, siteId: string, migrations = MIGRATIONS): Promise<number[]> {
  await ensureLedger(db, siteId);
  const done = new Set(
    (await db.query<{ id: number }>(sql`SELECT id FROM libfed_migrations`)).map((r) => Number(r.id)),
  );
  const applied: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.id)) continue;
    await db.transaction(async (tx) => {
      for (const statement of migration.up(tx.dialect, siteId)) await tx.query(statement);
      await tx.query(sql`INSERT INTO libfed_migrations (id, name, applied_at) VALUES (${migration.id}, ${migration.name}, ${new Date()})`);
    });
    applied.push(migration.id);
  }
  return applied;
}

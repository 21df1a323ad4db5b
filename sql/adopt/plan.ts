import type { Dialect } from '../dialect';
import { COPY_STATUS, ledgerTable, MIGRATIONS, type Migration } from '../migrations';
import type { Sql } from '../fragment';
import { mssqlCatalog, postgresCatalog, type Catalog } from './catalog';

/**
 * `libfed migrate`'s plan: every step that takes a site database, new or left by the older
 * application, to the schema of the newest migration. Each step carries the catalog check
 * under which it is still due, so the whole plan can run on any database any number of
 * times: a second run finds nothing due and changes nothing.
 *
 * The order: the ledger; migration 1's tables (on an older database only libfed_location
 * is new); the adoption of the older tables (below); migration 1's indexes, which must come
 * after the columns they cover are widened or converted; then every migration's statements,
 * each followed by its ledger row.
 */
export interface Step {
  /** What the step does, shown in the script and in the run's report. */
  note: string;
  /** SQL condition under which the step is still due. */
  due: string;
  /** Statements run in order when due; more than one run as one transaction. */
  body: string[];
}

export interface PlanOptions {
  /** Minutes east of UTC the older application's zoneless datetimes were written in (sites.yaml legacyTimeZone). */
  legacyOffsetMinutes?: number;
  /** Days a loan the older application opened is due after (it kept no due date). */
  loanDays?: number;
}

/** The gateway's loan period (gateway/server.ts `loanDays`). */
export const DEFAULT_LOAN_DAYS = 14;

/** `+07:00` as 420 minutes east of UTC. */
export function offsetMinutes(legacyTimeZone: string): number {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(legacyTimeZone);
  if (!m) throw new Error(`legacyTimeZone must be a UTC offset such as "+07:00", got ${JSON.stringify(legacyTimeZone)}`);
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

export function catalogOf(d: Dialect): Catalog {
  return d.name === 'mssql' ? mssqlCatalog : postgresCatalog;
}

/** A statement of a migration as plain text: migrations inline everything, so a script needs no parameters. */
function text(d: Dialect, statement: Sql): string {
  const rendered = d.render(statement);
  if (rendered.values.length) throw new Error(`a migration statement binds values, so it cannot be printed as a script: ${rendered.text}`);
  return dedent(rendered.text);
}

/** A statement's continuation lines moved left by their common indent (the source's, not the script's). */
function dedent(statement: string): string {
  const [first, ...rest] = statement.trim().split('\n');
  const indent = Math.min(...rest.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return [first, ...rest.map((l) => `  ${l.slice(Number.isFinite(indent) ? indent : 0)}`)].join('\n');
}

/** The guard of a migration's statement, read from what it creates; a statement of another kind has none and is refused. */
function guardOf(c: Catalog, statement: string): string {
  const table = /^\s*CREATE\s+TABLE\s+(\w+)/i.exec(statement);
  if (table) return c.tableMissing(table[1]);
  const index = /^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(\w+)\s+ON\s+(\w+)/i.exec(statement);
  if (index) return c.indexMissing(index[2], index[1]);
  const column = /^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+(?:COLUMN\s+)?(\w+)/i.exec(statement);
  if (column) return c.columnMissing(column[1], column[2]);
  throw new Error(`no catalog check guards this migration statement; give it one in sql/adopt/plan.ts: ${statement.slice(0, 120)}`);
}

function migrationSteps(d: Dialect, siteId: string, migration: Migration, only: (statement: string) => boolean): Step[] {
  const c = catalogOf(d);
  return migration
    .up(d, siteId)
    .map((s) => text(d, s))
    .filter(only)
    .map((statement) => ({ note: `migration ${migration.id}: ${firstLine(statement)}`, due: guardOf(c, statement), body: [statement] }));
}

function ledgerRow(d: Dialect, migration: Migration): Step {
  const c = catalogOf(d);
  const now = d.name === 'mssql' ? 'SYSUTCDATETIME()' : 'now()';
  return {
    note: `ledger: migration ${migration.id} applied`,
    due: c.ledgerRowMissing(migration.id),
    body: [`INSERT INTO libfed_migrations (id, name, applied_at) VALUES (${migration.id}, ${c.literal(migration.name)}, ${now})`],
  };
}

function firstLine(statement: string): string {
  return statement.trim().split('\n')[0].replace(/\s*\($/, '');
}

const isCreateTable = (statement: string) => /^\s*CREATE\s+TABLE\b/i.test(statement);

export function migrationPlan(d: Dialect, siteId: string, options: PlanOptions = {}, migrations: Migration[] = MIGRATIONS): Step[] {
  const c = catalogOf(d);
  const [first, ...rest] = migrations;
  if (first?.id !== 1) throw new Error('the plan starts from migration 1, which creates the tables the older application had');
  return [
    { note: 'the migration ledger', due: c.tableMissing('libfed_migrations'), body: [text(d, ledgerTable(d))] },
    ...migrationSteps(d, siteId, first, isCreateTable),
    ...adoptionSteps(d, siteId, options),
    ...migrationSteps(d, siteId, first, (s) => !isCreateTable(s)),
    ledgerRow(d, first),
    ...rest.flatMap((m) => [...migrationSteps(d, siteId, m, () => true), ledgerRow(d, m)]),
  ];
}

const VERSIONED = ['CHINHANH', 'SACH', 'QUYENSACH', 'DOCGIA', 'PHIEUMUON'];

/**
 * What takes the older application's tables to migration 1's shape, keeping every row, its
 * CHECK constraints and its Vietnamese statuses. On a database migration 1 created, each is
 * already done and so not due.
 */
export function adoptionSteps(d: Dialect, siteId: string, options: PlanOptions): Step[] {
  const c = catalogOf(d);
  const ms = d.name === 'mssql';
  const loanDays = options.loanDays ?? DEFAULT_LOAN_DAYS;
  return [
    ...VERSIONED.map((table) => ({
      note: `${table}.version: LibFed's row version, 1 for every row already there`,
      due: c.columnMissing(table, 'version'),
      body: [ms ? `ALTER TABLE ${table} ADD version int NOT NULL CONSTRAINT DF_${table}_version DEFAULT 1` : `ALTER TABLE ${table} ADD COLUMN version integer NOT NULL DEFAULT 1`],
    })),
    {
      // A loan's reader may live at another site and its copy may move on (docs/ARCHITECTURE.md §3):
      // LibFed keeps no foreign key from PHIEUMUON to DOCGIA or QUYENSACH. Its key to CHINHANH stays.
      note: 'PHIEUMUON: drop the foreign keys to DOCGIA and QUYENSACH (readers and copies of other sites borrow here)',
      due: c.foreignKeysTo('PHIEUMUON', ['DOCGIA', 'QUYENSACH']),
      body: ms
        ? [
            `DECLARE @drop nvarchar(max) = N''`,
            `SELECT @drop = @drop + N'ALTER TABLE PHIEUMUON DROP CONSTRAINT ' + QUOTENAME(name) + N'; ' FROM sys.foreign_keys WHERE parent_object_id = OBJECT_ID(N'PHIEUMUON') AND referenced_object_id IN (OBJECT_ID(N'DOCGIA'), OBJECT_ID(N'QUYENSACH'))`,
            `EXEC sp_executesql @drop`,
          ]
        : [
            `EXECUTE (SELECT 'ALTER TABLE phieumuon ' || string_agg(format('DROP CONSTRAINT %I', conname), ', ') FROM pg_constraint WHERE contype = 'f' AND conrelid = to_regclass('phieumuon') AND confrelid IN (to_regclass('docgia'), to_regclass('quyensach')))`,
          ],
    },
    {
      // Reader ids carry their birth site (Q1-DG0001): varchar(10) truncates them (Msg 2628).
      // SQL Server widens no column under a key (Msg 5074): the primary key is dropped, the
      // column widened and the key made again, under a name of its own.
      note: 'DOCGIA.MaDG: widen to varchar(20) for birth-site prefixed reader ids',
      due: c.columnShorterThan('DOCGIA', 'MaDG', 20),
      body: ms
        ? [
            `IF EXISTS (SELECT 1 FROM sys.foreign_keys WHERE referenced_object_id = OBJECT_ID(N'DOCGIA')) THROW 50002, N'a foreign key still references DOCGIA: drop it before widening DOCGIA.MaDG (sys.foreign_keys names it), then run again', 1`,
            `DECLARE @pk sysname = (SELECT name FROM sys.key_constraints WHERE parent_object_id = OBJECT_ID(N'DOCGIA') AND type = 'PK')`,
            `DECLARE @dropPk nvarchar(400) = N'ALTER TABLE DOCGIA DROP CONSTRAINT ' + QUOTENAME(@pk)`,
            `IF @pk IS NOT NULL EXEC sp_executesql @dropPk`,
            `ALTER TABLE DOCGIA ALTER COLUMN MaDG varchar(20) NOT NULL`,
            `ALTER TABLE DOCGIA ADD CONSTRAINT PK_DOCGIA PRIMARY KEY (MaDG)`,
          ]
        : [`ALTER TABLE docgia ALTER COLUMN MaDG TYPE varchar(20)`],
    },
    {
      note: 'PHIEUMUON.MaDG: widen to varchar(20), as DOCGIA.MaDG',
      due: c.columnShorterThan('PHIEUMUON', 'MaDG', 20),
      body: [ms ? `ALTER TABLE PHIEUMUON ALTER COLUMN MaDG varchar(20) NOT NULL` : `ALTER TABLE phieumuon ALTER COLUMN MaDG TYPE varchar(20)`],
    },
    {
      // Readers are listed in code-point order, the order the gateway merges every site's page in.
      note: 'DOCGIA.HoTen: binary collation, so every site sorts names as the gateway compares them',
      due: c.columnNotBinary('DOCGIA', 'HoTen'),
      body: [ms ? `ALTER TABLE DOCGIA ALTER COLUMN HoTen nvarchar(255) COLLATE Latin1_General_100_BIN2 NOT NULL` : `ALTER TABLE docgia ALTER COLUMN HoTen TYPE varchar(255) COLLATE "C"`],
    },
    zonelessToUtc(d, siteId, 'NgayMuon', false, options.legacyOffsetMinutes),
    zonelessToUtc(d, siteId, 'NgayTra', true, options.legacyOffsetMinutes),
    canonicalStatuses(d),
    {
      note: 'PHIEUMUON.ISBN: the title of each loan, kept with it (a copy may later move to another site)',
      due: c.columnMissing('PHIEUMUON', 'ISBN'),
      body: [ms ? `ALTER TABLE PHIEUMUON ADD ISBN varchar(20) NULL` : `ALTER TABLE phieumuon ADD COLUMN ISBN varchar(20) NULL`],
    },
    {
      note: "PHIEUMUON.ISBN: filled from each loan's copy",
      due: `EXISTS (SELECT 1 FROM PHIEUMUON p JOIN QUYENSACH q ON q.MaQuyenSach = p.MaQuyenSach WHERE p.ISBN IS NULL)`,
      body: [
        ms
          ? `UPDATE p SET ISBN = q.ISBN FROM PHIEUMUON AS p JOIN QUYENSACH AS q ON q.MaQuyenSach = p.MaQuyenSach WHERE p.ISBN IS NULL`
          : `UPDATE phieumuon AS p SET ISBN = q.ISBN FROM quyensach AS q WHERE q.MaQuyenSach = p.MaQuyenSach AND p.ISBN IS NULL`,
      ],
    },
    {
      note: 'PHIEUMUON.HanTra: the due date, added empty',
      due: c.columnMissing('PHIEUMUON', 'HanTra'),
      body: [ms ? `ALTER TABLE PHIEUMUON ADD HanTra datetime2(3) NULL` : `ALTER TABLE phieumuon ADD COLUMN HanTra timestamptz(3) NULL`],
    },
    {
      note: `PHIEUMUON.HanTra: ${loanDays} days after the loan for every loan the older application opened, then required`,
      due: c.columnNullable('PHIEUMUON', 'HanTra'),
      body: ms
        ? [`UPDATE PHIEUMUON SET HanTra = DATEADD(day, ${loanDays}, NgayMuon) WHERE HanTra IS NULL`, `ALTER TABLE PHIEUMUON ALTER COLUMN HanTra datetime2(3) NOT NULL`]
        : [`UPDATE phieumuon SET HanTra = NgayMuon + interval '${loanDays} days' WHERE HanTra IS NULL`, `ALTER TABLE phieumuon ALTER COLUMN HanTra SET NOT NULL`],
    },
  ];
}

/**
 * A zoneless datetime column made a UTC instant, once: its type and its values change in one
 * transaction, guarded by the old type, so a second run cannot shift the times again. The
 * executor reads every date-time as UTC (datetime2(3) / timestamptz(3)), and datetime2 also
 * ends the tie a datetime column's 1/300 s ticks made with a datetime2 cursor parameter.
 */
function zonelessToUtc(d: Dialect, siteId: string, column: string, nullable: boolean, offset: number | undefined): Step {
  const c = catalogOf(d);
  const ms = d.name === 'mssql';
  const note = `PHIEUMUON.${column}: zoneless local times to UTC instants`;
  const due = c.columnZoneless('PHIEUMUON', column);
  if (offset === undefined) {
    const message = `PHIEUMUON.${column} holds date-times without a zone: set legacyTimeZone for site ${siteId} in the sites config (the UTC offset the older application wrote them in, such as +07:00), then run again`;
    return { note, due, body: [ms ? `THROW 50001, ${c.literal(message)}, 1` : `RAISE EXCEPTION ${c.literal(message)}`] };
  }
  return {
    note: `${note} (written at UTC${offset < 0 ? '-' : '+'}${Math.abs(offset)} minutes)`,
    due,
    // A default such as GETDATE() gave local times, and on SQL Server it blocks the type change
    // (Msg 5074): it is dropped. LibFed always writes the instant itself.
    body: ms
      ? [
          `DECLARE @default sysname = (SELECT name FROM sys.default_constraints WHERE parent_object_id = OBJECT_ID(N'PHIEUMUON') AND parent_column_id = COLUMNPROPERTY(OBJECT_ID(N'PHIEUMUON'), N'${column}', 'ColumnId'))`,
          `DECLARE @dropDefault nvarchar(400) = N'ALTER TABLE PHIEUMUON DROP CONSTRAINT ' + QUOTENAME(@default)`,
          `IF @default IS NOT NULL EXEC sp_executesql @dropDefault`,
          `ALTER TABLE PHIEUMUON ALTER COLUMN ${column} datetime2(3) ${nullable ? 'NULL' : 'NOT NULL'}`,
          `UPDATE PHIEUMUON SET ${column} = DATEADD(minute, ${-offset}, ${column})`,
        ]
      : [
          `ALTER TABLE phieumuon ALTER COLUMN ${column} DROP DEFAULT`,
          `ALTER TABLE phieumuon ALTER COLUMN ${column} TYPE timestamptz(3) USING (${column} - interval '${offset} minutes') AT TIME ZONE 'UTC'`,
        ],
  };
}

/**
 * Statuses as LibFed compares them. A case-insensitive, trailing-space-ignoring collation let
 * the older application store 'có sẵn' or 'Có sẵn ' past its CHECK; SQL counted such a copy
 * available while the participant's exact comparison refused to lend it. Each is rewritten to
 * the spelling of the CHECK; no other value changes.
 */
function canonicalStatuses(d: Dialect): Step {
  const c = catalogOf(d);
  const ms = d.name === 'mssql';
  const statuses = [COPY_STATUS.AVAILABLE, COPY_STATUS.ON_LOAN].map((s) => c.literal(s));
  // SQL Server pads for `=` under every collation, BIN2 included, so the length is compared too.
  const odd = (s: string) =>
    ms
      ? `(LOWER(LTRIM(RTRIM(TinhTrang))) = LOWER(${s}) AND NOT (TinhTrang COLLATE Latin1_General_100_BIN2 = ${s} AND DATALENGTH(TinhTrang) = DATALENGTH(${s})))`
      : `(lower(btrim(TinhTrang)) = lower(${s}) AND TinhTrang <> ${s})`;
  return {
    note: 'QUYENSACH.TinhTrang: statuses in odd case or with stray spaces spelt as the CHECK spells them',
    due: `EXISTS (SELECT 1 FROM QUYENSACH WHERE ${statuses.map(odd).join(' OR ')})`,
    body: statuses.map((s) => `UPDATE QUYENSACH SET TinhTrang = ${s} WHERE ${odd(s)}`),
  };
}

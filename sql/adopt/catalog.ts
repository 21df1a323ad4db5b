/**
 * The catalog checks that guard each step of `libfed migrate` (sql/adopt/plan.ts): conditions,
 * as SQL text, under which a step is still due. One set per dialect, asking the same
 * questions: SQL Server through OBJECT_ID, COL_LENGTH and sys.*; PostgreSQL through
 * to_regclass and information_schema in the current schema (unquoted names fold to lower case).
 */
export interface Catalog {
  tableMissing(table: string): string;
  columnMissing(table: string, column: string): string;
  indexMissing(table: string, index: string): string;
  /** A varchar column declared shorter than `length` characters. */
  columnShorterThan(table: string, column: string, length: number): string;
  columnNullable(table: string, column: string): string;
  /** A date-time column that stores no zone (SQL Server datetime, PostgreSQL timestamp without time zone). */
  columnZoneless(table: string, column: string): string;
  /** A text column not under the dialect's binary collation. */
  columnNotBinary(table: string, column: string): string;
  /** A foreign key from `table` to any of `referenced`. */
  foreignKeysTo(table: string, referenced: string[]): string;
  ledgerRowMissing(id: number): string;
  /** `value` as a string literal (N'' on SQL Server, for the Vietnamese statuses). */
  literal(value: string): string;
}

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

export const mssqlCatalog: Catalog = {
  tableMissing: (t) => `OBJECT_ID(N'${t}', N'U') IS NULL`,
  columnMissing: (t, c) => `COL_LENGTH(N'${t}', N'${c}') IS NULL`,
  indexMissing: (t, i) => `NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'${t}') AND name = N'${i}')`,
  // In characters (COL_LENGTH counts bytes: an nvarchar(10) is 20); a (max) column is -1, never too short.
  columnShorterThan: (t, c, n) => `COLUMNPROPERTY(OBJECT_ID(N'${t}'), N'${c}', 'CharMaxLen') BETWEEN 0 AND ${n - 1}`,
  columnNullable: (t, c) => `COLUMNPROPERTY(OBJECT_ID(N'${t}'), N'${c}', 'AllowsNull') = 1`,
  columnZoneless: (t, c) =>
    `EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'${t}') AND name = N'${c}' AND TYPE_NAME(system_type_id) IN ('datetime', 'smalldatetime'))`,
  columnNotBinary: (t, c) =>
    `EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'${t}') AND name = N'${c}' AND collation_name <> N'Latin1_General_100_BIN2')`,
  foreignKeysTo: (t, referenced) =>
    `EXISTS (SELECT 1 FROM sys.foreign_keys WHERE parent_object_id = OBJECT_ID(N'${t}') AND referenced_object_id IN (${referenced.map((r) => `OBJECT_ID(N'${r}')`).join(', ')}))`,
  ledgerRowMissing: (id) => `NOT EXISTS (SELECT 1 FROM libfed_migrations WHERE id = ${id})`,
  literal: (value) => `N${quote(value)}`,
};

const column = (t: string, c: string, also: string) =>
  `EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '${t.toLowerCase()}' AND column_name = '${c.toLowerCase()}'${also})`;

export const postgresCatalog: Catalog = {
  tableMissing: (t) => `to_regclass('${t.toLowerCase()}') IS NULL`,
  columnMissing: (t, c) => `NOT ${column(t, c, '')}`,
  // An index is a relation of the schema, named as created (unquoted, so lower case).
  indexMissing: (_t, i) => `to_regclass('${i.toLowerCase()}') IS NULL`,
  columnShorterThan: (t, c, n) => column(t, c, ` AND character_maximum_length < ${n}`),
  columnNullable: (t, c) => column(t, c, ` AND is_nullable = 'YES'`),
  columnZoneless: (t, c) => column(t, c, ` AND data_type = 'timestamp without time zone'`),
  // A column under the database's default collation reports none.
  columnNotBinary: (t, c) => column(t, c, ` AND collation_name IS DISTINCT FROM 'C'`),
  foreignKeysTo: (t, referenced) =>
    `EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND conrelid = to_regclass('${t.toLowerCase()}') AND confrelid IN (${referenced.map((r) => `to_regclass('${r.toLowerCase()}')`).join(', ')}))`,
  ledgerRowMissing: (id) => `NOT EXISTS (SELECT 1 FROM libfed_migrations WHERE id = ${id})`,
  literal: quote,
};

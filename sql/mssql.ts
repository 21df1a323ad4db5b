import sql, { type config, type ISqlType } from 'mssql';
import { mssql } from './dialect';
import type { SqlExecutor } from './executor';
import { asFailure, classifyMssql, retryDeadlocks, type DeadlockRetryOptions } from './failures';
import type { Sql, TextType } from './fragment';

/** A hard limit of the server (error 8003); the dialect's maxParameters keeps batches below it. */
const SERVER_MAX_PARAMETERS = 2100;

/** The URL with its user and password replaced, for messages and logs. */
function redact(url: string): string {
  return url.replace(/\/\/.*@/, '//***@');
}

function flag(name: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`SQL Server URL option ${name} must be true or false, got "${value}"`);
}

/**
 * How a site talks to its SQL Server, beyond the URL (sites.yaml `database:` options; see
 * schema/sites.ts). Timeouts are in milliseconds. `lockTimeoutMs` and `requestTimeoutMs`
 * must stay below the gateway's site-call deadline (`--site-timeout-ms`, 5,000 by default):
 * a statement that waits longer than the caller does turns a clean BUSY or
 * BRANCH_UNAVAILABLE answer into TX_IN_DOUBT.
 */
export interface MssqlSettings {
  poolMax?: number;
  connectTimeoutMs?: number;
  /** Longest one statement runs before the driver cancels it (mssql ETIMEOUT). */
  requestTimeoutMs?: number;
  /** SET LOCK_TIMEOUT: longest one statement waits for a row lock (error 1222, answered BUSY). */
  lockTimeoutMs?: number;
  encrypt?: boolean;
  trustServerCertificate?: boolean;
  /** A named instance (SQL Browser resolves its port); excludes `port`. */
  instanceName?: string;
  port?: number;
}

// Both below the gateway's 5 s site-call deadline, so a wait ends here as BUSY or BRANCH_UNAVAILABLE first.
export const MSSQL_DEFAULTS = { poolMax: 10, connectTimeoutMs: 15_000, requestTimeoutMs: 4000, lockTimeoutMs: 2000 } as const;

/**
 * Reads a site's SQL Server URL:
 *
 *   mssql://user:password@host[:port][/database][?encrypt=false&trustServerCertificate=true]
 *
 * User and password are percent-decoded, so write `@` as `%40` and `/` as `%2F`. The port
 * defaults to 1433; without a database the login's default database is used. `encrypt`
 * defaults to true and `trustServerCertificate` to false (the mssql defaults): a local
 * container with its self-signed certificate needs trustServerCertificate=true or
 * encrypt=false. Any other option is refused so that a misspelt one cannot pass unnoticed.
 */
export function parseMssqlUrl(url: string, settings: MssqlSettings = {}): config {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`SQL Server URL must look like mssql://user:password@host:port/database, got "${redact(url)}"`);
  }
  if (parsed.protocol !== 'mssql:' || !parsed.hostname) {
    throw new Error(`SQL Server URL must look like mssql://user:password@host:port/database, got "${redact(url)}"`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database.includes('/')) throw new Error(`SQL Server URL names one database after the host, got "${database}"`);
  const options = { encrypt: true, trustServerCertificate: false };
  for (const [name, value] of parsed.searchParams) {
    switch (name) {
      case 'encrypt':
        options.encrypt = flag(name, value);
        break;
      case 'trustServerCertificate':
        options.trustServerCertificate = flag(name, value);
        break;
      default:
        throw new Error(`SQL Server URL options are encrypt and trustServerCertificate, got "${name}"`);
    }
  }
  if (settings.encrypt !== undefined) options.encrypt = settings.encrypt;
  if (settings.trustServerCertificate !== undefined) options.trustServerCertificate = settings.trustServerCertificate;
  const s = { ...MSSQL_DEFAULTS, ...settings };
  return {
    server: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 address comes bracketed
    // A named instance is found through SQL Browser, so it takes no port (tedious would ignore it anyway).
    port: settings.instanceName ? undefined : (settings.port ?? (parsed.port ? Number(parsed.port) : 1433)),
    database: database || undefined,
    user: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    pool: { max: s.poolMax },
    connectionTimeout: s.connectTimeoutMs,
    requestTimeout: s.requestTimeoutMs,
    options: {
      ...options,
      ...(settings.instanceName ? { instanceName: settings.instanceName } : {}),
      // useUTC: a Date is sent and read as UTC, since datetime2 columns hold no zone.
      useUTC: true,
      // SET XACT_ABORT ON at login: a statement that fails or is cancelled by the request timeout
      // rolls its whole transaction back on the server. Without it a timed-out statement leaves the
      // transaction open, holding its locks, on a connection the pool hands to the next caller.
      abortTransactionOnError: true,
    },
  };
}

/** Text that every code page spells the same, so it can be bound as varchar. */
const ASCII = /^[\x00-\x7f]*$/;

/**
 * The SQL type a bound value is declared with. Lengths are fixed (4000/8000, else MAX)
 * rather than the value's own, so a statement keeps one cached plan whatever it is given.
 *
 * Strings are nvarchar unless they are pure ASCII, which is bound as varchar: comparing a
 * varchar key column (MaDG, ISBN, ...) with an nvarchar parameter converts the column,
 * which under a SQL_* collation (the default of a stock install) turns every key seek into
 * a scan. An ASCII varchar loses nothing in any code page and is widened for free where it
 * meets an nvarchar column. Null is nvarchar too, the type that converts implicitly to
 * every column type LibFed uses.
 */
export function parameterType(value: unknown): ISqlType {
  if (value === null || value === undefined) return sql.NVarChar(4000);
  switch (typeof value) {
    case 'string':
      if (ASCII.test(value)) return sql.VarChar(value.length <= 8000 ? 8000 : sql.MAX);
      return sql.NVarChar(value.length <= 4000 ? 4000 : sql.MAX);
    case 'number':
      // mssql would bind NaN as NULL without a word; a NaN here is a bug upstream.
      if (!Number.isFinite(value)) throw new TypeError(`cannot bind ${value}: SQL Server numbers are finite`);
      if (!Number.isSafeInteger(value)) return sql.Float();
      return value >= -2147483648 && value <= 2147483647 ? sql.Int() : sql.BigInt();
    case 'bigint':
      if (value < -(2n ** 63n) || value >= 2n ** 63n) throw new RangeError(`cannot bind ${value}: it does not fit a bigint column`);
      return sql.BigInt();
    case 'boolean':
      return sql.Bit();
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError('cannot bind an invalid Date');
    return sql.DateTime2(3); // the precision of a JavaScript Date and of dialect.types.timestamp
  }
  if (Buffer.isBuffer(value)) return sql.VarBinary(value.length <= 8000 ? 8000 : sql.MAX);
  throw new TypeError(`cannot bind a value of type ${value.constructor?.name ?? typeof value}: bind strings, numbers, bigints, booleans, Dates, Buffers or null`);
}

/** A text value's declared type (its column's, from `list(values, type)`), else the one parameterType picks. */
export function declaredType(value: unknown, type: TextType | undefined): ISqlType {
  if (!type || (typeof value !== 'string' && value !== null && value !== undefined)) return parameterType(value);
  const length = typeof value === 'string' ? value.length : 0;
  return type === 'varchar' ? sql.VarChar(length <= 8000 ? 8000 : sql.MAX) : sql.NVarChar(length <= 4000 ? 4000 : sql.MAX);
}

/** The part of an mssql result the executor reads. */
interface ResultLike {
  recordset?: unknown[] & { columns?: Record<string, { name: string; type: unknown }> };
}

/** The part of an mssql Request the executor uses. */
export interface RequestLike {
  input(name: string, type: ISqlType, value: unknown): unknown;
  query(text: string): Promise<ResultLike>;
}

/** The part of an mssql Transaction the executor uses. */
export interface TransactionLike {
  begin(): Promise<unknown>;
  request(): RequestLike;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** What the executor needs from a connection pool; tests stand in for a server with it. */
export interface MssqlPoolLike {
  request(): RequestLike;
  transaction(): TransactionLike;
  close(): Promise<void>;
}

/**
 * Rows of the first result set; none for statements without one (DDL, INSERT). bigint
 * columns arrive as strings from tedious and become numbers, as postgres.ts does for
 * int8: our counts and ids stay far below 2^53.
 */
function rowsOf<T>(result: ResultLike): T[] {
  const recordset = result.recordset;
  if (!recordset) return [];
  const rows = [...recordset] as Record<string, unknown>[];
  const bigints = Object.values(recordset.columns ?? {}).filter((column) => column.type === sql.BigInt);
  for (const { name } of bigints) {
    for (const row of rows) if (typeof row[name] === 'string') row[name] = Number(row[name]);
  }
  return rows as T[];
}

/**
 * Every batch starts with the session's lock timeout: mssql runs pool requests on whichever
 * connection is free and tedious has no login option for it, so it travels with each batch
 * (a SET costs nothing on the server). The SET returns no result set, so the statement's
 * rows are still the first one.
 */
function sessionPrefix(lockTimeoutMs: number): string {
  return `SET LOCK_TIMEOUT ${Math.trunc(lockTimeoutMs)}; `;
}

async function run<T>(source: { request(): RequestLike }, statement: Sql, prefix: string): Promise<T[]> {
  const { text, values, types } = mssql.render(statement);
  if (values.length > SERVER_MAX_PARAMETERS) {
    throw new Error(`SQL Server takes at most ${SERVER_MAX_PARAMETERS} parameters in one statement, got ${values.length}`);
  }
  const request = source.request();
  values.forEach((value, i) => request.input(`p${i + 1}`, declaredType(value, types?.[i]), value ?? null));
  try {
    return rowsOf<T>(await request.query(prefix + text));
  } catch (error) {
    // The seam: a deadlock, lock or request timeout, lost connection or constraint becomes a typed SqlFailure.
    throw asFailure(error, classifyMssql);
  }
}

/**
 * One mssql Transaction holds one connection and refuses a second request while one is in
 * flight (EREQINPROG), whereas pg and PGlite queue them. Statements in a transaction
 * therefore run one after another, and commit or rollback waits for the last of them.
 */
function serial(): <T>(step: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (step) => {
    const next = tail.then(step, step);
    tail = next.catch(() => {});
    return next;
  };
}

async function runTransaction<T>(tx: TransactionLike, work: (tx: SqlExecutor) => Promise<T>, prefix: string): Promise<T> {
  await tx.begin().catch((error) => Promise.reject(asFailure(error, classifyMssql)));
  const inOrder = serial();
  const bound: SqlExecutor = {
    dialect: mssql,
    query: (statement) => inOrder(() => run(tx, statement, prefix)),
    transaction: () => Promise.reject(new Error('nested transactions are not supported')),
    close: async () => {},
  };
  try {
    const result = await work(bound);
    await inOrder(() => tx.commit()).catch((error) => Promise.reject(asFailure(error, classifyMssql)));
    return result;
  } catch (error) {
    // The server may have rolled back already (deadlock victim, XACT_ABORT); mssql then
    // refuses the rollback with EABORT. Either way the work's own error is the one to report.
    await inOrder(() => tx.rollback()).catch(() => {});
    throw error;
  }
}

export interface MssqlExecutorOptions {
  lockTimeoutMs?: number;
  /** How a transaction chosen as deadlock victim (1205) is run again. */
  retry?: DeadlockRetryOptions;
}

/** A SQL Server executor over `pool`; `openMssql` gives it a real one. */
export function mssqlExecutor(pool: MssqlPoolLike, options: MssqlExecutorOptions = {}): SqlExecutor {
  const prefix = sessionPrefix(options.lockTimeoutMs ?? MSSQL_DEFAULTS.lockTimeoutMs);
  let closing: Promise<void> | undefined;
  return {
    dialect: mssql,
    query: (statement) => run(pool, statement, prefix),
    // Each try gets a new Transaction: the victim's was rolled back by the server.
    transaction: (work) => retryDeadlocks(() => runTransaction(pool.transaction(), work, prefix), options.retry),
    close: () => (closing ??= pool.close()),
  };
}

/** SQL Server (production target) through an mssql (tedious) connection pool. See parseMssqlUrl for the URL. */
export async function openMssql(url: string, settings: MssqlSettings = {}): Promise<SqlExecutor> {
  const pool = new sql.ConnectionPool(parseMssqlUrl(url, settings));
  // An idle connection that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  try {
    await pool.connect();
  } catch (error) {
    await pool.close().catch(() => {});
    throw new Error(`cannot connect to SQL Server at ${redact(url)}: ${(error as Error).message}`, { cause: error });
  }
  return mssqlExecutor(
    {
      request: () => pool.request(),
      transaction: () => new sql.Transaction(pool),
      close: () => pool.close(),
    },
    { lockTimeoutMs: settings.lockTimeoutMs },
  );
}

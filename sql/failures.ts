/**
 * The database failures a site expects, named once for every engine. Each executor turns
 * its driver's errors into a `SqlFailure` at the seam (`sql/executor.ts`), so the
 * participant and the site server decide on a kind, never on an engine's error number.
 * Any other driver error passes through unchanged: it is a bug, not an expected failure.
 */
export const SQL_FAILURES = {
  deadlock:
    'The database chose this transaction as a deadlock victim and rolled it back (SQL Server 1205, PostgreSQL 40P01; also a PostgreSQL serialization failure 40001). Nothing changed; the executor retries the transaction a few times.',
  lockTimeout:
    'A statement waited for a row lock longer than the lock timeout (SQL Server 1222, PostgreSQL 55P03). Nothing the statement did remains; the participant answers BUSY.',
  requestTimeout:
    'A statement ran longer than the request timeout (mssql ETIMEOUT, PostgreSQL 57014) and was cancelled. Outside a transaction nothing changed; in one, the transaction is rolled back.',
  connectionLost:
    'The connection to the database failed or closed (mssql ConnectionError, a socket error, PostgreSQL class 08 or an administrator shutdown 57P01..57P03). A commit in flight may or may not have happened.',
  unique: 'A PRIMARY KEY or UNIQUE constraint refused a row (SQL Server 2627 and 2601, PostgreSQL 23505).',
  constraint:
    'A FOREIGN KEY or CHECK constraint refused a write (SQL Server 547, PostgreSQL 23503 and 23514): a referenced row is missing, or a row falls outside the site\'s fragment.',
} as const;

export type SqlFailureKind = keyof typeof SQL_FAILURES;

/** An expected database failure, of one kind; `cause` is the driver's error, `engineCode` its number or code. */
export class SqlFailure extends Error {
  constructor(
    readonly kind: SqlFailureKind,
    readonly engineCode: string,
    cause: unknown,
  ) {
    super(`${kind} (${engineCode}): ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'SqlFailure';
  }
}

/** The kinds a retry later may cure: nothing was applied, or a commit's fate is unknown (connectionLost). */
export function isTransient(kind: SqlFailureKind): boolean {
  return kind === 'deadlock' || kind === 'lockTimeout' || kind === 'requestTimeout' || kind === 'connectionLost';
}

/** The kind of a failure, whether the seam has mapped it already or `classify` reads the driver's error. */
export function failureKind(error: unknown, classify: (error: unknown) => [SqlFailureKind, string] | undefined): SqlFailureKind | undefined {
  if (error instanceof SqlFailure) return error.kind;
  return classify(error)?.[0];
}

/** `error` as a SqlFailure when `classify` knows it, else unchanged. */
export function asFailure(error: unknown, classify: (error: unknown) => [SqlFailureKind, string] | undefined): unknown {
  if (error instanceof SqlFailure) return error;
  const found = classify(error);
  return found ? new SqlFailure(found[0], found[1], error) : error;
}

const MSSQL_NUMBERS: Record<number, SqlFailureKind> = { 1205: 'deadlock', 1222: 'lockTimeout', 2627: 'unique', 2601: 'unique', 547: 'constraint' };
const SOCKET_CODES = new Set(['ESOCKET', 'ECONNCLOSED', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENOTOPEN']);

/**
 * An mssql (tedious) error's kind. A RequestError carries the server's error `number`; mssql
 * throws a batch's last error and keeps earlier ones in `precedingErrors`, so those are read
 * too (a 1205 may be followed by a generic 3998 "uncommittable transaction"). ETIMEOUT on a
 * RequestError is the request timeout; on a ConnectionError it is a connect timeout.
 */
export function classifyMssql(error: unknown): [SqlFailureKind, string] | undefined {
  const e = error as { name?: string; code?: string; number?: number; precedingErrors?: unknown };
  const all = [e, ...(Array.isArray(e?.precedingErrors) ? (e.precedingErrors as (typeof e)[]) : [])];
  for (const each of all) {
    const kind = typeof each?.number === 'number' ? MSSQL_NUMBERS[each.number] : undefined;
    if (kind) return [kind, String(each.number)];
  }
  if (e?.name === 'ConnectionError') return ['connectionLost', e.code ?? 'ConnectionError'];
  if (e?.code === 'ETIMEOUT') return ['requestTimeout', 'ETIMEOUT'];
  if (e?.code && SOCKET_CODES.has(e.code)) return ['connectionLost', e.code];
  return undefined;
}

const PG_CODES: Record<string, SqlFailureKind> = {
  '40P01': 'deadlock',
  '40001': 'deadlock',
  '55P03': 'lockTimeout',
  '57014': 'requestTimeout',
  '23505': 'unique',
  '23503': 'constraint',
  '23514': 'constraint',
  '57P01': 'connectionLost',
  '57P02': 'connectionLost',
  '57P03': 'connectionLost',
};

/** A pg (or PGlite) error's kind, by SQLSTATE; pg reports a dropped socket with a Node code or no code at all. */
export function classifyPostgres(error: unknown): [SqlFailureKind, string] | undefined {
  const e = error as { code?: string; message?: string };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && PG_CODES[code]) return [PG_CODES[code], code];
  if (code && /^08/.test(code)) return ['connectionLost', code];
  if (code && SOCKET_CODES.has(code)) return ['connectionLost', code];
  if (!code && /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(e?.message ?? '')) return ['connectionLost', 'closed'];
  return undefined;
}

export interface DeadlockRetryOptions {
  /** Tries in all, the first included. */
  attempts?: number;
  /** Backoff before the second try; doubled for each later one, with jitter of ±50%. */
  baseDelayMs?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const RETRY_DEFAULTS: Required<DeadlockRetryOptions> = {
  attempts: 3,
  baseDelayMs: 10,
  random: Math.random,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Runs a whole local transaction again when the database chose it as a deadlock victim: the
 * engine rolled it back entirely, so a fresh run is the same request. Bounded, with jitter so
 * the two sides of a deadlock do not meet again in step. Only deadlocks: a lock or request
 * timeout is the caller's to answer (BUSY), and after a lost connection a commit may have
 * happened, so it must never run twice.
 */
export async function retryDeadlocks<T>(run: () => Promise<T>, options: DeadlockRetryOptions = {}): Promise<T> {
  const o = { ...RETRY_DEFAULTS, ...options };
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof SqlFailure && error.kind === 'deadlock') || attempt >= o.attempts) throw error;
      await o.sleep(o.baseDelayMs * 2 ** (attempt - 1) * (0.5 + o.random()));
    }
  }
}

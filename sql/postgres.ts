import pg from 'pg';
import { postgres } from './dialect';
import type { SqlExecutor } from './executor';
import { asFailure, classifyPostgres, retryDeadlocks, type DeadlockRetryOptions } from './failures';
import { raw, type Sql } from './fragment';

// Return bigint counts as numbers: our counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

type Queryable = Pick<pg.PoolClient, 'query'>;

async function run<T extends object>(db: Queryable, statement: Sql): Promise<T[]> {
  const { text, values } = postgres.render(statement);
  try {
    const result = await db.query(text, values);
    return result.rows as T[];
  } catch (error) {
    // The seam: a deadlock, lock or statement timeout, lost connection or constraint becomes a typed SqlFailure.
    throw asFailure(error, classifyPostgres);
  }
}

function clientExecutor(client: Queryable): SqlExecutor {
  return {
    dialect: postgres,
    query: (statement) => run(client, statement),
    transaction: () => Promise.reject(new Error('nested transactions are not supported')),
    close: async () => {},
  };
}

/** A connection failure names the database (without its password), so an operator knows which. */
function named(error: unknown, url: string): unknown {
  const e = error as Error & { code?: string; cause?: { code?: string } };
  if (!/timeout|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/i.test(`${e.code ?? e.cause?.code ?? ''} ${e.message}`)) return error;
  const where = new URL(url);
  where.password = '';
  e.message = `${e.message} (database ${where.toString()})`;
  return e;
}

/**
 * How a site talks to its PostgreSQL server, beyond the URL (sites.yaml `database:` options;
 * see schema/sites.ts). `lockTimeoutMs` and `requestTimeoutMs` (lock_timeout and
 * statement_timeout, set at connect) must stay below the gateway's site-call deadline.
 */
export interface PostgresSettings {
  poolMax?: number;
  connectTimeoutMs?: number;
  /** statement_timeout: the server cancels a statement running longer (57014). */
  requestTimeoutMs?: number;
  /** lock_timeout: longest one statement waits for a row lock (55P03, answered BUSY). */
  lockTimeoutMs?: number;
  /** How a transaction chosen as deadlock victim (40P01) is run again. */
  retry?: DeadlockRetryOptions;
}

// lock_timeout above PostgreSQL's deadlock_timeout (1 s by default), so a deadlock is found and one side retried
// before either side's wait ends as a lock timeout; both below the gateway's 5 s site-call deadline.
export const POSTGRES_DEFAULTS = { poolMax: 10, connectTimeoutMs: 10_000, requestTimeoutMs: 4000, lockTimeoutMs: 2000 } as const;

/** What the executor needs from a pg pool; tests stand in for a server with it. */
export interface PgPoolLike {
  query: Queryable['query'];
  connect(): Promise<Pick<pg.PoolClient, 'query' | 'release'>>;
  end(): Promise<void>;
}

/** A PostgreSQL executor over `pool`; `openPostgres` gives it a real one. `url` names the database in connection errors. */
export function postgresExecutor(pool: PgPoolLike, url: string, retry?: DeadlockRetryOptions): SqlExecutor {
  const once = async <T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> => {
    const client = await pool.connect().catch((error) => Promise.reject(asFailure(named(error, url), classifyPostgres)));
    try {
      await run(client, raw('BEGIN'));
      const result = await work(clientExecutor(client));
      await run(client, raw('COMMIT'));
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };
  return {
    dialect: postgres,
    async query(statement) {
      try {
        return await run(pool, statement);
      } catch (error) {
        throw named(error, url);
      }
    },
    // Each try takes a connection anew: the victim's transaction was rolled back by the server.
    transaction: (work) => retryDeadlocks(() => once(work), retry),
    close: () => pool.end(),
  };
}

/** A PostgreSQL server through a pg connection pool. */
export function openPostgres(url: string, settings: PostgresSettings = {}): SqlExecutor {
  const s = { ...POSTGRES_DEFAULTS, ...settings };
  // Bounded: an unreachable host fails start-up with the database named instead of hanging it.
  const pool = new pg.Pool({
    connectionString: url,
    max: s.poolMax,
    connectionTimeoutMillis: s.connectTimeoutMs,
    statement_timeout: s.requestTimeoutMs,
    lock_timeout: s.lockTimeoutMs,
  });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  return postgresExecutor(pool, url, settings.retry);
}

/** Creates database `name` on the server at `adminUrl` if it is missing (tests, first start). */
export async function ensurePostgresDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}" must be lower-case letters, digits and _`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

export async function dropPostgresDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}" must be lower-case letters, digits and _`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

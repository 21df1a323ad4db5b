import pg from 'pg';
import { postgres } from './dialect';
import type { SqlExecutor } from './executor';
import type { Sql } from './fragment';

// Return bigint counts as numbers: our counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

type Queryable = Pick<pg.PoolClient, 'query'>;

async function run<T extends object>(db: Queryable, statement: Sql): Promise<T[]> {
  const { text, values } = postgres.render(statement);
  const result = await db.query(text, values);
  return result.rows as T[];
}

function clientExecutor(client: pg.PoolClient): SqlExecutor {
  return {
    dialect: postgres,
    query: (statement) => run(client, statement),
    transaction: () => Promise.reject(new Error('nested transactions are not supported')),
    close: async () => {},
  };
}

/** A connection failure names the database (without its password), so an operator knows which. */
function named(error: unknown, url: string): unknown {
  const e = error as Error & { code?: string };
  if (!/timeout|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/i.test(`${e.code ?? ''} ${e.message}`)) return error;
  const where = new URL(url);
  where.password = '';
  e.message = `${e.message} (database ${where.toString()})`;
  return e;
}

/** A PostgreSQL server through a pg connection pool. */
export function openPostgres(url: string, maxConnections = 10, connectTimeoutMs = 10_000): SqlExecutor {
  // Bounded: an unreachable host fails start-up with the database named instead of hanging it.
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, connectionTimeoutMillis: connectTimeoutMs });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  return {
    dialect: postgres,
    async query(statement) {
      try {
        return await run(pool, statement);
      } catch (error) {
        throw named(error, url);
      }
    },
    async transaction(work) {
      const client = await pool.connect().catch((error) => Promise.reject(named(error, url)));
      try {
        await client.query('BEGIN');
        const result = await work(clientExecutor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
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

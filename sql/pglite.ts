import { PGlite } from '@electric-sql/pglite';
import { postgres } from './dialect';
import type { SqlExecutor } from './executor';
import { asFailure, classifyPostgres } from './failures';
import type { Sql } from './fragment';

type PgliteLike = Pick<PGlite, 'query'>;

function executor(db: PgliteLike, close: () => Promise<void>, transaction: SqlExecutor['transaction']): SqlExecutor {
  return {
    dialect: postgres,
    async query<T extends object>(statement: Sql): Promise<T[]> {
      const { text, values } = postgres.render(statement);
      try {
        return (await db.query<T>(text, values)).rows;
      } catch (error) {
        // The same typed failures as a server (sql/failures.ts); PGlite is one connection, so it never deadlocks.
        throw asFailure(error, classifyPostgres);
      }
    },
    transaction,
    close,
  };
}

/**
 * Embedded PostgreSQL (the zero-setup default). PGlite is one connection:
 * it queues statements itself, and `transaction()` holds that one connection
 * until the work is done, so keep transactions short.
 */
export async function openPglite(dataDir: string | undefined): Promise<SqlExecutor> {
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  const self: SqlExecutor = executor(
    db,
    () => db.close(),
    (work) =>
      db.transaction((tx) =>
        work(executor(tx, async () => {}, () => Promise.reject(new Error('nested transactions are not supported')))),
      ),
  );
  return self;
}

import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
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
  tierUpSooner();
  const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffersMiB(dataDir)}MB`];
  const db = await PGlite.create(dataDir ? { dataDir, startParams } : { startParams });
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

/** The least buffer pool a site gets: the catalogs and a scale-1 site's rows (about 8 MiB on disk) fit with room to spare. */
export const MIN_SHARED_BUFFERS_MIB = 16;
/** PostgreSQL's default, the most a site gets. */
export const MAX_SHARED_BUFFERS_MIB = 128;

/**
 * PGlite's buffer pool, sized to the database it opens: all of it and a
 * quarter more to grow, between the bounds above. The pool lives in the WASM
 * heap, PostgreSQL touches all of it as it starts, and a WASM heap never
 * gives memory back: PostgreSQL's fixed 128 MB made every site, however
 * small, hold ~120 MiB more than its data. A database larger than the pool
 * still works: a page not in it is read from its file (the operating
 * system's cache), only slower.
 */
export function sharedBuffersMiB(dataDir: string | undefined): number {
  const bytes = dataDir ? largestDatabaseBytes(join(dataDir, 'base')) : 0;
  const wanted = Math.ceil((bytes * 1.25) / 2 ** 20);
  return Math.min(MAX_SHARED_BUFFERS_MIB, Math.max(MIN_SHARED_BUFFERS_MIB, wanted));
}

/** base/ holds one directory per database: the site's, and initdb's templates, which a site never reads. */
function largestDatabaseBytes(base: string): number {
  let databases: string[];
  try {
    databases = readdirSync(base);
  } catch {
    return 0;
  }
  return Math.max(0, ...databases.map((d) => bytesUnder(join(base, d))));
}

/** The size of every file under `dir`; a file or directory that vanishes meanwhile (a temporary one) counts 0. */
function bytesUnder(dir: string): number {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  return entries.reduce((sum, e) => sum + (e.isDirectory() ? bytesUnder(join(dir, e.name)) : e.isFile() ? fileBytes(join(dir, e.name)) : 0), 0);
}

function fileBytes(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * PostgreSQL runs as WebAssembly, which V8 first compiles with its baseline
 * compiler and recompiles, optimized, per function once that function has run
 * enough. A site of a wide chain gets a small share of the reads, so with
 * V8's default budget (1,800,000) it stays slow for a long while after each
 * start. Measured alone (one indexed page query, rounds of 500): 0.50 ms per
 * query in the first round against 0.61–0.65 ms with the default budget,
 * 0.20–0.24 against 0.29–0.30 in the third, the same 0.15–0.18 once both have
 * settled; no measured cost in memory on an 8-site chain. Set before the
 * module is compiled (setting it again changes nothing); a V8 without the
 * flag ignores it.
 */
const WASM_TIERING_BUDGET = 20_000;
function tierUpSooner(): void {
  setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
}

import type { Dialect } from './dialect';
import type { SqlExecutor } from './executor';
import type { Sql } from './fragment';

/**
 * A statement over a list of keys, split so that no statement carries more parameters than
 * the dialect allows (SQL Server refuses a request over 2,100). `statement(chunk)` builds
 * one statement; the parameters it binds besides the keys are counted once, from a
 * one-key build, and every chunk leaves room for them. Chunks keep the keys' order.
 */
export function chunkStatements<K>(dialect: Dialect, keys: readonly K[], statement: (chunk: readonly K[]) => Sql): Sql[] {
  if (keys.length === 0) return [];
  const others = statement(keys.slice(0, 1)).values.length - 1;
  const size = dialect.maxParameters - others;
  if (size < 1) throw new Error(`a statement that binds ${others} parameters besides its keys leaves no room under ${dialect.maxParameters}`);
  const chunks: Sql[] = [];
  for (let i = 0; i < keys.length; i += size) chunks.push(statement(keys.slice(i, i + size)));
  return chunks;
}

/**
 * Runs `statement` over `keys` in chunks (see chunkStatements), one after another (an
 * executor inside a transaction runs one statement at a time anyway), and returns every
 * chunk's rows in chunk order.
 */
export async function inChunks<T extends object, K>(db: SqlExecutor, keys: readonly K[], statement: (chunk: readonly K[]) => Sql): Promise<T[]> {
  const rows: T[] = [];
  for (const chunk of chunkStatements(db.dialect, keys, statement)) rows.push(...(await db.query<T>(chunk)));
  return rows;
}

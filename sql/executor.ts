import type { Dialect } from './dialect';
import type { Sql } from './fragment';

export type Row = Record<string, unknown>;

/**
 * Runs statements against one site database. Implementations: PGlite (embedded),
 * PostgreSQL server (pg), SQL Server (mssql). Column aliases in statements are
 * lower-case so rows read the same on every engine.
 */
export interface SqlExecutor {
  readonly dialect: Dialect;
  query<T extends object = Row>(statement: Sql): Promise<T[]>;
  /** Runs `work` in one local transaction; rolls back if it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Wraps an executor so every statement is reported (per-site statement counters). */
export function countingExecutor(inner: SqlExecutor, onStatement: () => void): SqlExecutor {
  return {
    dialect: inner.dialect,
    query: (statement) => {
      onStatement();
      return inner.query(statement);
    },
    transaction: (work) => inner.transaction((tx) => work(countingExecutor(tx, onStatement))),
    close: () => inner.close(),
  };
}

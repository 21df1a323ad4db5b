import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
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

const tracer = trace.getTracer('libfed-sql');

/**
 * Wraps an executor so every statement is a span (`sql.query`, with the
 * statement's text but never its values, which may be passwords or personal
 * data), and every local transaction one around its statements. Through the
 * OpenTelemetry API only: without an SDK in the process the spans are no-ops.
 */
export function tracedExecutor(inner: SqlExecutor): SqlExecutor {
  const traced = <T>(name: string, attributes: () => Record<string, string | number>, work: () => Promise<T>) =>
    tracer.startActiveSpan(name, { kind: SpanKind.CLIENT }, async (span) => {
      // Only a recording span pays for its attributes: without an SDK a statement costs no string work.
      if (span.isRecording()) span.setAttributes({ 'db.system.name': inner.dialect.name, ...attributes() });
      try {
        return await work();
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
        throw error;
      } finally {
        span.end();
      }
    });
  return {
    dialect: inner.dialect,
    query: (statement) =>
      traced('sql.query', () => ({ 'db.query.text': statement.strings.join('?').slice(0, 2000), 'db.query.parameters': statement.values.length }), () => inner.query(statement)),
    transaction: (work) => traced('sql.transaction', () => ({}), () => inner.transaction((tx) => work(tracedExecutor(tx)))),
    close: () => inner.close(),
  };
}

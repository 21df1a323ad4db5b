export * from './fragment';
export * from './dialect';
export * from './executor';
export * from './batch';
export * from './migrations';
export * from './failures';
export { openPglite } from './pglite';
export { openPostgres, ensurePostgresDatabase, dropPostgresDatabase, POSTGRES_DEFAULTS, type PostgresSettings } from './postgres';
export type { MssqlSettings } from './mssql';
/** `mssql.ts`'s, with its driver loaded on the first call (see `loadMssql`). */
export const openMssql: typeof import('./mssql').openMssql = (...args) => loadMssql().openMssql(...args);
import { loadMssql } from './open';
export { loadMssql, needsCreating, openSiteDatabase } from './open';
export { foldText, FOLD_FROM, FOLD_TO } from './fold';

export * from './fragment';
export * from './dialect';
export * from './executor';
export * from './migrations';
export { openPglite } from './pglite';
export { openPostgres, ensurePostgresDatabase, dropPostgresDatabase } from './postgres';
export { openMssql } from './mssql';
export { openSiteDatabase } from './open';
export { foldText, FOLD_FROM, FOLD_TO } from './fold';

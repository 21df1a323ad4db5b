import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Site } from '../schema';
import type { SqlExecutor } from './executor';
import { openPglite } from './pglite';
import { ensurePostgresDatabase, openPostgres, type PostgresSettings } from './postgres';
import { sql } from './fragment';

/** Opens the database a site names in sites.yaml; PGlite data goes under `dataDir/<site id>`. */
export async function openSiteDatabase(site: Site, dataDir: string): Promise<SqlExecutor> {
  const db = site.database;
  switch (db.kind) {
    case 'pglite':
      mkdirSync(dataDir, { recursive: true });
      return openPglite(join(dataDir, site.id));
    case 'postgres':
      return openPostgresCreating(db.url, db.settings);
    case 'mssql':
      return loadMssql().openMssql(db.url, db.settings);
  }
}

/**
 * SQL Server's driver (mssql over tedious, ~35 MiB once loaded) is loaded
 * only by a process that opens a SQL Server database, not by every site.
 */
export function loadMssql(): typeof import('./mssql') {
  return require('./mssql');
}

/**
 * True for a PGlite site whose directory holds no database yet: opening it
 * would run initdb in this process, and the memory that takes (a WASM heap,
 * which never shrinks) would stay with the process. A server database is
 * created by a statement, in no memory of ours, so it never needs this.
 */
export function needsCreating(site: Site, dataDir: string): boolean {
  // PG_VERSION is written by initdb: a directory without it was never initialised; one beside a
  // creation marker was being made when its process died (initdb writes PG_VERSION early).
  return site.database.kind === 'pglite' && (!existsSync(join(dataDir, site.id, 'PG_VERSION')) || existsSync(creationMarker(site, dataDir)));
}

/**
 * A file beside a PGlite directory while it is being created and first
 * migrated: a directory it stands beside is not a database, and is made again.
 */
export function creationMarker(site: Site, dataDir: string): string {
  return join(dataDir, `${site.id}.creating`);
}

/**
 * A site's PostgreSQL database, created on first start if the server has none
 * of that name (as PGlite creates its directory), through the server's
 * `postgres` database.
 */
async function openPostgresCreating(url: string, settings: PostgresSettings = {}): Promise<SqlExecutor> {
  const db = openPostgres(url, settings);
  try {
    await db.query(sql`SELECT 1 AS ok`);
    return db;
  } catch (error) {
    await db.close();
    // 3D000: invalid_catalog_name, "database ... does not exist".
    if ((error as { code?: string }).code !== '3D000') throw error;
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  await ensurePostgresDatabase(admin.toString(), name);
  return openPostgres(url, settings);
}

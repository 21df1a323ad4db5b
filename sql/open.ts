import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Site } from '../schema';
import type { SqlExecutor } from './executor';
import { openPglite } from './pglite';
import { openPostgres } from './postgres';
import { openMssql } from './mssql';

/** Opens the database a site names in sites.yaml; PGlite data goes under `dataDir/<site id>`. */
export async function openSiteDatabase(site: Site, dataDir: string): Promise<SqlExecutor> {
  const db = site.database;
  switch (db.kind) {
    case 'pglite':
      mkdirSync(dataDir, { recursive: true });
      return openPglite(join(dataDir, site.id));
    case 'postgres':
      return openPostgres(db.url);
    case 'mssql':
      return openMssql(db.url);
  }
}

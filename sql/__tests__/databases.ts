import { randomBytes } from 'node:crypto';
import type { SqlExecutor } from '../executor';
import { dropPostgresDatabase, ensurePostgresDatabase, openPostgres } from '../postgres';

/**
 * Tests that need a database of their own run on a PostgreSQL server (PG_URL)
 * and are skipped without one: PGlite loads itself through a dynamic import
 * that jest's module system refuses.
 */
export const pgDescribe = process.env.PG_URL ? describe : describe.skip;

/** An empty database of its own on PG_URL's server, named `libfed_<prefix>_<random>`, and how to remove it. */
export async function emptyDatabase(prefix = 'test'): Promise<{ db: SqlExecutor; url: string; drop(): Promise<void> }> {
  const name = `libfed_${prefix}_${randomBytes(4).toString('hex')}`;
  await ensurePostgresDatabase(process.env.PG_URL!, name);
  const url = new URL(process.env.PG_URL!);
  url.pathname = `/${name}`;
  const db = openPostgres(url.toString());
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await db.close();
      await dropPostgresDatabase(process.env.PG_URL!, name);
    },
  };
}

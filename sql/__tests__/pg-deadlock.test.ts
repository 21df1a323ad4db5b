import { randomBytes } from 'node:crypto';
import { raw, sql } from '../fragment';
import { dropPostgresDatabase, ensurePostgresDatabase, openPostgres } from '../postgres';
import type { SqlExecutor } from '../executor';

/**
 * A real deadlock on a PostgreSQL server: two transactions lock rows 1 and 2 in opposite
 * orders. The server picks one as victim (40P01, after deadlock_timeout); the executor runs
 * it again, and both commit.
 */
const pgIt = process.env.PG_URL ? it : it.skip;

describe('deadlock victims are retried (PostgreSQL)', () => {
  pgIt('two transactions that deadlock on purpose both commit, the victim on its second try', async () => {
    const name = `libfed_dl_${randomBytes(4).toString('hex')}`;
    await ensurePostgresDatabase(process.env.PG_URL!, name);
    const url = new URL(process.env.PG_URL!);
    url.pathname = `/${name}`;
    // A lock timeout longer than the deadlock detector's wait, so the deadlock is what ends the wait.
    const db = openPostgres(url.toString(), { poolMax: 4, lockTimeoutMs: 10_000, retry: { sleep: async () => undefined } });
    try {
      await db.query(raw('CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)'));
      await db.query(raw('INSERT INTO t VALUES (1, 0), (2, 0)'));
      let holding = 0;
      let bothHold!: () => void;
      const met = new Promise<void>((resolve) => (bothHold = resolve));
      const runs = { a: 0, b: 0 };
      const opposite = (who: 'a' | 'b', first: number, second: number) =>
        db.transaction(async (tx: SqlExecutor) => {
          runs[who]++;
          await tx.query(sql`UPDATE t SET v = v + 1 WHERE id = ${first}`);
          // Only the first tries meet: each holds its first row before either asks for its second.
          if (runs[who] === 1) {
            if (++holding === 2) bothHold();
            await met;
          }
          await tx.query(sql`UPDATE t SET v = v + 1 WHERE id = ${second}`);
          return runs[who];
        });
      const [a, b] = await Promise.all([opposite('a', 1, 2), opposite('b', 2, 1)]);
      // One committed on its first try; the victim was run again until it committed. Usually that is its
      // second try, but under load the server may take a third (the retry can meet the winner again before
      // it commits), so the count of tries is the server's timing, not the promise.
      expect(Math.min(a, b)).toBe(1);
      expect(Math.max(a, b)).toBeGreaterThanOrEqual(2);
      expect(await db.query(raw('SELECT id, v FROM t ORDER BY id'))).toEqual([
        { id: 1, v: 2 },
        { id: 2, v: 2 },
      ]);
    } finally {
      await db.close();
      await dropPostgresDatabase(process.env.PG_URL!, name);
    }
  });
});

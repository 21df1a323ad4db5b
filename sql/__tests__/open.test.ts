import { randomBytes } from 'node:crypto';
import { dropPostgresDatabase, openSiteDatabase, sql } from '..';

const pgIt = process.env.PG_URL ? it : it.skip;

describe('openSiteDatabase', () => {
  pgIt('creates a site\'s PostgreSQL database on first start, and opens it as it is after that', async () => {
    const name = `libfed_open_${randomBytes(4).toString('hex')}`;
    const url = new URL(process.env.PG_URL!);
    url.pathname = `/${name}`;
    const site = { id: 'Q1', name: 'n', address: 'a', url: 'http://127.0.0.1:1', database: { kind: 'postgres' as const, url: url.toString() } };
    try {
      const first = await openSiteDatabase(site, '/nonexistent');
      await first.query(sql`CREATE TABLE marker (x int)`);
      await first.close();
      const second = await openSiteDatabase(site, '/nonexistent');
      expect(await second.query(sql`SELECT COUNT(*) AS n FROM marker`)).toEqual([{ n: 0 }]);
      await second.close();
    } finally {
      await dropPostgresDatabase(process.env.PG_URL!, name);
    }
  });

  pgIt('still reports a server it cannot reach', async () => {
    const site = { id: 'Q1', name: 'n', address: 'a', url: 'http://127.0.0.1:1', database: { kind: 'postgres' as const, url: 'postgres://postgres@127.0.0.1:1/x' } };
    await expect(openSiteDatabase(site, '/nonexistent')).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});

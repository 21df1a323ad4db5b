import { mssql, postgres } from '../dialect';
import { MIGRATIONS, migrate } from '../migrations';
import { randomBytes } from 'node:crypto';
import { dropPostgresDatabase, ensurePostgresDatabase, openPostgres } from '../postgres';
import { sql } from '../fragment';

const pgIt = process.env.PG_URL ? it : it.skip;

/** `DELETE FROM libfed_lock WHERE gid = ...` seeks an index instead of scanning every transaction's lock rows. */
describe('libfed_lock is indexed by gid', () => {
  it('on both dialects, as its own migration', () => {
    const m = MIGRATIONS.find((x) => x.id === 5)!;
    expect(m.up(postgres, 'Q1').map((s) => postgres.render(s).text)).toEqual(['CREATE INDEX IX_libfed_lock_gid ON libfed_lock (gid)']);
    expect(m.up(mssql, 'Q1').map((s) => mssql.render(s).text)).toEqual(['CREATE INDEX IX_libfed_lock_gid ON libfed_lock (gid)']);
  });

  pgIt('exists after migrating a PostgreSQL database', async () => {
    const name = `libfed_lockix_${randomBytes(4).toString('hex')}`;
    await ensurePostgresDatabase(process.env.PG_URL!, name);
    const url = new URL(process.env.PG_URL!);
    url.pathname = `/${name}`;
    const db = openPostgres(url.toString());
    try {
      await migrate(db, 'Q1');
      const rows = await db.query<{ def: string }>(sql`SELECT indexdef AS def FROM pg_indexes WHERE tablename = 'libfed_lock' AND indexname = 'ix_libfed_lock_gid'`);
      expect(rows.map((r) => r.def)).toEqual(['CREATE INDEX ix_libfed_lock_gid ON public.libfed_lock USING btree (gid)']);
    } finally {
      await db.close();
      await dropPostgresDatabase(process.env.PG_URL!, name);
    }
  });
});

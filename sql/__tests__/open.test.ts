import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { dropPostgresDatabase, openPostgres, openSiteDatabase, sql } from '..';

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

  it('gives up on a server that accepts and never answers, naming the database but not its password', async () => {
    // A local listener that takes the connection and says nothing: the pool's connect timeout must end the wait.
    // Its accepted sockets are destroyed at the end: close() alone waits for them, and jest would never exit.
    const accepted = new Set<Socket>();
    const silent = createServer((socket) => void accepted.add(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const { port } = silent.address() as AddressInfo;
    const db = openPostgres(`postgres://libfed:secret@127.0.0.1:${port}/nowhere`, { poolMax: 1, connectTimeoutMs: 300 });
    try {
      const error = await db.query(sql`SELECT 1`).then(() => undefined, (e: Error) => e);
      expect(error?.message).toMatch(new RegExp(`timeout.*\\(database postgres://libfed@127\\.0\\.0\\.1:${port}/nowhere\\)`, 'is'));
      expect(error?.message).not.toMatch(/secret/);
    } finally {
      await db.close();
      for (const socket of accepted) socket.destroy();
      silent.close();
    }
  });

  pgIt('still reports a server it cannot reach', async () => {
    const site = { id: 'Q1', name: 'n', address: 'a', url: 'http://127.0.0.1:1', database: { kind: 'postgres' as const, url: 'postgres://postgres@127.0.0.1:1/x' } };
    await expect(openSiteDatabase(site, '/nonexistent')).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});

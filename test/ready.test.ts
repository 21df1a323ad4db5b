import { dropPostgresDatabase } from '../sql';
import { startTestChain, type TestChain } from './harness';

/**
 * `/ready` says whether a process can serve, not only that it runs: a site
 * whose database is gone is not ready, and a gateway is not ready when no
 * site is; the gateway's body names each site's state. On PostgreSQL, where
 * a test can take a site's database away under it.
 */
const pgDescribe = process.env.PG_URL ? describe : describe.skip;

pgDescribe('readiness', () => {
  let chain: TestChain;
  beforeAll(async () => {
    chain = await startTestChain('postgres');
  }, 180_000);
  afterAll(() => chain?.close());

  const get = async (url: string) => {
    const res = await fetch(url);
    return { status: res.status, body: (await res.json()) as any };
  };
  const gatewayReady = () => get(new URL('/ready', chain.gatewayUrl).toString());
  const siteReady = (id: string) => get(`${chain.sites.get(id)!.url}/ready`);

  it('is ready with every site ready, and says so per site', async () => {
    expect(await siteReady('Q1')).toEqual({ status: 200, body: { site: 'Q1', ready: true } });
    const gateway = await gatewayReady();
    expect(gateway.status).toBe(200);
    expect(gateway.body.sites.map((s: any) => [s.site, s.ready])).toEqual([['Q1', true], ['Q3', true], ['Q5', true]]);
  });

  it('a site whose database is gone is not ready; the gateway still is, and names it', async () => {
    const url = new URL((chain.config.sites.find((s) => s.id === 'Q5')!.database as { url: string }).url);
    await dropPostgresDatabase(process.env.PG_URL!, url.pathname.slice(1));
    const site = await siteReady('Q5');
    expect(site).toEqual({ status: 503, body: { site: 'Q5', ready: false, reason: 'the database does not answer' } });
    // Alive all the same: liveness and readiness are different questions.
    expect((await fetch(`${chain.sites.get('Q5')!.url}/health`)).status).toBe(200);
    const gateway = await gatewayReady();
    expect(gateway.status).toBe(200);
    expect(gateway.body.sites.find((s: any) => s.site === 'Q5')).toMatchObject({ ready: false });
  });

  it('a gateway with no reachable site is not ready', async () => {
    for (const site of chain.sites.values()) await site.stop();
    const gateway = await gatewayReady();
    expect(gateway.status).toBe(503);
    expect(gateway.body).toMatchObject({ ready: false });
    expect(gateway.body.sites.every((s: any) => s.ready === false && s.reason === 'unreachable')).toBe(true);
  });
});

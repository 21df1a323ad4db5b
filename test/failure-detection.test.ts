import { startTestChain, type TestChain } from './harness';

/**
 * docs/ARCHITECTURE.md §3 rule 5: a frozen site (SIGSTOP: it accepts
 * connections and never answers) is suspected by every gateway's failure
 * detector within three seconds, and from then on requests do not wait
 * on it — a gathered read answers the other branches' part at once with
 * BRANCH_UNAVAILABLE naming it, a replicated read goes elsewhere. After
 * SIGCONT it answers the probes of a quiet site and rejoins by itself.
 */
describe('failure detection per site', () => {
  let chain: TestChain;
  beforeAll(async () => {
    chain = await startTestChain('pglite');
  }, 180_000);
  afterAll(() => chain?.close());

  const FROZEN = 'Q5';
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const GATHERED = `{ loans(first: 100) { totalCount edges { node { id } } } }`;
  const REPLICATED = `{ books(first: 5) { edges { node { isbn } } } }`;
  const ready = async () => (await (await fetch(new URL('/ready', chain.gatewayUrl))).json()) as { sites: { site: string; phi: number; breaker: string }[] };
  const frozenState = async () => (await ready()).sites.find((s) => s.site === FROZEN)!;
  const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const result = await work();
    return [result, performance.now() - started];
  };

  it('skips a frozen site at once once it is suspected, and takes it back after SIGCONT', async () => {
    const healthy = await chain.query(GATHERED);
    expect(healthy.errors).toBeUndefined();
    const ids: string[] = healthy.data.loans.edges.map((e: any) => e.node.id);
    expect(ids.some((id) => id.startsWith(`${FROZEN}-`))).toBe(true);
    expect((await frozenState()).breaker).toBe('closed');

    const site = chain.sites.get(FROZEN)!.child;
    site.kill('SIGSTOP');
    try {
      // Within 3 s the gateway's detector has given up on it: a watch answer is due every second (the watch's
      // wait), and phi reaches 8 about a second after a missed one (docs/ARCHITECTURE.md §3 rule 5).
      await sleep(3000);
      expect((await frozenState()).phi).toBeGreaterThanOrEqual(8);
      // New cache variants each time (first: 100 - i), so every read goes to the sites.
      for (let i = 0; i < 3; i++) {
        const [res, ms] = await timed(() => chain.query(`{ loans(first: ${90 - i}) { edges { node { id } } } }`));
        expect(ms).toBeLessThan(1500);
        expect(res.errors?.map((e: any) => [e.extensions.code, e.extensions.site])).toEqual([['BRANCH_UNAVAILABLE', FROZEN]]);
        const ids = res.data.loans.edges.map((e: any) => e.node.id);
        // The other branches' part is all there: only the frozen branch's loans are missing.
        expect(ids.length).toBeGreaterThan(0);
        expect(ids.filter((id: string) => id.startsWith(`${FROZEN}-`))).toEqual([]);
      }
      const [books, booksMs] = await timed(() => chain.query(REPLICATED));
      expect(books.errors).toBeUndefined();
      expect(books.data.books.edges).toHaveLength(5);
      expect(booksMs).toBeLessThan(1500);
      // The gateway process itself is alive; only the frozen site is suspected.
      expect(await (await fetch(new URL('/health', chain.gatewayUrl))).json()).toEqual({ status: 'ok' });
      const metrics = await (await fetch(new URL('/metrics', chain.gatewayUrl))).text();
      expect(metrics).toMatch(new RegExp(`libfed_site_phi\\{site="${FROZEN}"\\} \\d`));
      expect(metrics).toMatch(/libfed_site_breaker_state\{site="Q1"\} 0/);
    } finally {
      site.kill('SIGCONT');
    }
    // Back within a few heartbeats: a gathered read has every branch again.
    const until = Date.now() + 5000;
    let back: { data?: any; errors?: any[] };
    let variant = 0;
    do {
      await sleep(100);
      back = await chain.query(`{ loans(first: ${80 - (variant++ % 50)}) { totalCount } }`);
    } while (back.errors && Date.now() < until);
    expect(back.errors).toBeUndefined();
    expect(back.data.loans.totalCount).toBe(healthy.data.loans.totalCount);
    expect((await frozenState()).phi).toBeLessThan(8);
  }, 60_000);
});

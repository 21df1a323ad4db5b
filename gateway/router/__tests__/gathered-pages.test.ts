import fc from 'fast-check';
import { buildSchema, graphqlSync } from 'graphql';
import { perSiteLimit } from '../pages';
import { SiteHealth, SiteUnavailable, type SiteClient, type SubgraphRequest } from '../sites';
import { router, run } from './fakes';

/**
 * A gathered page with per-site limits and a second round (pages.ts) against
 * a single-database oracle: for generated fragments (rows tying on the order
 * key's first part), page sizes and sites that are down or fail only their
 * second round, following `endCursor` from the first page reaches every row
 * of the sites that answer exactly once, in order.
 */
type Row = { id: string; borrowedAt: string };

// Newest first, ties by id: the order `loans` declares. Ids and instants here are ASCII, so code-unit order is code-point order.
const newestFirst = (a: Row, b: Row) => (a.borrowedAt === b.borrowedAt ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.borrowedAt < b.borrowedAt ? 1 : -1);

const siteSchema = buildSchema(`
  type Query { loans(branchId: ID, open: Boolean, first: Int = 20, after: String): LoanConnection! }
  type LoanConnection { edges: [LoanEdge!]! pageInfo: PageInfo! totalCount: Int! }
  type LoanEdge { cursor: String! node: Loan! }
  type Loan { id: ID! borrowedAt: String! }
  type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
`);

const encode = (row: Row) => Buffer.from(JSON.stringify([row.borrowedAt, row.id, 'loans:scope'])).toString('base64url');

/** One site's `loans` by keyset, as the real sites page: rows strictly after the cursor, `first` of them. */
function sitePage(rows: Row[], args: { first?: number | null; after?: string | null }) {
  const sorted = [...rows].sort(newestFirst);
  let from = 0;
  if (args.after) {
    const [t, id] = JSON.parse(Buffer.from(args.after, 'base64url').toString('utf8')) as string[];
    from = sorted.filter((r) => newestFirst(r, { borrowedAt: t, id }) <= 0).length;
  }
  const first = args.first ?? 20;
  const page = sorted.slice(from, from + first);
  const edges = page.map((node) => ({ cursor: encode(node), node }));
  return {
    edges,
    totalCount: rows.length,
    pageInfo: { hasNextPage: from + first < sorted.length, hasPreviousPage: args.after != null, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/** Sites that execute the fetch they are sent against their own rows; `down` never answer, `flaky` fail every second call of a page. */
function sitesOf(fragments: Map<string, Row[]>, down: Set<string>, flaky: Set<string>): [SiteClient, { site: string; request: SubgraphRequest }[], () => Map<string, number>] {
  const calls: { site: string; request: SubgraphRequest }[] = [];
  let perPage = new Map<string, number>();
  const client: SiteClient = {
    async send(site, _subgraph, request) {
      calls.push({ site, request });
      const n = (perPage.get(site) ?? 0) + 1;
      perPage.set(site, n);
      if (down.has(site) || (flaky.has(site) && n >= 2)) throw new SiteUnavailable(site, 'connection refused');
      const rows = fragments.get(site) ?? [];
      const result = graphqlSync({ schema: siteSchema, source: request.query, variableValues: request.variables, rootValue: { loans: (args: object) => sitePage(rows, args) } });
      return JSON.parse(JSON.stringify(result));
    },
  };
  /** Starts a new page; returns how often each site was asked for the last one. */
  const nextPage = () => {
    const last = perPage;
    perPage = new Map();
    return last;
  };
  return [client, calls, nextPage];
}

const QUERY = `query($n: Int, $a: String) { loans(first: $n, after: $a) { edges { cursor node { id borrowedAt } } pageInfo { hasNextPage endCursor } totalCount } }`;

describe('a gathered page with per-site limits', () => {
  const sites = fc.integer({ min: 1, max: 8 }).map((n) => Array.from({ length: n }, (_, i) => `Q${i + 1}`));
  // Few instants, so rows tie on borrowedAt within a site and across sites; ids are unique (their site's prefix), as loan ids are.
  // A site's rows may also be newer than most (`newer` days on top): one site holding the newest rows is what forces a second round.
  const fragment = (site: string) =>
    fc.record({ seqs: fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { maxLength: 40 }), newer: fc.constantFrom(0, 0, 3, 6) }).chain(({ seqs, newer }) =>
      fc.tuple(
        ...seqs.map((seq) =>
          fc.integer({ min: 1, max: 6 }).map((day): Row => ({ id: `${site}-PM${String(seq).padStart(4, '0')}`, borrowedAt: `2026-05-${String(day + newer).padStart(2, '0')}T09:00:00.000Z` })),
        ),
      ),
    );
  const setup = sites.chain((ids) =>
    fc.record({
      ids: fc.constant(ids),
      rows: fc.tuple(...ids.map(fragment)),
      size: fc.integer({ min: 1, max: 30 }),
      down: fc.subarray(ids, { maxLength: Math.max(0, ids.length - 1) }),
      flaky: fc.subarray(ids),
    }),
  );

  it('shows every row of the answering sites once, in order, across the pages endCursor leads to', async () => {
    await fc.assert(
      fc.asyncProperty(setup, async ({ ids, rows, size, down, flaky }) => {
        const fragments = new Map(ids.map((id, i) => [id, rows[i] as Row[]]));
        const downSet = new Set(down);
        const flakySet = new Set(flaky.filter((s) => !downSet.has(s)));
        const [client, , nextPage] = sitesOf(fragments, downSet, flakySet);
        const r = router('loans', client, { siteIds: ids, health: new SiteHealth(() => ids), birthSite: (id) => ids.find((s) => id.startsWith(`${s}-`)) });
        const oracle = ids.filter((s) => !downSet.has(s)).flatMap((s) => fragments.get(s)!).sort(newestFirst).map((row) => row.id);
        const seen: string[] = [];
        let after: string | null = null;
        for (let page = 0; page <= oracle.length + 1; page++) {
          const res = await run(r, QUERY, { n: size, a: after });
          // One round, or two for the sites whose rows may still belong on the page: never a third.
          expect(Math.max(0, ...nextPage().values())).toBeLessThanOrEqual(2);
          const loans = (res.data as any).loans;
          const got = loans.edges.map((e: any) => e.node.id);
          const rest = oracle.length - seen.length;
          // A page is short only when a site failed its second round, and then it still moves on.
          if (flakySet.size === 0) expect(got.length).toBe(Math.min(size, rest));
          else expect(got.length).toBeGreaterThanOrEqual(Math.min(1, rest));
          expect(got).toEqual(oracle.slice(seen.length, seen.length + got.length));
          seen.push(...got);
          expect(loans.totalCount).toBe(ids.filter((s) => !downSet.has(s)).reduce((n, s) => n + fragments.get(s)!.length, 0));
          const codes = (res.errors ?? []).map((e) => [e.extensions?.code, e.extensions?.site]);
          for (const s of downSet) expect(codes).toContainEqual(['BRANCH_UNAVAILABLE', s]);
          if (!loans.pageInfo.hasNextPage) break;
          expect(loans.pageInfo.endCursor).toBe(loans.edges.at(-1).cursor);
          after = loans.pageInfo.endCursor;
        }
        expect(seen).toEqual(oracle);
      }),
      { numRuns: 150 },
    );
  });

  it('asks each site for its share of the page, not the whole page', async () => {
    const ids = ['Q1', 'Q2', 'Q3', 'Q4', 'Q5', 'Q6', 'Q7', 'Q8'];
    // Evenly spread: site i holds every eighth row of a newest-first list.
    const fragments = new Map(ids.map((s, i) => [s, Array.from({ length: 30 }, (_, j) => ({ id: `${s}-PM${String(j).padStart(4, '0')}`, borrowedAt: new Date(Date.UTC(2026, 4, 1) - (j * 8 + i) * 60_000).toISOString() }))]));
    const [client, calls] = sitesOf(fragments, new Set(), new Set());
    const r = router('loans', client, { siteIds: ids, health: new SiteHealth(() => ids), birthSite: () => undefined });
    const res = await run(r, QUERY, { n: 20, a: null });
    expect((res.data as any).loans.edges).toHaveLength(20);
    expect(calls).toHaveLength(8);
    expect(new Set(calls.map((c) => c.request.variables?.__lf_first))).toEqual(new Set([perSiteLimit(20, 8)]));
    expect(perSiteLimit(20, 8)).toBeLessThan(20);
  });

  it('asks a site again, once, when all the newest rows are its own', async () => {
    const ids = ['Q1', 'Q2', 'Q3', 'Q4'];
    const at = (minutes: number) => new Date(Date.UTC(2026, 4, 1) - minutes * 60_000).toISOString();
    const fragments = new Map(ids.map((s, i) => [s, Array.from({ length: 30 }, (_, j) => ({ id: `${s}-PM${String(j).padStart(4, '0')}`, borrowedAt: at(i === 2 ? j : 1000 + j) }))]));
    const [client, calls] = sitesOf(fragments, new Set(), new Set());
    const r = router('loans', client, { siteIds: ids, health: new SiteHealth(() => ids), birthSite: () => undefined });
    const res = await run(r, QUERY, { n: 20, a: null });
    expect((res.data as any).loans.edges.map((e: any) => e.node.id)).toEqual(fragments.get('Q3')!.slice(0, 20).map((row) => row.id));
    expect(calls.map((c) => c.site)).toEqual([...ids, 'Q3']);
    expect(calls[4].request.variables?.__lf_first).toBe(20 - perSiteLimit(20, 4));
    expect(calls[4].request.query).not.toContain('totalCount');
    // Only the count selected: no row of the page is shown, so no second round.
    calls.length = 0;
    const counted = await run(r, `{ loans(first: 20) { totalCount } }`);
    expect((counted.data as any).loans.totalCount).toBe(120);
    expect(calls.map((c) => c.site)).toEqual(ids);
  });
});

import { createHash } from 'node:crypto';
import type { DemoData } from '../sql/seed';
import type { TestChain } from './harness';

/**
 * A checksum of everything a site database holds that a request could change,
 * read from the site itself: PGlite belongs to the site process alone (its
 * data directory is locked), so through calls signed with the chain's secret
 * — the subgraph lists and entities, and the participant's `/tx` reads. One
 * digest per part (`Q1.books`, `Q3.participant`, ...), so a difference names
 * what changed (a short part is kept as its JSON, so the difference shows it).
 *
 * Per table: CHINHANH (branches), SACH (books, every page), QUYENSACH (each
 * book's copies here, with status and branch), DOCGIA (readers, every page,
 * with their open-loan counts), PHIEUMUON (loans, every page), libfed_staff
 * (accounts, and each one's password hash), libfed_location (where each moved
 * entity of the demo data is, asked at every site), libfed_lock and
 * libfed_decision (`/tx/status`: the prepared participants, the lock and
 * decision counts), libfed_dirty (`/tx/dirty`).
 *
 * Left out on purpose, because they grow legitimately with refused
 * mutations: `libfed_audit` (every refusal is recorded), and the number of
 * rows of `libfed_tx` (`/tx/status` `logged`) — the participant keeps one row
 * per transaction it took part in, with its final state, and a mutation
 * refused at one site's PREPARE (borrowCopy of a copy on loan: the reader's
 * site prepares, the copy's refuses) leaves an ABORTED row at the site that
 * prepared. Nothing is hidden by leaving the count out: no participant may be
 * left PREPARED (`prepared` is compared), and a committed transaction also
 * changes the data compared above. Also left out: `libfed_barrier` and
 * `libfed_sequence`, which no read exposes (a write that used them shows in
 * the tables above), and `Loan.overdue`, which changes by itself when a due
 * time passes.
 */
export type Checksum = Record<string, string>;

/** A part's value as JSON when it is short (a difference then shows what changed), else its SHA-256. */
function digest(value: unknown): string {
  const json = JSON.stringify(value);
  return json.length <= 300 ? json : createHash('sha256').update(json).digest('hex');
}

/** POSTs `body` to `path` of a site, signed; anything but a 200 without errors fails the checksum. */
async function signedPost(chain: TestChain, siteUrl: string, path: string, body: unknown): Promise<any> {
  const res = await chain.siteFetch(`${siteUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as any;
  if (res.status !== 200 || json.errors) throw new Error(`checksum read ${siteUrl}${path} answered ${res.status}: ${JSON.stringify(json).slice(0, 500)}`);
  return json;
}

/** Every node of a paged list field of one subgraph, following endCursor. */
async function allPages(chain: TestChain, siteUrl: string, subgraph: string, field: string, selection: string): Promise<unknown[]> {
  const nodes: unknown[] = [];
  for (let after: string | null = null; ; ) {
    const query = `query($after: String) { ${field}(first: 100, after: $after) { totalCount edges { node { ${selection} } } pageInfo { hasNextPage endCursor } } }`;
    const page: any = (await signedPost(chain, siteUrl, `/${subgraph}`, { query, variables: { after } })).data[field];
    nodes.push(...page.edges.map((e: { node: unknown }) => e.node));
    if (!page.pageInfo.hasNextPage) return [page.totalCount, nodes];
    after = page.pageInfo.endCursor;
  }
}

/** The parts of one site's checksum. */
export async function siteChecksum(chain: TestChain, siteId: string, data: DemoData): Promise<Checksum> {
  const url = chain.sites.get(siteId)!.url;
  const post = (path: string, body: unknown) => signedPost(chain, url, path, body);
  const books = await allPages(chain, url, 'catalog', 'books', 'isbn title author version');
  const copies = await post('/inventory', {
    query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Book { isbn copies { id status branch { id } } availability { branch { id } available total } } } }',
    variables: { r: data.books.map((b) => ({ __typename: 'Book', isbn: b.isbn })) },
  });
  const staff = (await post('/catalog', { query: '{ staffAccounts { username role disabled branch { id } } }' })).data.staffAccounts as { username: string }[];
  const hashes = [];
  for (const { username } of staff) hashes.push(await post('/tx/staff', { username }));
  /** `/tx/status` but `logged`: see above. */
  const participant = async () => {
    const { prepared, locks, decisions } = (await post('/tx/status', {})) as { prepared: unknown[]; locks: number; decisions: number };
    return { prepared, locks, decisions };
  };
  const located = [];
  for (const l of data.locations) located.push(await post('/tx/locate', { entity: l.entity, id: l.id }));
  const parts: Record<string, unknown> = {
    branches: (await post('/catalog', { query: '{ branches { id name address } }' })).data,
    books,
    copies: copies.data,
    readers: await allPages(chain, url, 'readers', 'readers', 'id name openLoanCount homeBranch { id }'),
    loans: await allPages(chain, url, 'loans', 'loans', 'id borrowedAt dueAt returnedAt reader { id } copy { id } branch { id }'),
    staff: [staff, hashes],
    locations: located,
    participant: await participant(),
    dirty: await post('/tx/dirty', { limit: 1000 }),
  };
  return Object.fromEntries(Object.entries(parts).map(([part, value]) => [`${siteId}.${part}`, digest(value)]));
}

/** The checksum of every site of the chain, one site after the other. */
export async function chainChecksum(chain: TestChain, data: DemoData): Promise<Checksum> {
  const all: Checksum = {};
  for (const id of chain.sites.keys()) Object.assign(all, await siteChecksum(chain, id, data));
  return all;
}

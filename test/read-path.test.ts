import { BACKENDS, startTestChain, type TestChain } from './harness';
import { demoData, loanId } from './fixture';
import type { DemoData } from '../sql/seed';

const LOAN_NODE = `id borrowedAt branch { id } reader { id name homeBranch { id } } copy { id status book { isbn title } }`;

/** Expected `loans` order: newest first, ties by global id, descending (docs/ARCHITECTURE.md §3 rule 1, SORTED merge). */
function newestFirst(a: { borrowedAt: Date; id: string }, b: { borrowedAt: Date; id: string }): number {
  return b.borrowedAt.getTime() - a.borrowedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

describe.each(BACKENDS)('read path through the gateway on %s', (backend) => {
  let chain: TestChain;
  let data: DemoData;

  beforeAll(async () => {
    // Routing is measured by counting site requests: the entity cache would answer repeats itself.
    chain = await startTestChain(backend, { gatewayArgs: ['--no-cache'] });
    data = demoData(chain.config);
  }, 180_000);
  afterAll(() => chain?.close());

  const siteUrl = (id: string) => chain.sites.get(id)!.url;
  it('answers a reader\'s loans made at two or more branches in one query', async () => {
    const byReader = new Map<string, Set<string>>();
    for (const l of data.loans) byReader.set(l.readerId, (byReader.get(l.readerId) ?? new Set()).add(l.branchId));
    const readerId = [...byReader].find(([, branches]) => branches.size >= 2)![0];
    const expected = data.loans
      .filter((l) => l.readerId === readerId)
      .map((l) => ({ id: loanId(l), borrowedAt: l.borrowedAt }))
      .sort(newestFirst);

    const { data: answer, errors } = await chain.query(`query($id: ID!) { reader(id: $id) { id loans { ${LOAN_NODE} } } }`, { id: readerId });

    expect(errors).toBeUndefined();
    expect(answer.reader.loans.map((l: { id: string }) => l.id)).toEqual(expected.map((l) => l.id));
    expect(new Set(answer.reader.loans.map((l: any) => l.branch.id)).size).toBeGreaterThanOrEqual(2);
    for (const loan of answer.reader.loans) expect(loan.reader.id).toBe(readerId);
  });

  it('answers a book\'s availability per branch from every site', async () => {
    const isbn = data.copies[0].isbn;
    const { data: answer, errors } = await chain.query(`query($isbn: ID!) { book(isbn: $isbn) { title availability { branch { id name } available total } } }`, { isbn });
    expect(errors).toBeUndefined();
    const expected = data.branches.map((b) => {
      const copies = data.copies.filter((c) => c.isbn === isbn && c.branchId === b.id);
      return { branch: b.id, total: copies.length, available: copies.filter((c) => c.status === 'Có sẵn').length };
    });
    expect(answer.book.availability.map((a: any) => ({ branch: a.branch.id, total: a.total, available: a.available }))).toEqual(expected);
  });

  it('sorts open loans the same way whichever sites hold them, with the right totalCount, across pages', async () => {
    const open = data.loans.filter((l) => l.returnedAt === null).map((l) => ({ id: loanId(l), borrowedAt: l.borrowedAt })).sort(newestFirst);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res: any = await chain.query(
        `query($after: String) { loans(open: true, first: 50, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${LOAN_NODE} } } } }`,
        { after },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data.loans.totalCount).toBe(open.length);
      seen.push(...res.data.loans.edges.map((e: any) => e.node.id));
      if (!res.data.loans.pageInfo.hasNextPage) break;
      after = res.data.loans.pageInfo.endCursor;
    }
    expect(seen).toEqual(open.map((l) => l.id));
  });

  it('lists readers and books in code-point order across pages, readers merged from every site', async () => {
    const byTextThenId = <T>(text: (x: T) => string, id: (x: T) => string) => (a: T, b: T) =>
      text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0;
    const walk = async (field: 'readers' | 'books', node: string) => {
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const res: any = await chain.query(`query($after: String) { ${field}(first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${node} } } } }`, { after });
        expect(res.errors).toBeUndefined();
        seen.push(...res.data[field].edges.map((e: any) => Object.values(e.node)[0]));
        if (!res.data[field].pageInfo.hasNextPage) break;
        after = res.data[field].pageInfo.endCursor;
      }
      return seen;
    };
    expect(await walk('readers', 'id')).toEqual([...data.readers].sort(byTextThenId((r) => r.name, (r) => r.id)).map((r) => r.id));
    expect(await walk('books', 'isbn')).toEqual([...data.books].sort(byTextThenId((b) => b.title, (b) => b.isbn)).map((b) => b.isbn));
  });

  it('sends a copy or reader lookup only to its owner site', async () => {
    const copy = data.copies.find((c) => c.id.startsWith(`${c.branchId}-`) && c.branchId !== data.branches[0].id)!;
    const reader = data.readers.find((r) => r.id.startsWith(`${r.homeBranchId}-`))!;
    const count = (subgraph: string) =>
      Promise.all(data.branches.map((b) => chain.metric(chain.gatewayUrl, 'libfed_gateway_site_requests_total', { site: b.id, subgraph })));

    const before = await count('inventory');
    const res = await chain.query(`query($id: ID!) { copy(id: $id) { id branch { id } } }`, { id: copy.id });
    const after = await count('inventory');
    expect(res.data.copy).toEqual({ id: copy.id, branch: { id: copy.branchId } });
    expect(after.map((n, i) => n - before[i])).toEqual(data.branches.map((b) => (b.id === copy.branchId ? 1 : 0)));

    const beforeReaders = await count('readers');
    const r = await chain.query(`query($id: ID!) { reader(id: $id) { name } }`, { id: reader.id });
    const afterReaders = await count('readers');
    expect(r.data.reader.name).toBe(reader.name);
    expect(afterReaders.map((n, i) => n - beforeReaders[i])).toEqual(data.branches.map((b) => (b.id === reader.homeBranchId ? 1 : 0)));
  });

  it('finds an id without a site prefix by asking every site once, then goes to its site directly', async () => {
    const legacy = data.readers.find((r) => !data.branches.some((b) => r.id.startsWith(`${b.id}-`)))!;
    expect(legacy).toBeDefined();
    const count = () => Promise.all(data.branches.map((b) => chain.metric(chain.gatewayUrl, 'libfed_gateway_site_requests_total', { site: b.id, subgraph: 'readers' })));
    const q = `query($id: ID!) { reader(id: $id) { id homeBranch { id } } }`;
    const t0 = await count();
    const first = await chain.query(q, { id: legacy.id });
    const t1 = await count();
    const second = await chain.query(q, { id: legacy.id });
    const t2 = await count();
    expect(first.data.reader).toEqual({ id: legacy.id, homeBranch: { id: legacy.homeBranchId } });
    expect(second.data).toEqual(first.data);
    expect(t1.map((n, i) => n - t0[i])).toEqual(data.branches.map(() => 1));
    expect(t2.map((n, i) => n - t1[i])).toEqual(data.branches.map((b) => (b.id === legacy.homeBranchId ? 1 : 0)));
  });

  it('follows an entity that moved away from its birth site, at the root and inside _entities', async () => {
    const moved = data.locations.find((l) => l.entity === 'Copy')!;
    const born = moved.id.slice(0, moved.id.indexOf('-'));
    const count = () => Promise.all(data.branches.map((b) => chain.metric(chain.gatewayUrl, 'libfed_gateway_site_requests_total', { site: b.id, subgraph: 'inventory' })));
    const q = `query($id: ID!) { copy(id: $id) { id branch { id } loans { branch { id } } } }`;
    const t0 = await count();
    const first = await chain.query(q, { id: moved.id });
    const t1 = await count();
    await chain.query(q, { id: moved.id });
    const t2 = await count();
    expect(first.errors).toBeUndefined();
    expect(first.data.copy.branch.id).toBe(moved.site);
    // Its loans stay at the branch that lent them.
    const lentAt = data.loans.filter((l) => l.copyId === moved.id).map((l) => l.branchId);
    expect(first.data.copy.loans.map((l: any) => l.branch.id).sort()).toEqual(lentAt.sort());
    const sites = data.branches.map((b) => b.id);
    expect(t1.map((n, i) => n - t0[i])).toEqual(sites.map((s) => (s === born || s === moved.site ? 1 : 0)));
    expect(t2.map((n, i) => n - t1[i])).toEqual(sites.map((s) => (s === moved.site ? 1 : 0)));

    const reader = data.locations.find((l) => l.entity === 'Reader' && data.loans.some((x) => x.readerId === l.id))!;
    const loan = data.loans.find((l) => l.readerId === reader.id)!;
    const res = await chain.query(`query($id: ID!) { loan(id: $id) { reader { id homeBranch { id } } } }`, { id: loanId(loan) });
    expect(res.errors).toBeUndefined();
    expect(res.data.loan.reader).toEqual({ id: reader.id, homeBranch: { id: reader.site } });
  });

  it('costs the same number of SQL statements per site for loans(first: 10) and loans(first: 100)', async () => {
    // A window of loans that reaches every site for copies and every home site for readers,
    // so both page sizes touch the same (site, subgraph) pairs.
    const ordered = data.loans.map((l) => ({ ...l, id: loanId(l) })).sort(newestFirst);
    const home = new Map(data.readers.map((r) => [r.id, r.homeBranchId]));
    const covers = (w: typeof ordered) =>
      data.branches.every((b) => w.some((l) => l.branchId === b.id) && w.some((l) => home.get(l.readerId) === b.id));
    const start = ordered.findIndex((_, i) => covers(ordered.slice(i, i + 10)));
    expect(start).toBeGreaterThanOrEqual(0);
    const cursor = (await chain.query(`query($n: Int) { loans(first: $n) { pageInfo { endCursor } } }`, { n: start })).data.loans.pageInfo.endCursor;

    const q = `query($n: Int, $after: String) { loans(first: $n, after: $after) { edges { node { ${LOAN_NODE} } } } }`;
    const counters = async () => {
      const out: Record<string, number> = {};
      for (const id of chain.sites.keys()) {
        for (const subgraph of ['inventory', 'readers', 'loans']) {
          out[`${id}/${subgraph}`] = await chain.metric(siteUrl(id), 'libfed_site_sql_statements_total', { subgraph });
        }
        // Replicated catalog reads go to whichever site answers fastest: count them chain-wide.
        out.catalog = (out.catalog ?? 0) + (await chain.metric(siteUrl(id), 'libfed_site_sql_statements_total', { subgraph: 'catalog' }));
      }
      return out;
    };
    const delta = async (n: number) => {
      const before = await counters();
      const res = await chain.query(q, { n, after: start === 0 ? null : cursor });
      expect(res.errors).toBeUndefined();
      expect(res.data.loans.edges).toHaveLength(n);
      const after = await counters();
      return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
    };
    await delta(100); // warm the location cache for ids without a site prefix
    const ten = await delta(10);
    const hundred = await delta(100);
    expect(hundred).toEqual(ten);
    for (const n of Object.values(ten)) expect(n).toBeLessThanOrEqual(2);
  });

  it('answers reports: loan counts summed over sites and the top books over summed groups', async () => {
    const res = await chain.query(`{ loanStats { total open overdue } topBooks(first: 3) { book { isbn title } loans } }`);
    expect(res.errors).toBeUndefined();
    const open = data.loans.filter((l) => l.returnedAt === null);
    expect(res.data.loanStats.total).toBe(data.loans.length);
    expect(res.data.loanStats.open).toBe(open.length);
    const counts = new Map<string, number>();
    const isbnOf = new Map(data.copies.map((c) => [c.id, c.isbn]));
    for (const l of data.loans) counts.set(isbnOf.get(l.copyId)!, (counts.get(isbnOf.get(l.copyId)!) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3);
    expect(res.data.topBooks.map((t: any) => [t.book.isbn, t.loans])).toEqual(top);
  });

  it('rejects bad arguments with a stable code and keeps serving', async () => {
    const big = await chain.query(`{ loans(first: 1000) { totalCount } }`);
    expect(big.errors!.map((e: any) => e.extensions.code)).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
    const cursor = await chain.query(`{ readers(after: "not-a-cursor") { totalCount } }`);
    expect(cursor.errors![0].extensions.code).toBe('INVALID_CURSOR');
    const branch = await chain.query(`{ loans(branchId: "Q9") { totalCount } }`);
    expect(branch.errors![0].extensions.code).toBe('UNKNOWN_BRANCH');
    const parse = await chain.query(`{ loans(first: 1 { id }`);
    expect(parse.errors![0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    const deep = await chain.query(`{ readers { edges { node { loans { copy { loans { reader { loans { copy { loans { reader { loans { id } } } } } } } } } } } } }`);
    expect(deep.errors![0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    const unknown = await chain.query(`{ reader(id: "Q1-NOPE") { id } }`);
    expect(unknown).toEqual({ data: { reader: null } });
    const ok = await chain.query(`{ branches { id } }`);
    expect(ok.data.branches).toHaveLength(data.branches.length);
  });

  it('with one site stopped, returns the other sites\' data plus BRANCH_UNAVAILABLE naming it', async () => {
    const down = data.branches[1].id;
    await chain.sites.get(down)!.stop();
    const res = await chain.query(`{ loans(first: 100) { totalCount edges { node { id branch { id } } } } }`);
    expect(res.errors!.map((e: any) => [e.extensions.code, e.extensions.site])).toEqual([['BRANCH_UNAVAILABLE', down]]);
    const branches = new Set(res.data.loans.edges.map((e: any) => e.node.branch.id));
    expect(branches.has(down)).toBe(false);
    expect(branches.size).toBe(data.branches.length - 1);
    expect(res.data.loans.totalCount).toBe(data.loans.filter((l) => l.branchId !== down).length);

    const replicated = await chain.query(`{ branches { id } books(first: 5) { totalCount edges { node { title } } } }`);
    expect(replicated.errors).toBeUndefined();
    expect(replicated.data.books.totalCount).toBe(data.books.length);

    await chain.restartSite(down);
    const back = await chain.query(`{ loans(first: 1) { totalCount } }`);
    expect(back.errors).toBeUndefined();
    expect(back.data.loans.totalCount).toBe(data.loans.length);
  });
});

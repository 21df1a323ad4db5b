import type { DemoData } from '../sql/seed';
import { demoData, loanId } from './fixture';
import { startTestChain, type TestChain } from './harness';

/**
 * The gateway reads every argument as GraphQL
 * execution does (a variable's declared default, `null` meaning the schema's
 * default page size), so the sites and the gateway agree on each page; and its
 * own bookkeeping fields cannot collide with a client's alias.
 * Arguments are checked once, at the gateway, against the limits the sites
 * enforce (schema/limits.ts), with a code naming the argument and the limit;
 * one failing mutation field never hides the committed results before it.
 */
describe('arguments as GraphQL execution reads them', () => {
  let chain: TestChain;
  let data: DemoData;

  beforeAll(async () => {
    chain = await startTestChain('pglite');
    data = demoData(chain.config);
  }, 180_000);
  afterAll(() => chain?.close());

  /** Every open loan id reached by following endCursor, with pages asked for as `first`. */
  const walk = async (query: string, variables: Record<string, unknown>) => {
    const ids: string[] = [];
    let after: string | null = null;
    let total = 0;
    for (let page = 0; page < 200; page++) {
      const res: any = await chain.query(query, { ...variables, after });
      expect(res.errors).toBeUndefined();
      total = res.data.loans.totalCount;
      ids.push(...res.data.loans.edges.map((e: any) => e.node.id));
      if (!res.data.loans.pageInfo.hasNextPage) break;
      after = res.data.loans.pageInfo.endCursor;
    }
    return { ids, total };
  };
  const open = () => data.loans.filter((l) => l.returnedAt === null).map(loanId);

  it('first: null is the default page size (20), and paging reaches every open loan once', async () => {
    const first = await chain.query(`query($f: Int) { loans(open: true, first: $f) { edges { node { id } } } }`, { f: null });
    expect(first.data.loans.edges).toHaveLength(20);
    const { ids, total } = await walk(`query($f: Int, $after: String) { loans(open: true, first: $f, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`, { f: null });
    expect(total).toBe(open().length);
    expect([...ids].sort()).toEqual([...open()].sort());
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a variable left out takes its declared default, for page sizes and TOPK limits', async () => {
    const page = await chain.query(`query($f: Int = 5) { loans(open: true, first: $f) { edges { node { id } } } }`, {});
    expect(page.data.loans.edges).toHaveLength(5);
    const top = await chain.query(`query($f: Int = 3) { topBooks(first: $f) { loans } }`, {});
    expect(top.data.topBooks).toHaveLength(3);
    const { ids } = await walk(`query($f: Int = 7, $after: String) { loans(open: true, first: $f, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`, {});
    expect([...ids].sort()).toEqual([...open()].sort());
  });

  it('a defaulted branch variable is checked like a literal one', async () => {
    const res = await chain.query(`query($b: ID = "Q9") { loanStats(branchId: $b) { total } }`, {});
    expect(res.errors?.[0].extensions.code).toBe('UNKNOWN_BRANCH');
  });

  it('a defaulted id variable is cached under the entity\'s own line: a borrow shows at once', async () => {
    const reader = data.readers.find((r) => r.homeBranchId === 'Q1' && r.id.startsWith('Q1-') && data.loans.every((l) => l.readerId !== r.id || l.returnedAt !== null))!;
    const copy = data.copies.find((c) => c.branchId === 'Q1' && c.id.startsWith('Q1-') && c.status === 'Có sẵn')!;
    const READ = `query($id: ID = "${reader.id}") { reader(id: $id) { openLoanCount } }`;
    const before = (await chain.query(READ, {})).data.reader.openLoanCount;
    await chain.query(READ, {});
    expect((await chain.query(`mutation { borrowCopy(readerId: "${reader.id}", copyId: "${copy.id}") { id } }`)).errors).toBeUndefined();
    expect((await chain.query(READ, {})).data.reader.openLoanCount).toBe(before + 1);
  });

  it.each([true, false])('@skip(if: %p) on edges of loans and readers answers what was asked', async (skip) => {
    for (const list of ['loans', 'readers']) {
      const res = await chain.query(`query($s: Boolean!) { ${list}(first: 3) { totalCount edges @skip(if: $s) { node { id } } } }`, { s: skip });
      expect(res.errors).toBeUndefined();
      expect('edges' in res.data[list]).toBe(!skip);
      if (!skip) expect(res.data[list].edges).toHaveLength(3);
      expect(res.data[list].totalCount).toBeGreaterThan(3);
    }
  });

  it('PageInfo follows the Relay spec through the merge: startCursor is the first edge\'s, hasPreviousPage after a cursor', async () => {
    const Q = `query($a: String) { loans(open: true, first: 3, after: $a) { edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const first = (await chain.query(Q, { a: null })).data.loans;
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false, startCursor: first.edges[0].cursor, endCursor: first.edges[2].cursor });
    const second = (await chain.query(Q, { a: first.pageInfo.endCursor })).data.loans;
    expect(second.pageInfo).toMatchObject({ hasPreviousPage: true, startCursor: second.edges[0].cursor });
  });

  it('a gathered entity field naming no branch is UNKNOWN_BRANCH, as the root field is', async () => {
    const isbn = data.books[0].isbn;
    const res = await chain.query(`query($i: ID!) { book(isbn: $i) { title copies(branchId: "Q9") { id } } }`, { i: isbn });
    expect(res.errors?.map((e: any) => e.extensions.code)).toEqual(['UNKNOWN_BRANCH']);
    expect(res.errors?.[0].message).toMatch(/Q9/);
    const fine = await chain.query(`query($i: ID!) { book(isbn: $i) { copies(branchId: "Q1") { id } } }`, { i: isbn });
    expect(fine.errors).toBeUndefined();
  });

  it('an id that cannot exist is null, not a database error; non-canonical loan ids name no loan', async () => {
    for (const id of ['Q1-9999999999', 'Q1-1', 'Q1-000000001', 'Q9-00000001']) {
      expect(await chain.query(`query($id: ID!) { loan(id: $id) { id } }`, { id })).toEqual({ data: { loan: null } });
    }
  });

  it('a cursor of another list, other filters, or forged values is INVALID_CURSOR', async () => {
    const end = async (q: string) => (await chain.query(q)).data;
    const books = (await end(`{ books(first: 2) { pageInfo { endCursor } } }`)).books.pageInfo.endCursor;
    const loans = (await end(`{ loans(open: true, first: 2) { pageInfo { endCursor } } }`)).loans.pageInfo.endCursor;
    const readers = (await end(`{ readers(first: 2) { pageInfo { endCursor } } }`)).readers.pageInfo.endCursor;
    const forged = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
    const attempts: [string, string][] = [
      ['readers', books],
      ['books', loans],
      ['readers', loans],
      ['loans', readers],
      ['loans(open: false', loans],
      ['loans', forged(['2026-05-01T00:00:00.000Z', 'Q1-9999999999'])],
      ['loans', forged(['-271821-04-20T00:00:00.000Z', 'Q1-00000001'])],
    ];
    for (const [list, after] of attempts) {
      const field = list.includes('(') ? `${list}, first: 2, after: $a)` : `${list}(first: 2, after: $a)`;
      const res = await chain.query(`query($a: String) { ${field} { edges { cursor } } }`, { a: after });
      expect([list, res.errors?.map((e: any) => e.extensions.code)]).toEqual([list, ['INVALID_CURSOR']]);
      expect(JSON.stringify(res.errors)).not.toMatch(/out of range|displacement|integer/);
    }
    // Its own list still pages on.
    expect((await chain.query(`query($a: String) { loans(open: true, first: 2, after: $a) { edges { cursor } } }`, { a: loans })).errors).toBeUndefined();
  });

  it('refuses an alias in the gateway\'s reserved prefix, with an error rather than a blank answer', async () => {
    const res = await chain.query(`{ __lf_x: branches { id } }`);
    expect(res.data).toBeUndefined();
    expect(res.errors?.map((e: any) => e.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.errors?.[0].message).toMatch(/__lf_x/);
  });

  it('refuses a variable in the gateway\'s reserved prefix, which its page variables would collide with', async () => {
    const res = await chain.query(`query($__lf_first: Int) { loans(first: $__lf_first) { edges { cursor } } }`, { __lf_first: 2 });
    expect(res.data).toBeUndefined();
    expect(res.errors?.map((e: any) => e.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.errors?.[0].message).toMatch(/\$__lf_first/);
  });

  it.each([-1, 101])('topBooks(first: %p) is PAGE_SIZE_OUT_OF_RANGE, as a literal and as a variable', async (first) => {
    const literal = await chain.query(`{ topBooks(first: ${first}) { loans } }`);
    const variable = await chain.query(`query($f: Int) { topBooks(first: $f) { loans } }`, { f: first });
    for (const res of [literal, variable]) {
      expect(res.errors?.map((e: any) => [e.extensions.code, e.extensions.argument])).toEqual([['PAGE_SIZE_OUT_OF_RANGE', 'first']]);
    }
  });

  it('answers each topBooks(first:) with its own length, cached or not', async () => {
    for (const n of [3, 5, 3, 5]) expect((await chain.query(`{ topBooks(first: ${n}) { loans } }`)).data.topBooks).toHaveLength(n);
  });

  it('an over-long id is BAD_USER_INPUT naming the argument, and the committed field before it is still answered', async () => {
    const res = await chain.query(`mutation {
      first: registerReader(input: { name: "Vũ Thị Trước", branchId: "Q1" }) { id name }
      second: borrowCopy(readerId: "${'Q1-DG'.padEnd(41, '9')}", copyId: "${data.copies[0].id}") { id }
    }`);
    expect(res.data.first).toMatchObject({ name: 'Vũ Thị Trước' });
    expect(res.data.second).toBeNull();
    expect(res.errors?.map((e: any) => [e.path, e.extensions.code, e.extensions.argument])).toEqual([[['second'], 'BAD_USER_INPUT', 'readerId']]);
    expect(res.errors?.[0].message).toMatch(/at most 40 characters/);
  });
});

import { startTestChain, type TestChain } from './harness';

/**
 * Every request limit through a real gateway (gateway/limits.ts, README
 * "Limits"): each refusal is an HTTP 4xx with a catalogue code, its message
 * names the limit and its value, and the gateway keeps serving. The second
 * gateway of the chain runs with every limit set by its flag, so the flags
 * are seen to take effect. A string argument over the cap is refused before
 * any site is asked, which the sites' own request counters show.
 */
describe('request limits', () => {
  let chain: TestChain;
  /** The gateway with the defaults, and one with every limit changed by its flag. */
  let defaults: string;
  let flagged: string;

  const FLAGS = {
    '--max-depth': 4,
    '--max-cost': 60,
    '--max-aliases': 2,
    '--max-directives': 2,
    '--max-tokens': 60,
    '--max-string-length': 120,
    '--max-body-bytes': 4096,
    '--max-batch-size': 2,
  };

  beforeAll(async () => {
    chain = await startTestChain('pglite', {
      gateways: 2,
      gatewayArgsFor: (i) => (i === 1 ? Object.entries(FLAGS).flatMap(([flag, n]) => [flag, String(n)]) : []),
    });
    defaults = chain.gateways[0].url;
    flagged = chain.gateways[1].url;
  }, 180_000);
  afterAll(() => chain?.close());

  /** POSTs a raw body as the demo manager (lists of readers and mutations need a staff login), keeping the HTTP status. */
  async function post(url: string, body: string): Promise<{ status: number; json: any }> {
    const authorization = `Bearer ${await chain.token('quanly')}`;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body });
    return { status: res.status, json: await res.json() };
  }
  const request = (query: string, variables?: Record<string, unknown>) => JSON.stringify({ query, variables });

  /** A reader's loans, pages of up to 100, as deep as `levels` more reader/loans hops. */
  const deep = (levels: number) => `{ loans(first: 1) { edges { node { ${'reader { loans { '.repeat(levels)}id${' } }'.repeat(levels)} } } } }`;
  /** graphql-armor's cost: each `loans(first: 100)` below costs 8,150 (a page of 100 times its nested selections). */
  const COSTLY = `loans(first: 100) { edges { node { reader { loans { copy { book { title } } } } } } }`;
  const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: branches { id }`).join(' ')} }`;
  const directives = (n: number) => `{ branches { ${Array.from({ length: n }, () => '... @include(if: true) { id }').join(' ')} } }`;
  const tokens = (n: number) => `{ branches { ${'id '.repeat(n)}} }`;
  const batch = (n: number) => JSON.stringify(Array.from({ length: n }, () => ({ query: '{ branches { id } }' })));

  interface Case {
    name: string;
    gateway: () => string;
    body: () => string;
    status: number;
    code: string;
    /** What the message must say: the limit, and its value. */
    says: RegExp[];
    extensions?: Record<string, unknown>;
  }

  const B = 256 * 1024;
  const LIMIT_CASES: Case[] = [
    { name: 'a syntax error', gateway: () => defaults, body: () => request('{ books(first: 1) { totalCount '), status: 400, code: 'GRAPHQL_PARSE_FAILED', says: [/Syntax Error/] },
    { name: 'depth 12', gateway: () => defaults, body: () => request(deep(8)), status: 400, code: 'QUERY_TOO_COMPLEX', says: [/depth limit/, /\b12\b/], extensions: { limit: 'depth', max: 12 } },
    { name: 'cost 20000', gateway: () => defaults, body: () => request(`{ a: ${COSTLY} b: ${COSTLY} c: ${COSTLY} }`), status: 400, code: 'QUERY_TOO_COMPLEX', says: [/Cost limit/, /\b20000\b/], extensions: { limit: 'cost', max: 20000 } },
    { name: 'aliases 30', gateway: () => defaults, body: () => request(aliases(31)), status: 400, code: 'QUERY_TOO_COMPLEX', says: [/Aliases limit/, /\b30\b/], extensions: { limit: 'aliases', max: 30 } },
    { name: 'directives 50', gateway: () => defaults, body: () => request(directives(51)), status: 400, code: 'QUERY_TOO_COMPLEX', says: [/Directives limit/, /\b50\b/], extensions: { limit: 'directives', max: 50 } },
    { name: 'tokens 5000', gateway: () => defaults, body: () => request(tokens(5000)), status: 400, code: 'QUERY_TOO_COMPLEX', says: [/Token limit/, /\b5000\b/], extensions: { limit: 'tokens', max: 5000 } },
    { name: 'body 256 KiB', gateway: () => defaults, body: () => request('{ branches { id } }', { pad: 'x'.repeat(B) }), status: 413, code: 'QUERY_TOO_COMPLEX', says: [/body/, new RegExp(`\\b${B}\\b`)], extensions: { limit: 'bodyBytes', max: B } },
    { name: 'a batch, batching off', gateway: () => defaults, body: () => batch(2), status: 400, code: 'BATCH_TOO_LARGE', says: [/batch size limit 1\b/], extensions: { max: 1, size: 2 } },
    {
      name: 'a 200 KB search, inline',
      gateway: () => defaults,
      body: () => request(`{ books(search: "${'a'.repeat(200_000)}") { totalCount } }`),
      status: 400,
      code: 'ARGUMENT_TOO_LONG',
      says: [/string length limit/, /\b1000\b/, /\bsearch\b/],
      extensions: { field: 'books', argument: 'search', max: 1000, length: 200_000 },
    },
    {
      name: 'a 200 KB search, as a variable',
      gateway: () => defaults,
      body: () => request('query($s: String) { readers(search: $s) { totalCount } }', { s: 'a'.repeat(200_000) }),
      status: 400,
      code: 'ARGUMENT_TOO_LONG',
      says: [/string length limit/, /\b1000\b/],
      extensions: { field: 'readers', argument: 'search', max: 1000, length: 200_000 },
    },
    {
      name: 'a long string nested in a mutation input',
      gateway: () => defaults,
      body: () => request('mutation($t: String!) { x: addBook(input: { isbn: "978-0000000001", title: $t, author: "A" }) { isbn } }', { t: 't'.repeat(1001) }),
      status: 400,
      code: 'ARGUMENT_TOO_LONG',
      says: [/input\.title/, /\b1000\b/],
      extensions: { field: 'x', argument: 'input.title', max: 1000, length: 1001 },
    },
    {
      name: 'an id over the cap',
      gateway: () => defaults,
      body: () => request(`mutation { returnCopy(loanId: "${'Q1-'.padEnd(1001, '9')}") { id } }`),
      status: 400,
      code: 'ARGUMENT_TOO_LONG',
      says: [/loanId/, /\b1000\b/],
    },
    // The same limits set by the flags of the second gateway.
    { name: '--max-depth', gateway: () => flagged, body: () => request(deep(1)), status: 400, code: 'QUERY_TOO_COMPLEX', says: [/depth limit of 4\b/], extensions: { limit: 'depth', max: 4 } },
    { name: '--max-cost', gateway: () => flagged, body: () => request('{ books(first: 20) { totalCount } }'), status: 400, code: 'QUERY_TOO_COMPLEX', says: [/Cost limit of 60\b/], extensions: { limit: 'cost', max: 60 } },
    { name: '--max-aliases', gateway: () => flagged, body: () => request(aliases(3)), status: 400, code: 'QUERY_TOO_COMPLEX', says: [/Aliases limit of 2\b/], extensions: { limit: 'aliases', max: 2 } },
    { name: '--max-directives', gateway: () => flagged, body: () => request(directives(3)), status: 400, code: 'QUERY_TOO_COMPLEX', says: [/Directives limit of 2\b/], extensions: { limit: 'directives', max: 2 } },
    { name: '--max-tokens', gateway: () => flagged, body: () => request(tokens(60)), status: 400, code: 'QUERY_TOO_COMPLEX', says: [/Token limit of 60\b/], extensions: { limit: 'tokens', max: 60 } },
    { name: '--max-body-bytes', gateway: () => flagged, body: () => request('{ branches { id } }', { pad: 'x'.repeat(4096) }), status: 413, code: 'QUERY_TOO_COMPLEX', says: [/\b4096-byte limit/], extensions: { limit: 'bodyBytes', max: 4096 } },
    { name: '--max-batch-size', gateway: () => flagged, body: () => batch(3), status: 400, code: 'BATCH_TOO_LARGE', says: [/at most 2 operations/, /batch size limit/], extensions: { max: 2, size: 3 } },
    {
      name: '--max-string-length',
      gateway: () => flagged,
      body: () => request('query($s: String) { books(search: $s) { totalCount } }', { s: 's'.repeat(121) }),
      status: 400,
      code: 'ARGUMENT_TOO_LONG',
      says: [/string length limit of 120\b/],
      extensions: { argument: 'search', max: 120, length: 121 },
    },
  ];

  async function expectServing(url: string): Promise<void> {
    const ok = await post(url, request('{ branches { id } }'));
    expect([ok.status, ok.json.data?.branches?.length]).toEqual([200, chain.config.sites.length]);
  }

  it.each(LIMIT_CASES.map((c) => [c.name, c] as const))('refuses %s with a 4xx naming the limit, and keeps serving', async (_, c) => {
    const { status, json } = await post(c.gateway(), c.body());
    expect([status, json.errors?.[0]?.extensions?.code]).toEqual([c.status, c.code]);
    expect(json.data).toBeUndefined();
    for (const pattern of c.says) expect(json.errors[0].message).toMatch(pattern);
    if (c.extensions) expect(json.errors[0].extensions).toMatchObject(c.extensions);
    // One error per mistake: no second, vaguer error for the same thing.
    expect(json.errors).toHaveLength(1);
    await expectServing(c.gateway());
  });

  it('answers within the limits: a batch of two on the gateway that allows it, strings at the cap', async () => {
    const two = await post(flagged, batch(2));
    expect(two.status).toBe(200);
    expect(two.json.map((r: any) => r.data.branches.length)).toEqual([3, 3]);
    const atCap = await post(defaults, request('query($s: String) { books(search: $s) { totalCount } }', { s: 'a'.repeat(1000) }));
    expect([atCap.status, atCap.json.errors, atCap.json.data.books.totalCount]).toEqual([200, undefined, 0]);
  });

  it('an id or idempotency key over its own smaller limit still answers its own code', async () => {
    const id = await post(defaults, request('mutation($l: ID!) { returnCopy(loanId: $l) { id } }', { l: 'Q1-'.padEnd(41, '9') }));
    expect(id.json.errors.map((e: any) => [e.extensions.code, e.extensions.argument, e.extensions.max])).toEqual([['BAD_USER_INPUT', 'loanId', 40]]);
    const key = await post(defaults, request('mutation($k: String) { returnCopy(loanId: "Q1-PM404", idempotencyKey: $k) { id } }', { k: 'k'.repeat(101) }));
    expect(key.json.errors.map((e: any) => [e.extensions.code, e.extensions.argument])).toEqual([['BAD_USER_INPUT', 'idempotencyKey']]);
  });

  describe('a string over the cap reaches no site', () => {
    /** Requests every site has served to the gateways, and subgraph fetches the gateway has sent. */
    const served = async () => {
      let sites = 0;
      for (const site of chain.sites.values()) sites += await chain.metric(site.url, 'libfed_site_requests_total');
      return { sites, fetches: await chain.metric(defaults, 'libfed_gateway_site_requests_total') };
    };
    const SEARCH = 'query($s: String) { books(search: $s) { totalCount } readers(search: $s) { totalCount } }';

    it('counts a search that is let through (the counters are the right ones)', async () => {
      const before = await served();
      const res = await post(defaults, request(SEARCH, { s: `within-${Date.now()}` }));
      expect(res.json.errors).toBeUndefined();
      const after = await served();
      expect(after.sites).toBeGreaterThan(before.sites);
      expect(after.fetches).toBeGreaterThan(before.fetches);
    });

    it.each([
      ['as a variable', () => request(SEARCH, { s: 'b'.repeat(200_000) })],
      ['inline', () => request(`{ books(search: "${'b'.repeat(200_000)}") { totalCount } }`)],
      ['in a mutation input', () => request('mutation($n: String!) { registerReader(input: { name: $n, branchId: "Q1" }) { id } }', { n: 'n'.repeat(200_000) })],
    ])('refuses it %s before any site is asked', async (_, body) => {
      const before = await served();
      const res = await post(defaults, body());
      expect([res.status, res.json.errors.map((e: any) => e.extensions.code)]).toEqual([400, ['ARGUMENT_TOO_LONG']]);
      expect(await served()).toEqual(before);
    });
  });

  describe('first out of range is PAGE_SIZE_OUT_OF_RANGE on every list that pages', () => {
    const LISTS: Record<string, string> = {
      books: 'totalCount',
      loans: 'totalCount',
      readers: 'totalCount',
      topBooks: 'loans',
      overdueReport: 'totalCount',
      auditLog: 'pageInfo { hasNextPage }',
    };

    it('covers every field with a `first` argument, reports too (Reader.loans, Copy.loans and Book.copies take none)', async () => {
      const res = await post(defaults, request('{ __schema { types { name fields { name args { name } } } } }'));
      const paged = res.json.data.__schema.types
        .filter((t: any) => !t.name.startsWith('__'))
        .flatMap((t: any) => (t.fields ?? []).filter((f: any) => f.args.some((a: any) => a.name === 'first')).map((f: any) => `${t.name}.${f.name}`));
      expect(paged.sort()).toEqual(Object.keys(LISTS).map((l) => `Query.${l}`).sort());
      const unknown = await post(defaults, request('{ reader(id: "Q1-DG0001") { loans(first: 1) { id } } }'));
      expect([unknown.status, unknown.json.errors[0].extensions.code]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    });

    const BAD = [-1, 101, 1.5, 2 ** 31, 1e12];
    const cases = Object.keys(LISTS).flatMap((list) => [
      ...BAD.map((first) => [list, 'inline', first, () => request(`{ ${list}(first: ${first}) { ${LISTS[list]} } }`)] as const),
      ...BAD.map((first) => [list, 'a variable', first, () => request(`query($f: Int) { ${list}(first: $f) { ${LISTS[list]} } }`, { f: first })] as const),
      // A default must be an Int to be valid GraphQL at all.
      ...[-1, 101].map((first) => [list, 'a variable default', first, () => request(`query($f: Int = ${first}) { ${list}(first: $f) { ${LISTS[list]} } }`, {})] as const),
    ]);

    it.each(cases)('%s(first:) as %s, %p', async (list, _, first, body) => {
      const { status, json } = await post(defaults, body());
      expect([status, json.errors?.map((e: any) => [e.extensions.code, e.extensions.argument, e.extensions.max])]).toEqual([400, [['PAGE_SIZE_OUT_OF_RANGE', 'first', 100]]]);
      expect(json.errors[0].message).toBe(`${list}: first must be an integer between 0 and 100, got ${first}`);
    });

    it.each(Object.keys(LISTS))('%s(first: null) is the default page size, inline and as a variable', async (list) => {
      for (const body of [request(`{ ${list}(first: null) { ${LISTS[list]} } }`), request(`query($f: Int) { ${list}(first: $f) { ${LISTS[list]} } }`, { f: null })]) {
        const { status, json } = await post(defaults, body);
        expect([status, json.errors]).toEqual([200, undefined]);
      }
    });

    it('a page size that is not a number is a type error (BAD_USER_INPUT), not a size', async () => {
      const { status, json } = await post(defaults, request('query($f: Int) { books(first: $f) { totalCount } }', { f: '10' }));
      expect([status, json.errors.map((e: any) => e.extensions.code)]).toEqual([400, ['BAD_USER_INPUT']]);
    });
  });
});

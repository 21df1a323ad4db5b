import type { SubgraphRequest } from '../sites';
import { fakeSites, router, run, SITES } from './fakes';

const cursor = (...values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
const edge = (t: string, id: string) => ({ cursor: cursor(t, id), node: { id } });

describe('FragmentRouter, root fields', () => {
  it('k-way merges a gathered connection by cursor, re-applies first, sums totalCount', async () => {
    const page = (edges: { cursor: string; node: { id: string } }[], more: boolean, total: number) => ({
      data: { loans: { totalCount: total, edges, __lf_edges: edges.map((e) => ({ cursor: e.cursor })), __lf_more: { hasNextPage: more }, pageInfo: { endCursor: null, hasNextPage: more } } },
    });
    const [client, calls] = fakeSites({
      Q1: () => page([edge('2026-05-03', 'Q1-3'), edge('2026-05-01', 'Q1-1')], false, 2),
      Q3: () => page([edge('2026-05-04', 'Q3-9'), edge('2026-05-02', 'Q3-8'), edge('2026-05-02', 'Q3-7')], true, 10),
      Q5: () => page([], false, 0),
    });
    const res = await run(router('loans', client), `{ loans(first: 3) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`);
    expect(calls.map((c) => c.site).sort()).toEqual(SITES);
    expect(res.errors).toBeUndefined();
    const loans = (res.data as any).loans;
    expect(loans.edges.map((e: any) => e.node.id)).toEqual(['Q3-9', 'Q1-3', 'Q3-8']);
    expect(loans.totalCount).toBe(12);
    expect(loans.pageInfo).toEqual({ hasNextPage: true, endCursor: cursor('2026-05-02', 'Q3-8') });
    expect(JSON.stringify(res.data)).not.toContain('__lf_');
  });

  it('pins a gathered field to the site its branch argument names', async () => {
    const [client, calls] = fakeSites({ Q3: () => ({ data: { loanStats: { total: 4, open: 1, overdue: 0 } } }) });
    const res = await run(router('loans', client), `{ loanStats(branchId: "Q3") { total open overdue } }`);
    expect(calls.map((c) => c.site)).toEqual(['Q3']);
    expect(res.data).toEqual({ loanStats: { total: 4, open: 1, overdue: 0 } });
  });

  it('answers UNKNOWN_BRANCH without asking any site', async () => {
    const [client, calls] = fakeSites({});
    const res = await run(router('loans', client), `{ loanStats(branchId: "Q9") { total } }`);
    expect(calls).toEqual([]);
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UNKNOWN_BRANCH']);
  });

  it('sums every number for SUM and keeps the global top k for TOPK', async () => {
    const stats = (total: number) => () => ({ data: { loanStats: { total, open: 1, overdue: 0 } } });
    const [client] = fakeSites({ Q1: stats(5), Q3: stats(7), Q5: stats(1) });
    expect((await run(router('loans', client), `{ loanStats { total open overdue } }`)).data).toEqual({ loanStats: { total: 13, open: 3, overdue: 0 } });

    const groups = (rows: [string, number][]) => (req: SubgraphRequest) => {
      expect(req.query).toContain('first: null');
      return { data: { topBooks: rows.map(([isbn, n]) => ({ book: { isbn }, loans: n, __lf_group: { isbn }, __lf_s0: n })) } };
    };
    // B is no site's own winner, yet it is the chain's top book.
    const [client2] = fakeSites({ Q1: groups([['A', 5], ['B', 4]]), Q3: groups([['C', 5], ['B', 4]]), Q5: groups([['B', 3]]) });
    const res = await run(router('loans', client2), `{ topBooks(first: 2) { book { isbn } loans } }`);
    expect(res.data).toEqual({ topBooks: [{ book: { isbn: 'B' }, loans: 11 }, { book: { isbn: 'A' }, loans: 5 }] });
  });

  it('reads replicated data from the next site when the preferred one is down, with no error', async () => {
    const [client, calls] = fakeSites({ Q1: () => 'down', Q3: () => ({ data: { branches: [{ id: 'Q1' }] } }) });
    const res = await run(router('catalog', client), `{ branches { id } }`);
    expect(res).toEqual({ data: { branches: [{ id: 'Q1' }] } });
    expect(calls.map((c) => c.site)).toEqual(['Q1', 'Q3']);
  });

  it('follows ENTITY_MOVED once and then goes to the new site directly', async () => {
    const moved = { data: { copy: null }, errors: [{ message: 'moved', path: ['copy'], extensions: { code: 'ENTITY_MOVED', site: 'Q5' } }] };
    const [client, calls] = fakeSites({ Q1: () => moved, Q5: () => ({ data: { copy: { id: 'Q1-QS1' } } }) });
    const r = router('inventory', client);
    const q = `{ copy(id: "Q1-QS1") { id } }`;
    expect(await run(r, q)).toEqual({ data: { copy: { id: 'Q1-QS1' } } });
    expect(await run(r, q)).toEqual({ data: { copy: { id: 'Q1-QS1' } } });
    expect(calls.map((c) => c.site)).toEqual(['Q1', 'Q5', 'Q5']);
  });
});

describe('FragmentRouter, _entities', () => {
  const ENTITIES = `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Reader { id name } } }`;

  it('sends each representation to its birth site and puts answers and error paths back in order', async () => {
    const echo = (req: SubgraphRequest) => ({
      data: { _entities: (req.variables!.representations as { id: string }[]).map((r) => (r.id.endsWith('x') ? null : { id: r.id, name: r.id })) },
      errors: (req.variables!.representations as { id: string }[]).flatMap((r, j) => (r.id.endsWith('x') ? [{ message: 'gone', path: ['_entities', j] }] : [])),
    });
    const [client, calls] = fakeSites({ Q1: echo, Q3: echo });
    const reps = ['Q3-a', 'Q1-b', 'Q3-x'].map((id) => ({ __typename: 'Reader', id }));
    const res = await run(router('readers', client), ENTITIES, { representations: reps });
    expect(calls.map((c) => [c.site, (c.request.variables!.representations as any[]).map((r) => r.id)]).sort()).toEqual([
      ['Q1', ['Q1-b']],
      ['Q3', ['Q3-a', 'Q3-x']],
    ]);
    expect((res.data as any)._entities).toEqual([{ id: 'Q3-a', name: 'Q3-a' }, { id: 'Q1-b', name: 'Q1-b' }, null]);
    expect(res.errors).toEqual([{ message: 'gone', path: ['_entities', 2] }]);
  });

  it('reports an owner site that is down at the entity\'s own path', async () => {
    const [client] = fakeSites({ Q1: () => ({ data: { _entities: [{ id: 'Q1-b', name: 'b' }] } }) });
    const reps = ['Q3-a', 'Q1-b'].map((id) => ({ __typename: 'Reader', id }));
    const res = await run(router('readers', client), ENTITIES, { representations: reps });
    expect((res.data as any)._entities).toEqual([null, { id: 'Q1-b', name: 'b' }]);
    expect(res.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.site])).toEqual([[['_entities', 0], 'BRANCH_UNAVAILABLE', 'Q3']]);
  });

  it('gathers a list field from every site, merges it sorted, and reports a missing site once', async () => {
    const loans = (rows: [string, string][]) => (req: SubgraphRequest) => ({
      data: {
        _entities: (req.variables!.representations as unknown[]).map(() => ({
          loans: rows.map(([t, id]) => ({ id, __lf_k0: t, __lf_k1: id })),
        })),
      },
    });
    const [client] = fakeSites({ Q1: loans([['2026-05-03', 'Q1-2'], ['2026-05-01', 'Q1-1']]), Q3: () => 'down', Q5: loans([['2026-05-02', 'Q5-1']]) });
    const res = await run(
      router('loans', client),
      `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Reader { loans { id } } } }`,
      { representations: [{ __typename: 'Reader', id: 'Q3-r' }] },
    );
    expect((res.data as any)._entities).toEqual([{ loans: [{ id: 'Q1-2' }, { id: 'Q5-1' }, { id: 'Q1-1' }] }]);
    expect(res.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.site])).toEqual([[undefined, 'BRANCH_UNAVAILABLE', 'Q3']]);
  });
});

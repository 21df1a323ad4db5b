import type { SubgraphRequest } from '../sites';
import { ENTITIES, fakeSites, router, run } from './fakes';

/** An error inside a gathered list must name the item's place in the merged list the client gets, not in one site's part. */
describe('FragmentRouter, errors inside gathered lists', () => {
  const cursor = (...values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
  const edge = (t: string, id: string) => ({ cursor: cursor(t, id), node: { id, reader: id.endsWith('!') ? null : { id: 'r' } } });
  const page = (edges: ReturnType<typeof edge>[], errors: [number, string][]) => () => ({
    data: { loans: { edges, __lf_edges: edges.map((e) => ({ cursor: e.cursor })), __lf_more: { hasNextPage: false } } },
    errors: errors.map(([j, m]) => ({ message: m, path: ['loans', 'edges', j, 'node', 'reader'], extensions: { code: 'BRANCH_UNAVAILABLE', site: 'Q9' } })),
  });

  it('re-points a root connection\'s error to the merged edge, and leaves one past `first` at the list', async () => {
    const [client] = fakeSites({
      Q1: page([edge('2026-05-03', 'Q1-3!'), edge('2026-05-01', 'Q1-1!')], [[0, 'Q1-3'], [1, 'Q1-1']]),
      Q3: page([edge('2026-05-04', 'Q3-9'), edge('2026-05-02', 'Q3-8!')], [[1, 'Q3-8']]),
      Q5: page([], []),
    });
    const res = await run(router('loans', client), `{ loans(first: 3) { edges { node { id reader { id } } } } }`);
    expect((res.data as any).loans.edges.map((e: any) => e.node.id)).toEqual(['Q3-9', 'Q1-3!', 'Q3-8!']);
    expect(res.errors?.map((e) => [e.message, e.path])).toEqual([
      ['Q1-3', ['loans', 'edges', 1, 'node', 'reader']],
      ['Q1-1', ['loans', 'edges']],
      ['Q3-8', ['loans', 'edges', 2, 'node', 'reader']],
    ]);
  });

  it('re-points an _entities gathered list\'s error to the merged item', async () => {
    const loans = (rows: [string, string][], errorAt?: number) => (req: SubgraphRequest) => ({
      data: { _entities: (req.variables!.representations as unknown[]).map(() => ({ loans: rows.map(([t, id]) => ({ id, copy: null, __lf_k0: t, __lf_k1: id })) })) },
      errors: errorAt === undefined ? undefined : [{ message: 'no copy', path: ['_entities', 0, 'loans', errorAt, 'copy'], extensions: { code: 'BRANCH_UNAVAILABLE', site: 'Q9' } }],
    });
    const [client] = fakeSites({ Q1: loans([['2026-05-03', 'Q1-2'], ['2026-05-01', 'Q1-1']], 1), Q3: loans([]), Q5: loans([['2026-05-02', 'Q5-1']], 0) });
    const res = await run(router('loans', client), ENTITIES('... on Reader { loans { id copy { id } } }'), { representations: [{ __typename: 'Reader', id: 'Q3-r' }] });
    expect((res.data as any)._entities[0].loans.map((l: any) => l.id)).toEqual(['Q1-2', 'Q5-1', 'Q1-1']);
    expect(res.errors?.map((e) => e.path).sort()).toEqual([
      ['_entities', 0, 'loans', 1, 'copy'],
      ['_entities', 0, 'loans', 2, 'copy'],
    ]);
  });
});

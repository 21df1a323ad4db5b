import type { DemoData } from '../sql/seed';
import { demoData } from './fixture';
import { BACKENDS, startTestChain, type TestChain } from './harness';

/**
 * One `_entities` fetch of 5,000 readers at a site, some ids not ASCII: the site's loaders
 * (readers by id, then locations for the ones not held) split their IN lists under SQL
 * Server's parameter limit and bind every key with its column's type, and every key is
 * answered, in order.
 */
describe.each(BACKENDS)('5,000 keys in one fetch (%s)', (backend) => {
  let chain: TestChain;
  let data: DemoData;

  beforeAll(async () => {
    chain = await startTestChain(backend);
    data = demoData(chain.config);
  }, 180_000);
  afterAll(() => chain?.close());

  it('answers every key in order: held readers with their rows, unknown and non-ASCII ids with null', async () => {
    const moved = new Set(data.locations.filter((l) => l.entity === 'Reader').map((l) => l.id));
    const held = data.readers.filter((r) => r.homeBranchId === 'Q1');
    const names = new Map(held.map((r) => [r.id, r.name]));
    const ids = Array.from({ length: 5000 }, (_, i) => {
      if (i % 7 === 0) return `Q1-DGỄ${i}`; // not ASCII: must not turn the batch into nvarchar on SQL Server
      if (i % 3 === 0) return `Q1-DG9${String(i).padStart(6, '0')}`; // born here, never registered
      return held[i % held.length].id;
    }).filter((id) => !moved.has(id));
    const res = await chain.siteFetch(`${chain.sites.get('Q1')!.url}/readers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Reader { id name } } }',
        variables: { r: ids.map((id) => ({ __typename: 'Reader', id })) },
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { _entities: ({ id: string; name: string } | null)[] }; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    expect(body.data._entities).toHaveLength(ids.length);
    expect(body.data._entities).toEqual(ids.map((id) => (names.has(id) ? { id, name: names.get(id) } : null)));
    expect(ids.length).toBeGreaterThan(4900);
  }, 120_000);
});

import { lruLocations } from '../locations';
import type { MutationRunner } from '../mutations';
import { ENTITIES, fakeSites, movingEntity, router, run } from './fakes';

/** docs/ARCHITECTURE.md §3 rule 4: a remembered location is a hint; the birth site always knows where an entity lives now. */
describe('FragmentRouter, remembered locations', () => {
  const ID = 'Q1-DG0001';
  const READER = { id: ID, name: 'Lê Văn Tám' };
  const LOOKUP = `{ reader(id: "${ID}") { id name } }`;

  it('asks the birth site when the remembered site of a root lookup does not answer, and remembers the new place', async () => {
    const { state, handlers } = movingEntity(ID, READER, 'Q3');
    const [client, calls] = fakeSites(handlers);
    const r = router('readers', client);
    expect(await run(r, LOOKUP)).toEqual({ data: { reader: READER } });
    expect(calls.map((c) => c.site)).toEqual(['Q1', 'Q3']);
    // Moved on through another gateway; the site this router remembers is down.
    state.at = 'Q5';
    state.down.add('Q3');
    calls.length = 0;
    expect(await run(r, LOOKUP)).toEqual({ data: { reader: READER } });
    expect(calls.map((c) => c.site)).toEqual(['Q3', 'Q1', 'Q5']);
    calls.length = 0;
    expect(await run(r, LOOKUP)).toEqual({ data: { reader: READER } });
    expect(calls.map((c) => c.site)).toEqual(['Q5']);
  });

  it('reports the remembered site once when the birth site points back at it and it is still down', async () => {
    const { state, handlers } = movingEntity(ID, READER, 'Q3');
    const [client, calls] = fakeSites(handlers);
    const r = router('readers', client);
    await run(r, LOOKUP);
    state.down.add('Q3');
    calls.length = 0;
    const res = await run(r, LOOKUP);
    expect(res.data).toEqual({ reader: null });
    expect(res.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.site])).toEqual([[['reader'], 'BRANCH_UNAVAILABLE', 'Q3']]);
    expect(calls.map((c) => c.site)).toEqual(['Q3', 'Q1']);
  });

  it('asks the birth site when the remembered site of an _entities representation does not answer', async () => {
    const { state, handlers } = movingEntity(ID, READER, 'Q3');
    const [client, calls] = fakeSites(handlers);
    const r = router('readers', client);
    const fetch = () => run(r, ENTITIES('... on Reader { id name }'), { representations: [{ __typename: 'Reader', id: ID }] });
    expect(await fetch()).toEqual({ data: { _entities: [READER] } });
    state.at = 'Q5';
    state.down.add('Q3');
    calls.length = 0;
    expect(await fetch()).toEqual({ data: { _entities: [READER] } });
    expect(calls.map((c) => c.site)).toEqual(['Q3', 'Q1', 'Q5']);
  });
});

describe('FragmentRouter, remembered locations inside _entities', () => {
  it('does not ask a down remembered site twice when the birth site points back at it', async () => {
    const ID = 'Q1-DG0001';
    const { state, handlers } = movingEntity(ID, { id: ID }, 'Q3');
    const [client, calls] = fakeSites(handlers);
    const r = router('readers', client);
    const fetch = () => run(r, ENTITIES('... on Reader { id }'), { representations: [{ __typename: 'Reader', id: ID }] });
    await fetch();
    state.down.add('Q3');
    calls.length = 0;
    const res = await fetch();
    expect(res.data).toEqual({ _entities: [null] });
    expect(res.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.site])).toEqual([[['_entities', 0], 'BRANCH_UNAVAILABLE', 'Q3']]);
    expect(calls.map((c) => c.site)).toEqual(['Q3', 'Q1']);
  });
});

describe('FragmentRouter, one locations store per gateway', () => {
  it('a committed move is known to every router of the gateway before the read-back', async () => {
    const ID = 'Q1-DG0001';
    const READER = { id: ID, name: 'Lê Văn Tám' };
    // Phase 2 has not reached the birth site yet: it does not answer.
    const { state, handlers } = movingEntity(ID, READER, 'Q5');
    state.down.add('Q1');
    const [client, calls] = fakeSites(handlers);
    const mutations: MutationRunner = {
      run: async () => ({ key: ID, gid: 'gw-1-a', moved: { id: ID, site: 'Q5' } }),
      view: async () => null,
    };
    const locations = lruLocations({ max: 100 });
    const writer = router('readers', client, { mutations, locations });
    const other = router('readers', client, { locations });
    expect(await run(writer, `mutation { moveReader(readerId: "${ID}", toBranchId: "Q5") { id name } }`)).toEqual({ data: { moveReader: READER } });
    expect(await run(other, ENTITIES('... on Reader { id name }'), { representations: [{ __typename: 'Reader', id: ID }] })).toEqual({ data: { _entities: [READER] } });
    expect(await run(other, `{ reader(id: "${ID}") { id name } }`)).toEqual({ data: { reader: READER } });
    expect(calls.map((c) => c.site)).toEqual(['Q5', 'Q5', 'Q5']);
    expect(locations.get(ID)).toBe('Q5');
  });
});

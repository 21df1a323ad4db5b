import { ENTITIES, fakeSites, router, run } from './fakes';

/** An `_entities` answer that does not line up with its representations is an error, as Apollo's gateway treats it. */
describe('an _entities answer of the wrong length', () => {
  it('answers null for each representation with an error, instead of shifting answers onto the wrong entities', async () => {
    const reader = (id: string) => ({ __typename: 'Reader', id, name: `name of ${id}` });
    const [client] = fakeSites({
      // Q1 drops one of the two readers it was asked for.
      Q1: () => ({ data: { _entities: [reader('Q1-DG0002')] } }),
    });
    const res = await run(router('readers', client), ENTITIES('... on Reader { id name }'), {
      representations: [{ __typename: 'Reader', id: 'Q1-DG0001' }, { __typename: 'Reader', id: 'Q1-DG0002' }],
    });
    expect(res.data).toEqual({ _entities: [null, null] });
    expect(res.errors?.map((e) => [e.extensions?.code, e.extensions?.site])).toEqual([['INTERNAL_SERVER_ERROR', 'Q1']]);
  });
});

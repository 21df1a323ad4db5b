import { libfedError } from '../../../schema';
import type { MutationResult, MutationRunner } from '../mutations';
import { fakeSites, movingEntity, router, run } from './fakes';

/** A MutationRunner that answers `results` in turn (an Error is thrown: a refusal); returns [runner, calls]. */
function fakeCoordinator(results: (MutationResult | Error)[]): [MutationRunner, { field: string; args: Record<string, unknown> }[]] {
  const calls: { field: string; args: Record<string, unknown> }[] = [];
  const runner: MutationRunner = {
    async run(field, args) {
      calls.push({ field, args });
      const next = results.shift();
      if (!next) throw new Error('no more results');
      if (next instanceof Error) throw next;
      return next;
    },
    view: async () => {
      throw new Error('no views');
    },
  };
  return [runner, calls];
}

const COPY = 'Q1-QS00001';
const TRANSFER = `mutation { transferCopy(copyId: "${COPY}", toBranchId: "Q5") { id branch { id } } }`;
const moved: MutationResult = { key: COPY, gid: 'gw-1-a', moved: { id: COPY, site: 'Q5' } };
const entity = { id: COPY, branch: { id: 'Q5' } };

describe('FragmentRouter, mutations', () => {
  it('reads a moved entity back at its new site at once, even when its birth site does not answer yet', async () => {
    // Phase 2 has not reached the birth site: it still points at the old place, or is frozen.
    const { state, handlers } = movingEntity(COPY, entity, 'Q5');
    state.down.add('Q1');
    const [client, calls] = fakeSites(handlers);
    const [mutations] = fakeCoordinator([moved]);
    const res = await run(router('inventory', client, { mutations }), TRANSFER);
    expect(res).toEqual({ data: { transferCopy: entity } });
    expect(calls.map((c) => c.site)).toEqual(['Q5']);
  });

  it('retries a failed read-back once, through the birth site', async () => {
    const { state, handlers } = movingEntity(COPY, entity, 'Q5');
    state.down.add('Q5');
    const [client, calls] = fakeSites({ ...handlers, Q1: (req) => (state.down.delete('Q5'), handlers.Q1(req)) });
    const [mutations] = fakeCoordinator([moved]);
    const res = await run(router('inventory', client, { mutations }), TRANSFER);
    expect(res).toEqual({ data: { transferCopy: entity } });
    // The new site times out; the birth site points at it; it answers the second time.
    expect(calls.map((c) => c.site)).toEqual(['Q5', 'Q1', 'Q5']);
  });

  it('answers TX_COMMITTED_READ_FAILED, once, when the committed entity cannot be read back', async () => {
    const { state, handlers } = movingEntity(COPY, entity, 'Q5');
    state.down.add('Q5');
    state.down.add('Q1');
    const [client] = fakeSites(handlers);
    const [mutations] = fakeCoordinator([moved]);
    const res = await run(router('inventory', client, { mutations }), TRANSFER);
    expect(res.data).toEqual({ transferCopy: null });
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]).toMatchObject({ path: ['transferCopy'], extensions: { code: 'TX_COMMITTED_READ_FAILED', gid: 'gw-1-a', id: COPY } });
    expect(res.errors![0].message).toMatch(/committed.*gw-1-a.*do not retry/i);
  });

  it('never answers a mutation field null without an error: a read-back that finds nothing is a read failure', async () => {
    const [client, calls] = fakeSites({ Q1: (req) => ({ data: { [Object.keys(req.variables ?? {}).length ? 'addCopy' : 'x']: null } }) });
    const [mutations] = fakeCoordinator([{ key: 'Q1-QS00009', gid: 'gw-1-b' }]);
    const res = await run(router('inventory', client, { mutations }), `mutation { addCopy(isbn: "978", branchId: "Q1") { id } }`);
    expect(res.data).toEqual({ addCopy: null });
    expect(res.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['addCopy'], 'TX_COMMITTED_READ_FAILED']]);
    expect(calls.map((c) => c.site)).toEqual(['Q1', 'Q1']);
  });

  it('answers the committed fields of an operation whose later field is refused', async () => {
    const { handlers } = movingEntity(COPY, entity, 'Q5');
    const [client] = fakeSites(handlers);
    const [mutations, calls] = fakeCoordinator([moved, libfedError('SAME_BRANCH', `copy ${COPY} is already at Q5`)]);
    const res = await run(
      router('inventory', client, { mutations }),
      `mutation { first: transferCopy(copyId: "${COPY}", toBranchId: "Q5") { id branch { id } } again: transferCopy(copyId: "${COPY}", toBranchId: "Q5") { id } }`,
    );
    expect(calls.map((c) => c.field)).toEqual(['transferCopy', 'transferCopy']);
    expect(res.data).toEqual({ first: entity, again: null });
    expect(res.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['again'], 'SAME_BRANCH']]);
  });
});

import type { DemoData } from '../sql/seed';
import { demoData } from './fixture';
import { startTestChain, type TestChain } from './harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A committed mutation's answer is read back after the commit; a site frozen
 * or slow then must not turn a durable change into a null without an error.
 * One short-timeout chain on PGlite: the rule is the gateway's, not the engine's.
 */
describe('answers of committed mutations', () => {
  let chain: TestChain;
  let data: DemoData;

  beforeAll(async () => {
    chain = await startTestChain('pglite', { siteTimeoutMs: 1500, gatewayArgs: ['--lock-wait-ms', '8000'] });
    data = demoData(chain.config);
  }, 180_000);
  afterAll(() => chain?.close());

  /** An available copy born at one site, living at a second, to be sent to a third. */
  const movedCopy = (skip: string[] = []) => {
    const sites = [...chain.sites.keys()];
    const l = data.locations.find(
      (x) => x.entity === 'Copy' && !skip.includes(x.id) && data.copies.some((c) => c.id === x.id && c.status === 'Có sẵn') && sites.some((s) => x.id.startsWith(`${s}-`)),
    )!;
    const born = l.id.slice(0, l.id.indexOf('-'));
    return { id: l.id, born, at: l.site, to: sites.find((s) => s !== born && s !== l.site)!, isbn: data.copies.find((c) => c.id === l.id)!.isbn };
  };
  const prepared = async (site: string) => ((await chain.tx(site, 'status')).prepared as { gid: string }[]).map((p) => p.gid);

  it('a transferCopy whose phase 2 waits on a frozen birth site answers the committed copy at its new branch', async () => {
    const c = movedCopy();
    const Q = `query($id: ID!) { copy(id: $id) { id branch { id } } }`;
    // The gateway learns where the copy lives now (its birth site points there).
    expect((await chain.query(Q, { id: c.id })).data.copy).toEqual({ id: c.id, branch: { id: c.at } });
    // Hold the target's lock on the copy, so the commit point waits while the birth site is frozen after voting.
    const blocker = `blocker-${c.id}`;
    const deadline = new Date(Date.now() + 60_000).toISOString();
    expect(await chain.tx(c.to, 'prepare', { gid: blocker, ops: [{ kind: 'copy.insert', copyId: c.id, isbn: c.isbn, branchId: c.to }], commitSite: c.born, deadline })).toEqual({ vote: 'PREPARED' });
    const birth = chain.sites.get(c.born)!.child;
    try {
      const answer = chain.query(`mutation($id: ID!, $to: ID!) { transferCopy(copyId: $id, toBranchId: $to) { id branch { id } } }`, { id: c.id, to: c.to });
      const until = Date.now() + 10_000;
      while ((await prepared(c.born)).length === 0 || (await prepared(c.at)).length === 0) {
        if (Date.now() > until) throw new Error('the transfer never prepared');
        await sleep(20);
      }
      birth.kill('SIGSTOP');
      expect(await chain.tx(c.to, 'abort', { gid: blocker })).toEqual({ state: 'ABORTED' });
      const res = await answer;
      expect(res).toEqual({ data: { transferCopy: { id: c.id, branch: { id: c.to } } } });
    } finally {
      birth.kill('SIGCONT');
    }
    // Phase 2 reaches the thawed birth site in the background: it points at the new branch.
    const until = Date.now() + 10_000;
    while ((await chain.tx(c.born, 'locate', { entity: 'Copy', id: c.id })).site !== c.to && Date.now() < until) await sleep(100);
    expect(await chain.tx(c.born, 'locate', { entity: 'Copy', id: c.id })).toEqual({ held: false, site: c.to });
    expect((await chain.query(Q, { id: c.id })).data.copy).toEqual({ id: c.id, branch: { id: c.to } });
  }, 60_000);

  it('answers the committed first field of a mutation whose second field is refused', async () => {
    const c = movedCopy([movedCopy().id]);
    const res = await chain.query(
      `mutation($id: ID!, $to: ID!) { first: transferCopy(copyId: $id, toBranchId: $to) { id branch { id } } again: transferCopy(copyId: $id, toBranchId: $to) { id } }`,
      { id: c.id, to: c.to },
    );
    expect(res.data).toEqual({ first: { id: c.id, branch: { id: c.to } }, again: null });
    expect(res.errors?.map((e: any) => [e.path, e.extensions.code])).toEqual([[['again'], 'SAME_BRANCH']]);
  }, 30_000);
});

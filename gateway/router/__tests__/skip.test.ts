import { parse, print } from 'graphql';
import { GuardedSiteClient, SiteHealth, type SiteClient, type SiteGuard } from '../sites';
import { ENTITIES, fakeSites, router, run, SITES } from './fakes';

/** A guard that refuses the sites in `suspected`, and counts the fetches that went through it: [guard, passed]. */
function fakeGuard(suspected: Set<string>): [SiteGuard, string[]] {
  const passed: string[] = [];
  const guard: SiteGuard = {
    refusal: (site) => (suspected.has(site) ? `its heartbeats stopped (phi 9.0 ≥ 8)` : undefined),
    through: (site, call) => {
      passed.push(site);
      return call();
    },
  };
  return [guard, passed];
}

/** docs/ARCHITECTURE.md §3 rule 5: a site the failure detector suspects is skipped at once, never waited on. */
describe('FragmentRouter, suspected sites', () => {
  const stats = (total: number) => () => ({ data: { loanStats: { total } } });

  it('answers a gathered field from the others and names the suspected branch, without asking it', async () => {
    const [sites, calls] = fakeSites({ Q1: stats(5), Q3: stats(7), Q5: stats(1) });
    const [guard, passed] = fakeGuard(new Set(['Q3']));
    const res = await run(router('loans', new GuardedSiteClient(sites, guard)), `{ loanStats { total } }`);
    expect(calls.map((c) => c.site).sort()).toEqual(['Q1', 'Q5']);
    expect(passed.sort()).toEqual(['Q1', 'Q5']);
    expect(res.data).toEqual({ loanStats: { total: 6 } });
    expect(res.errors?.map((e) => [e.extensions?.code, e.extensions?.site])).toEqual([['BRANCH_UNAVAILABLE', 'Q3']]);
    expect(res.errors?.[0].message).toContain('heartbeats stopped');
  });

  it('reads replicated data from a site that is not suspected first, with no error', async () => {
    const branches = () => ({ data: { branches: [{ id: 'Q1' }] } });
    const [sites, calls] = fakeSites({ Q1: branches, Q3: branches, Q5: branches });
    const suspected = new Set(['Q1']);
    const [guard] = fakeGuard(suspected);
    const health = new SiteHealth(() => SITES, { suspected: (s) => suspected.has(s) });
    const r = router('catalog', new GuardedSiteClient(sites, guard), { health });
    for (let i = 0; i < 5; i++) expect(await run(r, `{ branches { id } }`)).toEqual({ data: { branches: [{ id: 'Q1' }] } });
    expect(calls.map((c) => c.site)).not.toContain('Q1');
    // Once it is no longer suspected (heartbeats back), it is asked again.
    suspected.delete('Q1');
    health.succeeded('Q3', 50);
    health.succeeded('Q5', 50);
    await run(r, `{ branches { id } }`);
    expect(calls.at(-1)?.site).toBe('Q1');
  });

  it("reports an owned entity at a suspected site at its own path, and asks the other sites for theirs", async () => {
    const echo = (req: { variables?: Record<string, unknown> }) => ({ data: { _entities: (req.variables!.representations as { id: string }[]).map((r) => ({ id: r.id })) } });
    const [sites, calls] = fakeSites({ Q1: echo, Q3: echo, Q5: echo });
    const [guard] = fakeGuard(new Set(['Q5']));
    const res = await run(router('readers', new GuardedSiteClient(sites, guard)), ENTITIES('... on Reader { id }'), {
      representations: [{ __typename: 'Reader', id: 'Q5-DG1' }, { __typename: 'Reader', id: 'Q1-DG2' }],
    });
    expect(calls.map((c) => c.site)).toEqual(['Q1']);
    expect(res.data).toEqual({ _entities: [null, { id: 'Q1-DG2' }] });
    expect(res.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.site])).toEqual([[['_entities', 0], 'BRANCH_UNAVAILABLE', 'Q5']]);
  });

  it("gives every site fetch the request's deadline, and sends none once it has passed (not the site's fault: not through its breaker)", async () => {
    const deadlines: (number | undefined)[] = [];
    const [inner] = fakeSites({ Q1: stats(1), Q3: stats(2), Q5: stats(3) });
    const recording: SiteClient = { send: (site, subgraph, request, deadlineAt) => (deadlines.push(deadlineAt), inner.send(site, subgraph, request, deadlineAt)) };
    const [guard, passed] = fakeGuard(new Set());
    const r = router('loans', new GuardedSiteClient(recording, guard));
    const ask = (deadlineAt: number) => r.process({ request: { query: print(parse(`{ loanStats { total } }`)), variables: {} }, context: { deadlineAt }, kind: 'health check' } as never);
    const deadlineAt = Date.now() + 60_000;
    expect((await ask(deadlineAt)).data).toEqual({ loanStats: { total: 6 } });
    expect(deadlines).toEqual([deadlineAt, deadlineAt, deadlineAt]);
    const late = await ask(Date.now() - 1);
    expect(late.errors?.map((e) => e.extensions?.code)).toEqual(['BRANCH_UNAVAILABLE', 'BRANCH_UNAVAILABLE', 'BRANCH_UNAVAILABLE']);
    expect(late.errors?.[0].message).toContain('time budget ran out');
    expect(passed).toHaveLength(3);
  });
});

import { alternateRounds } from '../measure';
import { scenarioResult } from '../results';
import { queryTarget, type Scenario } from '../scenario';

/**
 * Routing overhead: what LibFed's fragment router costs on queries that need
 * one site, against a plain @apollo/gateway over one site holding everything.
 * LibFed runs with `--no-cache`, so every request is routed and fetched.
 */
const LIST = '{ readers(branchId: "Q1", first: 20) { edges { node { id name } } } }';
const LOOKUP = 'query($id: ID!) { reader(id: $id) { id name } }';

export const routing: Scenario = {
  id: 'routing',
  title: '1. Routing overhead',
  description:
    'A single-branch list (`readers(branchId: "Q1", first: 20)`) and a located lookup (`reader(id)` of a reader registered at Q3), 4 connections. ' +
    'Baseline: a plain @apollo/gateway over one site holding every branch\'s rows, which is what a chain would run without LibFed; ' +
    'LibFed with `--no-cache`, so the figures are the router and the fetch, not the cache. On the central site every reader is at Q1, so the list reads 20 of all readers there and 20 of Q1\'s at LibFed.',
  columns: [
    { metric: 'p50Ms', label: 'p50 ms' },
    { metric: 'p99Ms', label: 'p99 ms' },
    { metric: 'rps', label: 'req/s' },
    { metric: 'cpuMsPerRequest', label: 'CPU ms/req' },
  ],
  usesFixture: true,
  async run(o, f) {
    const fx = f!;
    const readerId = fx.data.readers.find((r) => r.homeBranchId === 'Q3' && r.id.startsWith('Q3-'))!.id;
    const points = [
      { label: 'list', query: LIST, variables: {} },
      { label: 'lookup', query: LOOKUP, variables: { id: readerId } },
    ];
    const targets = points.flatMap((p) => {
      const baseline = `${p.label}: plain @apollo/gateway, one site`;
      return [
        queryTarget({ name: baseline, url: fx.plain.url, query: p.query, variables: p.variables, connections: 4, processes: () => fx.centralised(fx.plain) }),
        queryTarget({ name: `${p.label}: LibFed --no-cache`, baseline, url: fx.noCache.url, query: p.query, variables: p.variables, token: fx.token, connections: 4, processes: () => fx.libfed(fx.noCache) }),
      ];
    });
    const rounds = await alternateRounds(targets, o);
    return scenarioResult(routing, rounds, (name) => targets.find((t) => t.name === name)!.baseline ?? name);
  },
};

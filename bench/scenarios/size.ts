import { alternateRounds } from '../measure';
import { scenarioResult } from '../results';
import { queryTarget, type Scenario } from '../scenario';

/**
 * Result size: one branch's loans with one entity hop each (the copy), at
 * `first` 1, 20 and 100, so what grows is the answer, not the number of sites.
 */
const query = (first: number) => `{ loans(branchId: "Q1", first: ${first}) { edges { node { id borrowedAt returnedAt copy { id status } } } } }`;

export const size: Scenario = {
  id: 'size',
  title: '5. Result size',
  description:
    '`loans(branchId: "Q1", first: N) { … copy { id status } }` at N = 1, 20 and 100 (1 and 100 with `--quick`), 4 connections. ' +
    'Baseline at each N: the plain @apollo/gateway over one site with all the data; against it LibFed `--no-cache` (one site answers the list, the copies are fetched by entity). ' +
    'On the central site every loan is at Q1, so it pages through all loans where LibFed pages through Q1\'s; both return N rows. KiB per request is the answer\'s size.',
  columns: [
    { metric: 'p50Ms', label: 'p50 ms' },
    { metric: 'p99Ms', label: 'p99 ms' },
    { metric: 'cpuMsPerRequest', label: 'CPU ms/req' },
    { metric: 'kibPerRequest', label: 'KiB/req' },
  ],
  usesFixture: true,
  async run(o, f) {
    const fx = f!;
    const sizes = o.quick ? [1, 100] : [1, 20, 100];
    const targets = sizes.flatMap((n) => {
      const baseline = `first ${n}: plain @apollo/gateway, one site`;
      return [
        queryTarget({ name: baseline, url: fx.plain.url, query: query(n), connections: 4, processes: () => fx.centralised(fx.plain) }),
        queryTarget({ name: `first ${n}: LibFed --no-cache`, baseline, url: fx.noCache.url, query: query(n), token: fx.token, connections: 4, processes: () => fx.libfed(fx.noCache) }),
      ];
    });
    const rounds = await alternateRounds(targets, o);
    return scenarioResult(size, rounds, (name) => targets.find((t) => t.name === name)!.baseline ?? name);
  },
};

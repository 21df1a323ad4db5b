import { alternateRounds } from '../measure';
import { RESPONSE_CACHE_TTL_S } from '../fixture';
import { scenarioResult } from '../results';
import { queryTarget, type Scenario } from '../scenario';

/** The nested entity query: one list, then an entity hop per level, across branches at LibFed. */
export const NESTED_QUERY = `{ loans(first: 20) { edges { node { id reader { name loans { id copy { status book { title } } } } } } } }`;

export const nested: Scenario = {
  id: 'nested',
  aliases: ['cache'],
  title: '2. Nested entity query',
  description:
    '`loans(first: 20) → reader → loans → copy → book`, 8 connections. Baseline: a plain @apollo/gateway over one central site holding all branches\' data ' +
    `(no distribution at all: one database, every join local). Second baseline, what a user would add for speed: the same plain gateway with a whole-response cache, TTL ${RESPONSE_CACHE_TTL_S} s ` +
    '(an in-process equivalent of `@apollo/server-plugin-response-cache`, which is not a dependency of LibFed; bench/response-cache.ts). ' +
    'LibFed over 3 sites with the cache off, with its coherent entity cache warm but `--no-response-cache`, and with both its caches warm (the default). A response cache answers a repeated query without any work, but serves stale data after a write (scenario 3); LibFed\'s cache never does.',
  columns: [
    { metric: 'rps', label: 'req/s' },
    { metric: 'p50Ms', label: 'p50 ms' },
    { metric: 'p99Ms', label: 'p99 ms' },
    { metric: 'cpuMsPerRequestGateway', label: 'CPU ms/req gateway' },
    { metric: 'cpuMsPerRequestSites', label: 'CPU ms/req sites' },
  ],
  usesFixture: true,
  async run(o, f) {
    const fx = f!;
    const baseline = 'plain @apollo/gateway, one site';
    const common = { query: NESTED_QUERY, connections: 8 };
    const targets = [
      queryTarget({ ...common, name: baseline, url: fx.plain.url, processes: () => fx.centralised(fx.plain) }),
      queryTarget({ ...common, name: `plain + response cache ${RESPONSE_CACHE_TTL_S} s`, baseline, url: fx.plainCached.url, processes: () => fx.centralised(fx.plainCached) }),
      queryTarget({ ...common, name: 'LibFed, cache off', baseline, url: fx.noCache.url, token: fx.token, processes: () => fx.libfed(fx.noCache) }),
      queryTarget({ ...common, name: 'LibFed, warm entity cache only', baseline, url: fx.entityCacheOnly.url, token: fx.token, processes: () => fx.libfed(fx.entityCacheOnly) }),
      queryTarget({ ...common, name: 'LibFed, warm cache', baseline, url: fx.chain.gateways[0].url, token: fx.token, processes: () => fx.libfed(fx.chain.gateways[0]) }),
    ];
    const rounds = await alternateRounds(targets, o);
    return scenarioResult(nested, rounds, (name) => targets.find((t) => t.name === name)!.baseline ?? name);
  },
};

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signFetch } from '../../platform';
import type { Fixture } from '../fixture';
import { alternateRounds, type LoadTarget } from '../measure';
import { reportBytes } from '../report-bytes';
import { scenarioResult } from '../results';
import { queryTarget, type Scenario } from '../scenario';

/**
 * Reports: loans opened and returned per branch over the last year
 * (`circulation(groupBy: BRANCH)`), computed where the data lives (each site
 * one aggregate statement, the gateway merges the groups) against the naive
 * plan a federation without pushdown would run: fetch every loan row from
 * every site, page by page, and count in the gateway. Both answer the same
 * figures (checked before the rounds).
 */
const PUSHDOWN = 'query($from: DateTime!, $to: DateTime!) { circulation(from: $from, to: $to, groupBy: BRANCH) { key opened returned } }';
const ROWS = 'query($a: String) { loans(first: 100, after: $a) { pageInfo { hasNextPage endCursor } edges { node { branch { id } borrowedAt returnedAt } } } }';

interface Row {
  branch: { id: string };
  borrowedAt: string;
  returnedAt: string | null;
}

type Groups = { key: string; opened: number; returned: number }[];

/** The naive plan as an HTTP endpoint, so the same load generator drives both; it counts the bytes the sites sent it. */
async function naivePlan(fx: Fixture, period: { from: string; to: string }): Promise<{ url: string; siteBytes: () => { bytes: number; requests: number }; close: () => Promise<void> }> {
  const secret = fx.chain.siteSecrets[0];
  let bytes = 0;
  let requests = 0;
  const rowsOf = async (siteUrl: string): Promise<Row[]> => {
    const rows: Row[] = [];
    let after: string | null = null;
    do {
      const url = `${siteUrl}/loans`;
      const response = await fetch(url, signFetch(secret, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: ROWS, variables: { a: after } }) }));
      const text = await response.text();
      bytes += Buffer.byteLength(text);
      const page = (JSON.parse(text) as { data: { loans: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: Row }[] } } }).data.loans;
      rows.push(...page.edges.map((e) => e.node));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after !== null);
    return rows;
  };
  const answer = async (): Promise<Groups> => {
    const rows = (await Promise.all([...fx.chain.sites.values()].map((site) => rowsOf(site.url)))).flat();
    const within = (at: string | null) => at !== null && at >= period.from && at < period.to;
    const groups = new Map<string, { opened: number; returned: number }>();
    for (const row of rows) {
      const g = groups.get(row.branch.id) ?? { opened: 0, returned: 0 };
      if (within(new Date(row.borrowedAt).toISOString())) g.opened++;
      if (within(row.returnedAt && new Date(row.returnedAt).toISOString())) g.returned++;
      groups.set(row.branch.id, g);
    }
    return [...groups].filter(([, g]) => g.opened + g.returned > 0).map(([key, g]) => ({ key, ...g })).sort((a, b) => a.key.localeCompare(b.key));
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      try {
        const circulation = await answer();
        requests++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { circulation } }));
      } catch (error) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: String(error) }] }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    siteBytes: () => ({ bytes, requests }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export const reports: Scenario = {
  id: 'reports',
  title: '7. Reports',
  description:
    '`circulation(from, to, groupBy: BRANCH)` over the last year, 4 connections, through LibFed `--no-cache` (each site aggregates its fragment in one statement; the gateway merges the groups), ' +
    'against the naive plan (baseline): every loan row fetched from every site, 100 a page, and counted in the aggregator. Site KiB/req is what the sites sent per answer. ' +
    'The issue asks for this at `--scale 10`: `npm run bench -- reports --scale 10`.',
  columns: [
    { metric: 'p50Ms', label: 'p50 ms' },
    { metric: 'p99Ms', label: 'p99 ms' },
    { metric: 'cpuMsPerRequestSites', label: 'site CPU ms/req' },
    { metric: 'siteKiBPerRequest', label: 'site KiB/req' },
  ],
  usesFixture: true,
  async run(o, f) {
    const fx = f!;
    const to = new Date(Date.now() + 86_400_000).toISOString();
    const period = { from: new Date(Date.now() - 365 * 86_400_000).toISOString(), to };
    const naive = await naivePlan(fx, period);
    try {
      const check = (await (await fetch(fx.noCache.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${fx.token}` }, body: JSON.stringify({ query: PUSHDOWN, variables: period }) })).json()) as { data?: { circulation: Groups } };
      const expected = (await (await fetch(naive.url, { method: 'POST' })).json()) as { data: { circulation: Groups } };
      if (JSON.stringify(check.data?.circulation) !== JSON.stringify(expected.data.circulation)) {
        throw new Error(`the two plans disagree: pushdown ${JSON.stringify(check)} naive ${JSON.stringify(expected)}`);
      }
      const baseline = 'naive plan: every row to the aggregator';
      const targets: LoadTarget[] = [
        queryTarget({ name: baseline, url: naive.url, query: PUSHDOWN, variables: period, connections: 4, processes: () => fx.libfed(fx.noCache).filter((p) => p.role === 'site') }),
        queryTarget({ name: 'LibFed: aggregated at each site', baseline, url: fx.noCache.url, query: PUSHDOWN, variables: period, token: fx.token, connections: 4, processes: () => fx.libfed(fx.noCache) }),
      ];
      const rounds = await alternateRounds(targets, o);
      // What the sites send per answer: counted by the naive aggregator itself; for pushdown, each site's answer to the report query (the same every time).
      const sent = naive.siteBytes();
      const naiveKiB = sent.bytes / 1024 / Math.max(1, sent.requests);
      const pushedKiB = (await Promise.all([...fx.chain.sites.values()].map((s) => reportBytes((u, init) => fetch(u, signFetch(fx.chain.siteSecrets[0], u, init ?? {})), s.url, period))))
        .flat()
        .filter((r) => r.report === 'circulationByBranch')
        .reduce((sum, r) => sum + r.bytes / 1024, 0);
      for (const figures of rounds.get(baseline)!) figures.metrics.siteKiBPerRequest = naiveKiB;
      for (const figures of rounds.get(targets[1].name)!) figures.metrics.siteKiBPerRequest = pushedKiB;
      return scenarioResult(reports, rounds, (name) => targets.find((t) => t.name === name)!.baseline ?? name);
    } finally {
      await naive.close();
    }
  },
};

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startChain, type ChainHandle } from '../../launch/chain';
import { measured, redisPrefixArgs, SITES_CONFIG } from '../fixture';
import { measureOnce, runLoad, type LoadTarget, type RoundFigures } from '../measure';
import { scenarioResult } from '../results';
import { queryTarget, type BenchOptions, type Scenario } from '../scenario';
import { benchLogin, loginAs } from '../stats';

/**
 * Fan-out: a gathered query (every site answers, the gateway merges) on chains
 * of 2, 4 and 8 sites, on loopback and with every site answer held 20 ms
 * (LIBFED_SITE_DELAY_MS, a site-side test setting standing in for a
 * wide-area hop). Each chain is started, measured, and stopped before the
 * next: 14 seeded sites at once would not fit beside the rest on one machine.
 */
const QUERY = '{ loans(first: 20) { edges { node { id borrowedAt copy { id } } } } }';
const DELAY_MS = 20;

/**
 * A config like schema/sites.yaml with `n` sites Q1..Qn, and a data directory
 * for them, made once per run: the first chain started on it seeds it, later
 * ones (memory's 8-site chain, then fan-out's) find it seeded and start fast.
 */
const wide = new Map<number, { configFile: string; dataDir: string }>();
export function wideChain(n: number): { configFile: string; dataDir: string } {
  let made = wide.get(n);
  if (!made) {
    const dir = mkdtempSync(join(tmpdir(), `libfed-bench-${n}-sites-`));
    made = { configFile: sitesConfig(dir, n), dataDir: join(dir, 'data') };
    wide.set(n, made);
  }
  return made;
}

/** Removes what `wideChain` made. */
export function removeWideChains(): void {
  for (const { configFile } of wide.values()) rmSync(dirname(configFile), { recursive: true, force: true });
  wide.clear();
}

function sitesConfig(dir: string, n: number): string {
  const base = parse(readFileSync(SITES_CONFIG, 'utf8')) as { sites: { id: string; name: string; url: string }[] };
  const sites = Array.from({ length: n }, (_, i) => ({ ...base.sites[i % base.sites.length], id: `Q${i + 1}`, name: `Chi nhánh Quận ${i + 1}`, url: `http://127.0.0.1:${4101 + i}` }));
  const file = join(dir, `sites-${n}.yaml`);
  writeFileSync(file, stringify({ ...base, sites }));
  return file;
}

/** Routed fetches the gateway has sent to sites so far (its /metrics). */
async function siteFetches(gatewayUrl: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', gatewayUrl))).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('libfed_gateway_site_requests_total'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/**
 * Gathered fetches each site answers before a chain is measured (every
 * request asks every site once), and the longest the warm-up may take. A site
 * runs PostgreSQL as WebAssembly, which V8 optimizes function by function as
 * it runs (sql/pglite.ts): measured alone, a site's query costs about four
 * times its steady cost for its first 500 runs and settles after about 1,500–2,000.
 * A site of an 8-site chain gets an eighth of the requests a 2-site chain's
 * site gets per second, so a warm-up of fixed length left it cold, and the
 * chains are measured one after the other, not alternated: before this, the
 * 8-site chain's CPU per request fell by 40 % from its first round to its last.
 */
const WARM_FETCHES_PER_SITE = { full: 1_500, quick: 300 };
const WARM_MAX_S = 20;

async function warmUp(target: LoadTarget, o: BenchOptions): Promise<number> {
  const goal = o.quick ? WARM_FETCHES_PER_SITE.quick : WARM_FETCHES_PER_SITE.full;
  const started = performance.now();
  let answered = 0;
  while (answered < goal && performance.now() - started < WARM_MAX_S * 1000) answered += (await runLoad(target.load(Math.min(o.windowS, 5)))).requests;
  return answered;
}

async function measureChain(o: BenchOptions, name: string, chain: ChainHandle, token: string): Promise<RoundFigures[]> {
  const processes = () => [measured(chain.gateways[0], 'gateway'), ...[...chain.sites.values()].map((s) => measured(s, 'site'))];
  const target = queryTarget({ name, url: chain.gateways[0].url, query: QUERY, token, connections: 8, processes });
  await target.check!();
  const warmed = await warmUp(target, o);
  const rounds: RoundFigures[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const before = await siteFetches(chain.gateways[0].url);
    const f = await measureOnce(target, o.windowS);
    f.metrics.siteFetchesPerRequest = ((await siteFetches(chain.gateways[0].url)) - before) / Math.max(1, f.metrics.requests);
    rounds.push(f);
  }
  o.log(`  ${name} (warmed with ${warmed} requests): ${rounds.map((r) => `${r.metrics.rps.toFixed(0)} req/s p50 ${r.metrics.p50Ms.toFixed(0)} ms`).join(' | ')}`);
  return rounds;
}

export const fanout: Scenario = {
  id: 'fanout',
  title: '4. Fan-out',
  description:
    `A gathered query (\`loans(first: 20)\`, newest first across every branch, merged by the gateway), 8 connections, LibFed with \`--no-cache\` (a cached answer would fetch nothing), on chains of 2, 4 and 8 sites (2 only with --quick), ` +
    `on loopback and with every site answer held ${DELAY_MS} ms (LIBFED_SITE_DELAY_MS). Baseline: the 2-site chain at the same delay, so the ratios say what each added site costs; ` +
    `scenario 2 compares against a central database. Rounds repeat one chain at a time (the chains cannot all run at once), so they do not alternate between targets; each chain is first warmed until every site has answered ${WARM_FETCHES_PER_SITE.full.toLocaleString("en-US")} fetches (${WARM_FETCHES_PER_SITE.quick} with --quick; at most ${WARM_MAX_S} s), because the embedded PostgreSQL of a site is optimized by V8 only as it runs. ` +
    'Site fetches per request come from the gateway\'s /metrics; KiB per request is the answer to the client (the sites\' row and byte counts are not exported, so not reported).',
  columns: [
    { metric: 'p50Ms', label: 'p50 ms' },
    { metric: 'p99Ms', label: 'p99 ms' },
    { metric: 'rps', label: 'req/s' },
    { metric: 'cpuMsPerRequest', label: 'CPU ms/req' },
    { metric: 'siteFetchesPerRequest', label: 'site fetches/req' },
    { metric: 'kibPerRequest', label: 'KiB/req' },
  ],
  usesFixture: false,
  async run(o) {
    const sizes = o.quick ? [2] : [2, 4, 8];
    const password = benchLogin();
    const rounds = new Map<string, RoundFigures[]>();
    const label = (n: number, delay: number) => `${n} sites, ${delay ? `${delay} ms per site answer` : 'loopback'}`;
    for (const n of sizes) {
      const { configFile, dataDir } = wideChain(n);
      try {
        for (const delay of [0, DELAY_MS]) {
          // The sites read the setting at start; the second start finds them seeded and is quick.
          process.env.LIBFED_SITE_DELAY_MS = String(delay);
          const chain = await startChain({ configFile, dataDir, port: 0, demo: true, scale: o.scale, gatewayArgs: ['--no-cache', ...redisPrefixArgs(`fanout${n}`)] });
          try {
            const token = await loginAs(chain.gatewayUrl, 'quanly', password);
            rounds.set(label(n, delay), await measureChain(o, label(n, delay), chain, token));
          } finally {
            await chain.stop();
          }
        }
      } finally {
        delete process.env.LIBFED_SITE_DELAY_MS;
      }
    }
    return scenarioResult(fanout, rounds, (name) => label(2, name.includes(' ms per') ? DELAY_MS : 0));
  },
};

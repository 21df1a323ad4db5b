import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { secretsEnv, startChain, startProcess, type ChainHandle, type ChildHandle } from '../launch/chain';

/**
 * A quick measurement, not a test: the nested query of the cache benchmark,
 * warm, through two gateways over the same sites — one with the response
 * cache (the default), one with `--no-response-cache` — in alternating rounds,
 * closed loop. Prints req/s and the gateway process's CPU per request (from
 * /proc, Linux only), medians of the rounds.
 * `npx tsx test/measure-response-cache.ts` (MEASURE_ROUNDS, MEASURE_SECONDS, MEASURE_CONCURRENCY).
 */
const QUERY = `{ loans(first: 20) { edges { node { id reader { name loans { id copy { status book { title } } } } } } } }`;
const ROUNDS = Number(process.env.MEASURE_ROUNDS ?? 3);
const SECONDS = Number(process.env.MEASURE_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.MEASURE_CONCURRENCY ?? 8);
let bearer = '';

async function post(url: string, query: string, variables?: Record<string, unknown>): Promise<{ data?: any; errors?: any[] }> {
  const headers = { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) };
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data?: any; errors?: any[] };
}

/** User + system CPU of a process so far, in ms (clock ticks at 100 Hz). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function round(url: string, pid: number): Promise<{ rps: number; cpuMsPerRequest: number }> {
  const until = performance.now() + SECONDS * 1000;
  let done = 0;
  const cpu0 = cpuMs(pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const res = await post(url, QUERY);
        if (res.errors || !res.data?.loans) throw new Error(`${url} answered with errors: ${JSON.stringify(res.errors)}`);
        done++;
      }
    }),
  );
  return { rps: done / ((performance.now() - started) / 1000), cpuMsPerRequest: (cpuMs(pid) - cpu0) / done };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const configFile = resolve(__dirname, '..', 'schema', 'sites.yaml');
  process.env.LIBFED_JWT_SECRET ??= randomBytes(32).toString('hex');
  const password = (process.env.LIBFED_DEMO_PASSWORD ??= randomBytes(12).toString('base64url'));
  const dir = mkdtempSync(join(tmpdir(), 'libfed-measure-rc-'));
  const gateways: ChildHandle[] = [];
  let chain: ChainHandle | undefined;
  try {
    chain = await startChain({ configFile, dataDir: join(dir, 'libfed'), port: 0, demo: true });
    const siteArgs = [...chain.sites].flatMap(([id, s]) => ['--site', `${id}=${s.url}`]);
    const start = (name: string, extra: string[]) => startProcess(name, 'gateway/main.ts', ['--config', configFile, '--port', '0', ...extra, ...siteArgs], { env: secretsEnv(chain!.siteSecrets) });
    const withCache = await start('gateway (response cache)', []);
    const without = await start('gateway --no-response-cache', ['--no-response-cache']);
    gateways.push(withCache, without);
    const login = await post(withCache.url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: 'quanly', p: password });
    bearer = login.data.login.token;
    const targets: [string, ChildHandle][] = [['response cache on', withCache], ['response cache off (entity cache warm)', without]];
    for (const [, g] of targets) for (let i = 0; i < 20; i++) await post(g.url, QUERY);
    const results = new Map(targets.map(([name]) => [name, [] as { rps: number; cpuMsPerRequest: number }[]]));
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order each round: the machine is shared, its load drifts.
      for (const [name, g] of r % 2 ? [...targets].reverse() : targets) {
        const result = await round(g.url, g.child.pid!);
        results.get(name)!.push(result);
        console.log(`round ${r + 1} ${name}: ${result.rps.toFixed(0)} req/s, ${result.cpuMsPerRequest.toFixed(2)} ms CPU/request`);
      }
    }
    console.log(`\nnested query, ${CONCURRENCY} in flight, median of ${ROUNDS} rounds of ${SECONDS} s`);
    for (const [name] of targets) {
      const rs = results.get(name)!;
      console.log(`  ${name.padEnd(40)} ${median(rs.map((x) => x.rps)).toFixed(0).padStart(6)} req/s  ${median(rs.map((x) => x.cpuMsPerRequest)).toFixed(2)} ms gateway CPU/request`);
    }
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

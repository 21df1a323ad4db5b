import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chainSecrets, secretsEnv, startChain, startProcess, type ChainHandle, type ChildHandle } from '../launch/chain';
import { loadSites } from '../schema';
import { generateDemoData } from '../sql/seed';
import { prepareCentralSite } from './central';
import { benchLogin, loginAs, median, post } from './stats';

/**
 * Requests per second of one nested entity query (loans → reader → loans →
 * copy → book) through LibFed with a warm cache, through LibFed with
 * `--no-cache`, and through a plain @apollo/gateway over one site holding all
 * the data (the centralised baseline), in alternating rounds, closed loop.
 */
const QUERY = `{ loans(first: 20) { edges { node { id reader { name loans { id copy { status book { title } } } } } } } }`;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

async function requestsPerSecond(url: string): Promise<number> {
  const until = performance.now() + SECONDS * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < until) {
      const res = await post(url, QUERY);
      if (res.errors || !res.data?.loans) throw new Error(`${url} answered with errors: ${JSON.stringify(res.errors)}`);
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return done / ((performance.now() - started) / 1000);
}

export async function benchCache(): Promise<void> {
  const configFile = resolve(__dirname, '..', 'schema', 'sites.yaml');
  const config = loadSites(configFile);
  const now = new Date();
  const data = generateDemoData({ branches: config.sites.map((s) => ({ id: s.id, name: s.name, address: s.address })), now });
  const dir = mkdtempSync(join(tmpdir(), 'libfed-bench-cache-'));
  const processes: ChildHandle[] = [];
  let chain: ChainHandle | undefined;
  try {
    const centralConfig = await prepareCentralSite(join(dir, 'central'), config, data);
    // The central site and the plain gateway are a chain of their own, with a secret of their own.
    const centralSpawn = { env: secretsEnv(chainSecrets()) };
    const central = await startProcess('central site', 'subgraphs/main.ts', ['--site', 'Q1', '--config', centralConfig, '--data', join(dir, 'central'), '--port', '0'], centralSpawn);
    processes.push(central);
    const plain = await startProcess('plain gateway', 'bench/plain-gateway.ts', ['--site', central.url], centralSpawn);
    processes.push(plain);
    const password = benchLogin();
    chain = await startChain({ configFile, dataDir: join(dir, 'libfed'), port: 0, demo: true, demoNow: now });
    await loginAs(chain.gatewayUrl, 'quanly', password);
    const siteArgs = [...chain.sites].flatMap(([id, s]) => ['--site', `${id}=${s.url}`]);
    const noCache = await startProcess('gateway --no-cache', 'gateway/main.ts', ['--config', configFile, '--port', '0', '--no-cache', ...siteArgs], { env: secretsEnv(chain.siteSecrets) });
    processes.push(noCache);

    const targets: [string, string][] = [
      ['plain @apollo/gateway, one site', plain.url],
      ['LibFed, cache off', noCache.url],
      ['LibFed, warm cache', chain.gatewayUrl],
    ];
    for (const [, url] of targets) for (let i = 0; i < 20; i++) await post(url, QUERY); // warm up (and fill the cache)
    const results = new Map<string, number[]>(targets.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const line: string[] = [];
      for (const [name, url] of targets) {
        const rps = await requestsPerSecond(url);
        results.get(name)!.push(rps);
        line.push(`${name}: ${rps.toFixed(0)}`);
      }
      console.log(`round ${round + 1}: ${line.join(', ')} req/s`);
    }
    const baseline = results.get(targets[0][0])!;
    console.log(`\nnested entity query, ${CONCURRENCY} in flight, median of ${ROUNDS} rounds of ${SECONDS} s`);
    for (const [name] of targets) {
      const rps = results.get(name)!;
      // Each round's ratio compares runs made seconds apart; their median is steadier than a ratio of medians.
      const ratio = median(rps.map((r, i) => r / baseline[i]));
      console.log(`  ${name.padEnd(34)} ${median(rps).toFixed(0).padStart(6)} req/s   ratio to plain (median of rounds) ${ratio.toFixed(2)}`);
    }
  } finally {
    await chain?.stop();
    await Promise.all(processes.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineCommand, readCommandLine, UsageError, exitWithUsageError } from '../platform';
import { checkHistory } from './check-history';
import { checkState } from './check-state';
import { startCluster, type Cluster } from './cluster';
import { loginAs } from './graphql';
import { schedule, startNemesis } from './nemesis';
import { parseDuration, type ChaosOptions } from './options';
import { choosePool, demoDataFor } from './pool';
import { Recorder } from './recorder';
import { PrivateRedis } from './redis';
import { printReport, summarize, type Summary } from './report';
import { resolveAmbiguous, waitForRecovery } from './settle';
import { readSnapshot } from './snapshot';
import type { Violation } from './violation';
import { runWorkload } from './workload';

/**
 * `npm run chaos -- --duration 60s --seed S [--sites N --gateways K --clients C]`:
 * a Jepsen-style run. Starts a private Redis and a chain on PostgreSQL, runs
 * the workload under the seeded nemesis, waits for recovery, settles the
 * ambiguous calls, checks the invariants, cleans everything up. Exit 1 on any
 * violation, 2 when the harness itself failed.
 */
export interface ChaosResult {
  violations: Violation[];
  summary: Summary;
  historyFile: string;
}

const RECOVERY_BOUND_MS = 60_000;
const RESOLVE_BOUND_MS = 90_000;
const live = new Set<{ cluster?: Cluster; redis?: PrivateRedis }>();

/** Stops every process of every run in flight and drops its databases (Ctrl-C, SIGTERM). */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...live].map(async (r) => {
    await r.cluster?.stop().catch(() => undefined);
    await r.redis?.stop().catch(() => undefined);
  }));
}

export async function runChaos(o: ChaosOptions, print: (line: string) => void = console.log): Promise<ChaosResult> {
  const logs: string[] = [];
  const log = (l: string) => {
    logs.push(l);
    if (logs.length > 300) logs.shift();
    if (o.verbose || l.startsWith('[nemesis]') || l.startsWith('[chaos]')) print(l);
  };
  const run: { cluster?: Cluster; redis?: PrivateRedis } = {};
  live.add(run);
  // startCluster points REDIS_URL at the private Redis for the chain's children; put it back afterwards.
  const savedRedisUrl = process.env.REDIS_URL;
  try {
    run.redis = await PrivateRedis.start(log);
    const demoNow = new Date(Date.now() - 60_000);
    // The sites seed the demo staff accounts with it; the workload logs in as the manager.
    const password = (process.env.LIBFED_DEMO_PASSWORD ??= randomBytes(12).toString('base64url'));
    print(`[chaos] seed ${o.seed}: ${o.sites} sites, ${o.gateways} gateways, ${o.clients} clients, ${o.durationMs / 1000} s; private redis on ${run.redis.port}`);
    run.cluster = await startCluster({ sites: o.sites, gateways: o.gateways, pgUrl: o.pgUrl, redis: run.redis, demoNow, log });
    const cluster = run.cluster;
    print(`[chaos] chain up: gateways ${cluster.gatewayUrls.join(' ')}; sites ${cluster.siteIds.map((id) => `${id}=${cluster.siteUrl(id)}`).join(' ')}`);
    await loginAs(cluster.gatewayUrls[0], 'quanly', password);
    const data = demoDataFor(cluster.config, demoNow);
    const pool = choosePool(cluster.config, data, o.seed);
    const faults = o.noNemesis ? [] : schedule(o.seed, o.durationMs, cluster.siteIds, o.gateways);
    print(`[chaos] schedule (${faults.length} faults, from the seed alone):`);
    for (const f of faults) print(`  +${(f.atMs / 1000).toFixed(1)}s ${f.kind} ${f.target}${f.durationMs ? ` ${f.durationMs} ms` : ''}`);

    const t0 = Date.now();
    const recorder = new Recorder(t0);
    const nemesis = startNemesis(faults, cluster, run.redis, t0, log);
    let healed: Promise<void> | undefined;
    const timer = setTimeout(() => (healed = nemesis.stop()), o.durationMs);
    await runWorkload({ seed: o.seed, clients: o.clients, gatewayUrls: cluster.gatewayUrls, deadline: t0 + o.durationMs, pool, recorder, runTag: `chaos-${o.seed}-${randomBytes(3).toString('hex')}` });
    clearTimeout(timer);
    await (healed ?? nemesis.stop());
    print(`[chaos] workload done after ${((Date.now() - t0) / 1000).toFixed(1)} s; waiting for recovery`);

    const recovery = await waitForRecovery(new Map(cluster.siteIds.map((id) => [id, cluster.siteUrl(id)])), RECOVERY_BOUND_MS, cluster.siteSecrets[0]);
    if (!recovery.settled) print(`[chaos] not settled after ${RECOVERY_BOUND_MS / 1000} s: ${JSON.stringify(recovery.last)}`);
    const ambiguous = recorder.entries.filter((e) => e.outcome.kind === 'ambiguous' && !e.op.startsWith('ryw:') && e.op !== 'read').length;
    print(`[chaos] recovery ${recovery.settled ? 'settled' : 'NOT settled'} in ${(recovery.ms / 1000).toFixed(1)} s; resolving ${ambiguous} ambiguous mutations`);
    await resolveAmbiguous(recorder.entries, cluster.gatewayUrls, Date.now() + RESOLVE_BOUND_MS);
    // The retries may have prepared something themselves: let it settle before reading the data.
    await waitForRecovery(new Map(cluster.siteIds.map((id) => [id, cluster.siteUrl(id)])), 10_000, cluster.siteSecrets[0]);
    const snapshot = await readSnapshot(cluster.databases);
    const entriesFor = (entity: string) => recorder.touching(entity).map((e) => e.id);
    const violations = [...checkState(snapshot, data, cluster.siteIds, entriesFor), ...checkHistory(recorder.entries, snapshot, data, t0)].sort((a, b) => a.invariant.localeCompare(b.invariant));
    const summary = summarize(recorder.entries, nemesis.runs, recovery, violations);
    const historyFile = join(tmpdir(), `libfed-chaos-${o.seed}-${t0}.json`);
    writeFileSync(historyFile, JSON.stringify({ options: o, t0, schedule: faults, faults: nemesis.runs, recovery, summary, violations, history: recorder.entries }, null, 1));
    printReport(print, summary, violations, recorder.entries, t0, historyFile);
    return { violations, summary, historyFile };
  } catch (error) {
    print(`[chaos] harness failed: ${(error as Error).stack}\nlast process log lines:\n${logs.slice(-40).join('\n')}`);
    throw error;
  } finally {
    await run.cluster?.stop().catch((e: Error) => print(`[chaos] stopping the chain: ${e.message}`));
    await run.redis?.stop().catch(() => undefined);
    live.delete(run);
    if (savedRedisUrl === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = savedRedisUrl;
  }
}

const COMMAND = defineCommand({
  usage: 'npm run chaos -- [--duration 60s] [--seed S] [--sites N] [--gateways K] [--clients C] [--no-nemesis] [--verbose]',
  description:
    'A Jepsen-style run on PostgreSQL (PG_URL, default postgres://postgres@127.0.0.1:5432/postgres) and a private Redis:\n' +
    'the workload under the seeded nemesis, then recovery, settling and the invariant checks. Exit 1 on any violation,\n' +
    '2 when the harness itself failed or the command line is wrong.',
  options: {
    duration: { kind: 'string', default: '60s', value: 'TIME', description: 'how long the workload runs: 60s, 2m, 1500ms or bare seconds' },
    seed: { kind: 'integer', default: Date.now() % 100000, min: 0, max: 2 ** 31 - 1, value: 'S', defaultText: 'the current time in ms mod 100000', description: 'the same seed gives the same fault schedule and workload' },
    sites: { kind: 'integer', default: 3, min: 2, max: 9, description: 'sites: the first N of schema/sites.yaml, more are made up' },
    gateways: { kind: 'integer', default: 2, min: 1, max: 8, value: 'K', description: 'gateway processes' },
    clients: { kind: 'integer', default: 8, min: 1, max: 64, value: 'C', description: 'concurrent workload clients' },
    'no-nemesis': { kind: 'boolean', description: 'inject no faults (checks the harness itself on a healthy chain)' },
    verbose: { kind: 'boolean', description: "echo the children's stderr lines" },
  },
});

/** The command line as ChaosOptions; a bad one exits 2 like any other entry point's. */
function readChaosOptions(argv: string[]): ChaosOptions {
  const { values } = readCommandLine(COMMAND, argv);
  let durationMs: number;
  try {
    durationMs = parseDuration(values.duration);
  } catch {
    exitWithUsageError(UsageError.expected('--duration', values.duration, 'a duration such as 60s, 2m or 1500ms'));
  }
  const { seed, sites, gateways, clients } = values;
  return { durationMs, seed, sites, gateways, clients, noNemesis: values['no-nemesis'], verbose: values.verbose, pgUrl: process.env.PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres' };
}

async function main(): Promise<void> {
  const options = readChaosOptions(process.argv.slice(2));
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.log(`[chaos] ${signal}: stopping everything and dropping the databases`);
    void cleanupAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort: whatever still runs when this process exits dies with it.
  process.on('exit', () => {
    for (const r of live) {
      for (const h of r.cluster?.processes() ?? []) h.child.kill('SIGKILL');
      r.redis?.process?.kill('SIGKILL');
    }
  });
  try {
    const result = await runChaos(options);
    process.exit(result.violations.length === 0 ? 0 : 1);
  } catch {
    process.exit(2);
  }
}

if (require.main === module) void main();

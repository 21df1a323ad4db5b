import { startChain } from '../../launch/chain';
import { measured, redisPrefixArgs } from '../fixture';
import { measureOnce, type ProcessFigures, type RoundFigures } from '../measure';
import { cpuWindow, memoryMiB, type Measured } from '../proc';
import { scenarioResult } from '../results';
import { queryTarget, type BenchOptions, type Scenario } from '../scenario';
import { setTimeout as sleep } from 'node:timers/promises';
import { wideChain } from './fanout';
import { NESTED_QUERY } from './nested';

/**
 * Memory and idle cost: resident memory of every site and gateway after the
 * first start (with seeding), under the nested query's load (sampled peak),
 * after a restart, and CPU per second of an idle chain, beside the same
 * figures for the centralised baseline (one site, one plain gateway).
 */
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** One state of a set of processes as a round: memory per process and, when given, CPU per second over an idle window. */
function snapshot(processes: Measured[], rss: (p: Measured) => number, cpuSeconds?: Map<string, number>, windowS = 1): RoundFigures {
  const procs: Record<string, ProcessFigures> = {};
  for (const p of processes) {
    const m = memoryMiB(p.pid);
    const cpu = cpuSeconds?.get(p.name);
    procs[p.name] = { role: p.role, rssMiB: rss(p), peakRssMiB: rss(p), hwmMiB: m.peakRssMiB, ...(cpu === undefined ? {} : { cpuMsPerSecond: (cpu * 1000) / windowS }) };
  }
  const of = (role: Measured['role']) => sum(Object.values(procs).filter((p) => p.role === role).map((p) => p.rssMiB));
  const metrics: Record<string, number> = { rssMiB: of('gateway') + of('site'), gatewayRssMiB: of('gateway'), sitesRssMiB: of('site') };
  if (cpuSeconds) metrics.cpuMsPerSecond = sum(Object.values(procs).map((p) => p.cpuMsPerSecond ?? 0));
  return { metrics, processes: procs };
}

async function idle(processes: Measured[], windowS: number): Promise<RoundFigures> {
  const window = cpuWindow(processes);
  await sleep(windowS * 1000);
  return snapshot(processes, (p) => memoryMiB(p.pid).rssMiB, window.stop(), windowS);
}

async function wideChainIdle(o: BenchOptions, n: number): Promise<{ started: RoundFigures; idle: RoundFigures[] }> {
  const { configFile, dataDir } = wideChain(n);
  const chain = await startChain({ configFile, dataDir, port: 0, demo: true, scale: o.scale, gatewayArgs: redisPrefixArgs() });
  try {
    const processes = [measured(chain.gateways[0], 'gateway'), ...[...chain.sites.values()].map((s) => measured(s, 'site'))];
    const started = snapshot(processes, (p) => memoryMiB(p.pid).rssMiB);
    const rounds: RoundFigures[] = [];
    for (let r = 0; r < o.rounds; r++) rounds.push(await idle(processes, o.windowS));
    return { started, idle: rounds };
  } finally {
    await chain.stop();
  }
}

export const memory: Scenario = {
  id: 'memory',
  title: '8. Memory and idle cost',
  description:
    'Resident memory (VmRSS, MiB) of every process, summed by role, and CPU per second while idle. Baseline: one central site holding every branch\'s rows with a plain @apollo/gateway, ' +
    'the least a chain would run. LibFed: 3 sites and a gateway after the first start (each site seeded), at the peak sampled under the nested query (scenario 2, warm cache), ' +
    'after every site and the gateway restarted (no seeding, cold cache), and idle; without `--quick`, also an 8-site chain generated from schema/sites.yaml, after its start and idle. ' +
    'Each site is its own process with its own embedded PGlite database, so memory grows with the number of sites.',
  columns: [
    { metric: 'rssMiB', label: 'RSS MiB' },
    { metric: 'gatewayRssMiB', label: 'gateway RSS MiB' },
    { metric: 'sitesRssMiB', label: 'sites RSS MiB' },
    { metric: 'cpuMsPerSecond', label: 'idle CPU ms/s' },
  ],
  usesFixture: true,
  async run(o, f) {
    const fx = f!;
    const centralised = fx.centralised(fx.plain);
    const rounds = new Map<string, RoundFigures[]>();
    const libfed = () => fx.libfed(fx.chain.gateways[0]);
    const startedRss = (p: Measured) => fx.startedAt.get(p.name)!;
    rounds.set('central + plain gateway: after first start', [snapshot(centralised, startedRss)]);
    rounds.set('LibFed 3 sites: after first start', [snapshot(libfed(), startedRss)]);

    o.log('  idle CPU, alternating');
    const idleCentral: RoundFigures[] = [];
    const idleLibfed: RoundFigures[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const pair = [() => idle(centralised, o.windowS).then((x) => idleCentral.push(x)), () => idle(libfed(), o.windowS).then((x) => idleLibfed.push(x))];
      for (const step of r % 2 ? pair.reverse() : pair) await step();
    }
    rounds.set('central + plain gateway: idle', idleCentral);
    rounds.set('LibFed 3 sites: idle', idleLibfed);

    o.log('  peak under the nested query');
    const peak = (f: RoundFigures): RoundFigures => ({
      metrics: { rssMiB: f.metrics.peakRssMiB, gatewayRssMiB: f.metrics.gatewayPeakRssMiB, sitesRssMiB: f.metrics.sitesPeakRssMiB },
      processes: f.processes,
    });
    const load = { query: NESTED_QUERY, connections: 8 };
    const plainLoad = queryTarget({ ...load, name: 'plain', url: fx.plain.url, processes: () => centralised });
    const libfedLoad = queryTarget({ ...load, name: 'LibFed', url: fx.chain.gateways[0].url, token: fx.token, processes: libfed });
    rounds.set('central + plain gateway: peak under nested load', [peak(await measureOnce(plainLoad, o.windowS))]);
    rounds.set('LibFed 3 sites: peak under nested load', [peak(await measureOnce(libfedLoad, o.windowS))]);

    o.log('  restarting every LibFed site and the gateway');
    for (const id of [...fx.chain.sites.keys()]) {
      await fx.chain.sites.get(id)!.stop();
      await fx.chain.restartSite(id);
    }
    await fx.chain.gateways[0].stop();
    await fx.chain.restartGateway(0);
    await sleep(2000);
    rounds.set('LibFed 3 sites: after restart', [snapshot(libfed(), (p) => memoryMiB(p.pid).rssMiB)]);

    if (!o.quick) {
      o.log('  an 8-site chain: start with seeding, then idle');
      const wide = await wideChainIdle(o, 8);
      rounds.set('LibFed 8 sites: after first start', [wide.started]);
      rounds.set('LibFed 8 sites: idle', wide.idle);
    }
    // Each state is compared with the centralised baseline in the same state (restart and 8 sites with its first start).
    const baselineOf = (name: string) => {
      if (name.startsWith('central')) return name;
      if (name.endsWith('idle')) return 'central + plain gateway: idle';
      if (name.includes('peak')) return 'central + plain gateway: peak under nested load';
      return 'central + plain gateway: after first start';
    };
    return scenarioResult(memory, rounds, baselineOf);
  },
};

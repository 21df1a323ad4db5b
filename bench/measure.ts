import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../launch/chain';
import type { LoadMessage, LoadResult, LoadSpec } from './load';
import { cpuWindow, memoryMiB, rssSampler, type Measured } from './proc';
import { median } from './stats';

/**
 * Alternating rounds: every target of a scenario runs once per round, the
 * order rotated each round (so no target always runs first, on a cold machine,
 * or last, after the others warmed it), and each round's ratio compares runs
 * made seconds apart. Load comes from bench/load.ts in its own process.
 */
export interface ProcessFigures {
  role: Measured['role'];
  /** Under load; an idle window reports `cpuMsPerSecond` instead. */
  cpuMsPerRequest?: number;
  cpuMsPerSecond?: number;
  /** VmRSS at the end of the window. */
  rssMiB: number;
  /** The highest VmRSS sampled during the window. */
  peakRssMiB: number;
  /** VmHWM: the peak since the process started (seeding included). */
  hwmMiB: number;
}

/** One target's figures in one round: flat numeric metrics, and each measured process's own. */
export interface RoundFigures {
  metrics: Record<string, number>;
  processes: Record<string, ProcessFigures>;
}

export interface LoadTarget {
  name: string;
  /** The target this one's ratios are taken against (itself, or absent, for a baseline). */
  baseline?: string;
  /** Checks the target answers this load correctly (one request, GraphQL errors refused) before it is measured. */
  check?: () => Promise<void>;
  /** An untimed warm-up from this process (JIT, connection pools, a full cache); by default a short load window. */
  warm?: () => Promise<void>;
  load: (durationS: number) => LoadSpec;
  processes: () => Measured[];
}

export interface RoundsOptions {
  rounds: number;
  windowS: number;
  log: (line: string) => void;
}

let worker: ChildProcess | undefined;

/** The one load process of this run, forked on first use; it exits when this process does (or at stopLoadWorker). */
function loadWorker(): ChildProcess {
  if (worker && worker.connected) return worker;
  worker = fork(join(ROOT, 'bench', 'load.ts'), [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  worker.unref();
  return worker;
}

/** Stops the load process (a bench run's end); the next runLoad forks a new one. */
export function stopLoadWorker(): void {
  worker?.disconnect();
  worker = undefined;
}

/** Runs `spec` in the load process; resolves with its result. `onStart` runs as the load begins. */
export function runLoad(spec: LoadSpec, onStart: () => void = () => {}): Promise<LoadResult> {
  const child = loadWorker();
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => {
      worker = undefined;
      reject(new Error(`load generator exited ${code} during a window`));
    };
    const onMessage = (message: LoadMessage) => {
      if ('started' in message) return onStart();
      child.off('message', onMessage).off('exit', onExit);
      if ('result' in message) resolve(message.result);
      else reject(new Error(`load generator failed: ${message.error}`));
    };
    child.on('message', onMessage).once('exit', onExit);
    child.send(spec);
  });
}

/** One measured window of `target`: its load, and the CPU and memory of every process it names. */
export async function measureOnce(target: LoadTarget, durationS: number): Promise<RoundFigures> {
  const processes = target.processes();
  let window: ReturnType<typeof cpuWindow> | undefined;
  const rss = rssSampler(processes);
  const result = await runLoad(target.load(durationS), () => (window = cpuWindow(processes)));
  const cpu = (window ?? cpuWindow(processes)).stop();
  return figures(result, processes, cpu, rss.stop());
}

function figures(result: LoadResult, processes: Measured[], cpu: Map<string, number>, peaks: Map<string, number>): RoundFigures {
  const perRequest = (seconds: number) => (seconds * 1000) / Math.max(1, result.requests);
  const byRole = (role: Measured['role']) => processes.filter((p) => p.role === role).reduce((sum, p) => sum + cpu.get(p.name)!, 0);
  const procs: Record<string, ProcessFigures> = {};
  for (const p of processes) {
    const memory = memoryMiB(p.pid);
    procs[p.name] = { role: p.role, cpuMsPerRequest: perRequest(cpu.get(p.name)!), rssMiB: memory.rssMiB, peakRssMiB: peaks.get(p.name)!, hwmMiB: memory.peakRssMiB };
  }
  const all = Object.values(procs);
  return {
    metrics: {
      rps: result.rps,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      requests: result.requests,
      errors: result.errors,
      kibPerRequest: result.bytes / 1024 / Math.max(1, result.requests),
      cpuMsPerRequest: perRequest(byRole('gateway') + byRole('site')),
      cpuMsPerRequestGateway: perRequest(byRole('gateway')),
      cpuMsPerRequestSites: perRequest(byRole('site')),
      rssMiB: all.reduce((sum, p) => sum + p.rssMiB, 0),
      peakRssMiB: all.reduce((sum, p) => sum + p.peakRssMiB, 0),
      gatewayPeakRssMiB: all.filter((p) => p.role === 'gateway').reduce((sum, p) => sum + p.peakRssMiB, 0),
      sitesPeakRssMiB: all.filter((p) => p.role === 'site').reduce((sum, p) => sum + p.peakRssMiB, 0),
    },
    processes: procs,
  };
}

/** Every target once per round, in an order rotated by one each round. */
export async function alternateRounds(targets: LoadTarget[], o: RoundsOptions): Promise<Map<string, RoundFigures[]>> {
  for (const t of targets) await t.check?.();
  // An untimed warm-up window each: JIT, connection pools, and (for cached targets) a full cache.
  for (const t of targets) await (t.warm ? t.warm() : runLoad(t.load(Math.max(1, Math.round(o.windowS / 3)))));
  const rounds = new Map<string, RoundFigures[]>(targets.map((t) => [t.name, []]));
  for (let r = 0; r < o.rounds; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    const line: string[] = [];
    for (const t of order) {
      const f = await measureOnce(t, o.windowS);
      rounds.get(t.name)!.push(f);
      line.push(`${t.name} ${f.metrics.rps.toFixed(0)} req/s p50 ${f.metrics.p50Ms.toFixed(1)} ms`);
    }
    o.log(`  round ${r + 1}/${o.rounds}: ${line.join(' | ')}`);
  }
  return rounds;
}

/** Medians of every metric over rounds. */
export function medians(rounds: RoundFigures[]): Record<string, number> {
  const keys = Object.keys(rounds[0]?.metrics ?? {});
  return Object.fromEntries(keys.map((k) => [k, median(rounds.map((r) => r.metrics[k]))]));
}

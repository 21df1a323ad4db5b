import type { Cluster } from './cluster';
import type { PrivateRedis } from './redis';
import { mulberry32, subSeed } from './rng';

/**
 * Faults, on a schedule derived from the seed alone (so a run can be replayed):
 * every 1–4 s one of the kinds below. At most one site and one gateway are
 * faulty at a time; the executor waits for a target's previous fault to heal.
 */
export type FaultKind = 'kill-site' | 'stop-site' | 'kill-gateway' | 'stop-gateway' | 'cut-redis' | 'restart-redis' | 'flush-scripts';

export interface Fault {
  atMs: number;
  kind: FaultKind;
  /** A site id, `gateway-N`, or `redis`. */
  target: string;
  durationMs: number;
}

export interface FaultRun extends Fault {
  startedMs: number;
  healedMs?: number;
  error?: string;
}

const WEIGHTS: Record<FaultKind, number> = { 'kill-site': 4, 'stop-site': 3, 'kill-gateway': 2, 'stop-gateway': 2, 'cut-redis': 3, 'restart-redis': 2, 'flush-scripts': 1 };
const HEAL_ALLOWANCE_MS = 2500;

export function schedule(seed: number, durationMs: number, siteIds: string[], gateways: number): Fault[] {
  const rng = mulberry32(subSeed(seed, 7777));
  const faults: Fault[] = [];
  const busy = { site: 0, gateway: 0, redis: 0 };
  for (let t = rng.int(1000, 4000); t < durationMs; t += rng.int(1000, 4000)) {
    const free = (Object.keys(WEIGHTS) as FaultKind[]).filter((k) => busy[k.endsWith('site') ? 'site' : k.endsWith('gateway') ? 'gateway' : 'redis'] <= t);
    if (free.length === 0) continue;
    const kind = rng.weighted(Object.fromEntries(free.map((k) => [k, WEIGHTS[k]])) as Record<FaultKind, number>);
    const durationMs =
      kind === 'kill-site' || kind === 'kill-gateway' ? rng.int(500, 3000) : kind === 'stop-site' ? rng.int(500, 8000) : kind === 'stop-gateway' ? rng.int(200, 2000) : kind === 'restart-redis' ? rng.int(300, 2000) : 0;
    const target = kind.endsWith('site') ? rng.pick(siteIds) : kind === 'cut-redis' || kind.endsWith('gateway') ? `gateway-${rng.int(1, gateways)}` : 'redis';
    busy[kind.endsWith('site') ? 'site' : kind.endsWith('gateway') ? 'gateway' : 'redis'] = t + durationMs + HEAL_ALLOWANCE_MS;
    faults.push({ atMs: t, kind, target, durationMs });
  }
  return faults;
}

export interface Nemesis {
  runs: FaultRun[];
  /** Stops injecting, cuts short the faults in progress, and heals everything. */
  stop(): Promise<void>;
}

export function startNemesis(faults: Fault[], cluster: Cluster, redis: PrivateRedis, t0: number, log: (line: string) => void): Nemesis {
  const runs: FaultRun[] = [];
  let stopped = false;
  let wake: () => void = () => undefined;
  const stoppedSignal = new Promise<void>((r) => (wake = r));
  const sleep = (ms: number) => Promise.race([new Promise<void>((r) => setTimeout(r, Math.max(0, ms))), stoppedSignal]);
  const healing = new Map<string, Promise<void>>();
  const gatewayIndex = (target: string) => Number(target.slice('gateway-'.length)) - 1;
  const isRunning = (c: { exitCode: number | null; signalCode: string | null }) => c.exitCode === null && c.signalCode === null;

  const retry = async (what: string, work: () => Promise<void>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        log(`[nemesis] ${what} failed (attempt ${attempt}): ${(error as Error).message.split('\n')[0]}`);
        if (attempt >= 5) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };

  const inject = async (f: Fault, run: FaultRun): Promise<void> => {
    switch (f.kind) {
      case 'kill-site':
      case 'stop-site': {
        const child = cluster.site(f.target)?.child;
        if (!child || !isRunning(child)) throw new Error(`site ${f.target} is not running`);
        if (f.kind === 'kill-site') {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGKILL');
          await exited;
          await sleep(f.durationMs);
          await retry(`restarting site ${f.target}`, () => cluster.restartSite(f.target));
        } else {
          child.kill('SIGSTOP');
          await sleep(f.durationMs);
          child.kill('SIGCONT');
        }
        break;
      }
      case 'kill-gateway':
      case 'stop-gateway': {
        const i = gatewayIndex(f.target);
        const child = cluster.gateway(i)?.child;
        if (!child || !isRunning(child)) throw new Error(`${f.target} is not running`);
        if (f.kind === 'kill-gateway') {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGKILL');
          await exited;
          await sleep(f.durationMs);
          await retry(`restarting ${f.target}`, () => cluster.restartGateway(i));
        } else {
          child.kill('SIGSTOP');
          await sleep(f.durationMs);
          child.kill('SIGCONT');
        }
        break;
      }
      case 'cut-redis': {
        const n = await redis.killClients(cluster.gatewayConnectionName(gatewayIndex(f.target)));
        run.error = n === 0 ? 'no connection to cut (reconnecting?)' : undefined;
        break;
      }
      case 'restart-redis':
        await redis.down();
        await sleep(f.durationMs);
        await retry('starting redis', () => redis.up());
        break;
      case 'flush-scripts':
        await redis.scriptFlush();
        break;
    }
  };

  const group = (f: Fault) => (f.kind.endsWith('site') ? 'site' : f.kind.endsWith('gateway') ? 'gateway' : 'redis');
  const loop = (async () => {
    for (const f of faults) {
      await sleep(t0 + f.atMs - Date.now());
      if (stopped) return;
      // One fault per group at a time: wait for the previous one to heal.
      await healing.get(group(f));
      if (stopped) return;
      const run: FaultRun = { ...f, startedMs: Date.now() - t0 };
      runs.push(run);
      log(`[nemesis] ${(run.startedMs / 1000).toFixed(1)}s ${f.kind} ${f.target}${f.durationMs ? ` for ${f.durationMs} ms` : ''}`);
      const p = inject(f, run)
        .catch((error: Error) => void (run.error = error.message.split('\n')[0]))
        .finally(() => (run.healedMs = Date.now() - t0));
      healing.set(group(f), p);
    }
  })();

  return {
    runs,
    stop: async () => {
      stopped = true;
      wake();
      await loop;
      await Promise.all(healing.values());
      // Whatever is still frozen or down: thaw it, start it.
      for (const h of cluster.processes()) h.child.kill('SIGCONT');
      for (const id of cluster.siteIds) {
        const c = cluster.site(id)?.child;
        if (!c || !isRunning(c)) await retry(`restarting site ${id}`, () => cluster.restartSite(id)).catch(() => undefined);
      }
      for (let i = 0; i < cluster.gatewayUrls.length; i++) {
        const c = cluster.gateway(i)?.child;
        if (!c || !isRunning(c)) await retry(`restarting gateway-${i + 1}`, () => cluster.restartGateway(i)).catch(() => undefined);
      }
      await retry('starting redis', () => redis.up()).catch(() => undefined);
    },
  };
}

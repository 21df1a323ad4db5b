import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { LOG_FORMAT_ENV, PARENT_PIPE_ENV, parseSecrets, SITE_SECRETS_ENV, TYPESCRIPT_NODE_ARGS } from '../platform';
import { loadSites } from '../schema';

/**
 * Starts the whole chain as real processes: one per site, then one gateway.
 * `npm start` and the integration tests both use it.
 */
export interface ChainOptions {
  configFile: string;
  dataDir: string;
  /** Gateway port; sites take the next ones. 0 lets every process pick a free port. */
  port: number;
  /** Seed demo data into empty site databases. */
  demo?: boolean;
  /** One instant for every site's demo data, so the fragments agree. */
  demoNow?: Date;
  scale?: number;
  siteTimeoutMs?: number;
  /** Where children's output lines go (their JSON log lines on stdout, anything on stderr), each behind `[name] `; ignored with `output`. */
  log?: (line: string) => void;
  /** Every output line of every child as it is, with the child's name (`gateway`, `Q3`) and the stream it came on. */
  output?: (name: string, line: string, stream: 'stdout' | 'stderr') => void;
  /** More environment for every child (LIBFED_LOG_LEVEL, LIBFED_TRACE_FILE, OTEL_*). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** More flags for the gateway processes (see gateway/main.ts). */
  gatewayArgs?: string[];
  /** Flags for gateway `i` only (0-based), after `gatewayArgs`: e.g. one gateway with `--no-cache` beside cached ones. */
  gatewayArgsFor?: (i: number) => string[];
  /** Gateway instances over the same sites, on consecutive ports from `port` (sites after them). */
  gateways?: number;
  /**
   * The secrets the sites accept, the first signing their recovery calls. By default
   * LIBFED_SITE_SECRETS, or else one random secret made for this chain alone.
   */
  siteSecrets?: readonly string[];
  /** How often the sites config is checked for added or removed sites. */
  configPollMs?: number;
  /** The gateways' LIBFED_SITE_SECRETS (the first signs), when it differs from the sites' (a rotation test). */
  gatewaySecrets?: readonly string[];
}

/** How a child is started: where its stderr goes, how long it may take, what it finds in its environment besides ours. */
export interface SpawnOptions extends Pick<ChainOptions, 'log' | 'output' | 'readyTimeoutMs'> {
  env?: Record<string, string>;
}

export interface ChildHandle {
  name: string;
  url: string;
  child: ChildProcess;
  /** Sends `signal` (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ChainHandle {
  /** The first gateway's URL and process; all of them in `gateways`. */
  gatewayUrl: string;
  sites: Map<string, ChildHandle>;
  gateway: ChildHandle;
  gateways: ChildHandle[];
  /** What the sites accept; the first is what the gateways sign with (unless `gatewaySecrets` said otherwise). */
  siteSecrets: readonly string[];
  /** Restarts one stopped site on the same port and data. */
  restartSite(id: string): Promise<ChildHandle>;
  /** Restarts stopped gateway `i` (0-based) with the same arguments; `gateways[i]` is the new process. */
  restartGateway(i: number): Promise<ChildHandle>;
  stop(): Promise<void>;
}

export const ROOT = resolve(__dirname, '..');

/** Starts `script` (relative to the repo) as a process and resolves once it prints `{"event":"ready","url":...}`. */
export function startProcess(name: string, script: string, args: string[], o: SpawnOptions = {}): Promise<ChildHandle> {
  return spawnReady(name, script, args, o);
}

/**
 * The secrets of a chain: LIBFED_SITE_SECRETS when the operator set it, else a
 * fresh random one, so `npm start`, the tests, chaos and bench need no setup
 * and no two chains accept each other's calls.
 */
export function chainSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  return env[SITE_SECRETS_ENV] ? parseSecrets(env[SITE_SECRETS_ENV]) : [randomBytes(32).toString('hex')];
}

/** The environment entry that hands `secrets` to a child (secrets stay off the command line, where `ps` shows them). */
export function secretsEnv(secrets: readonly string[]): Record<string, string> {
  return { [SITE_SECRETS_ENV]: secrets.join(',') };
}

function spawnReady(name: string, script: string, args: string[], o: SpawnOptions): Promise<ChildHandle> {
  const child = spawn(process.execPath, [...TYPESCRIPT_NODE_ARGS, join(ROOT, script), ...args], {
    cwd: ROOT,
    // stdin is a pipe from this process: when it goes (however it ends), the child stops too.
    stdio: ['pipe', 'pipe', 'pipe'],
    // JSON lines always: a child's stdout is a pipe to us, and a launcher at a terminal formats them itself.
    env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production', ...o.env, [LOG_FORMAT_ENV]: 'json', [PARENT_PIPE_ENV]: '1' },
  });
  // The last lines of both streams: why a child that never got ready failed (a start failure is a log line on stdout).
  const recent: string[] = [];
  const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    if (o.output) o.output(name, line, stream);
    else o.log?.(`[${name}] ${line}`);
  };
  createInterface({ input: child.stderr! }).on('line', onLine('stderr'));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const handle = (url: string): ChildHandle => ({
    name,
    url,
    child,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  });
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} was not ready within ${o.readyTimeoutMs ?? 120000} ms:\n${recent.join('\n')}`));
    }, o.readyTimeoutMs ?? 120000);
    const logLine = onLine('stdout');
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logLine(line);
      if (!line.startsWith('{')) return;
      try {
        const event = JSON.parse(line);
        if (event.event === 'ready') {
          clearTimeout(timer);
          resolveReady(handle(event.url));
        }
      } catch {
        // Not our JSON line.
      }
    });
    // 'close', not 'exit': it comes after the child's stderr is read to its end, so the reason is in the message.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${recent.join('\n')}`));
    });
  });
}

export async function startChain(o: ChainOptions): Promise<ChainHandle> {
  const config = loadSites(o.configFile);
  const siteSecrets = o.siteSecrets ? parseSecrets(o.siteSecrets.join(','), 'siteSecrets') : chainSecrets();
  // A secret made for this chain alone is known to no one else: `libfed` finds it in the data directory.
  const madeSecrets = !o.siteSecrets && !process.env[SITE_SECRETS_ENV];
  const siteSpawn: SpawnOptions = { ...o, env: { ...o.env, ...secretsEnv(siteSecrets) } };
  // One token secret for every gateway of the chain: a login at one is good at all of them.
  const jwtSecret = process.env.LIBFED_JWT_SECRET ?? randomBytes(32).toString('hex');
  const gatewaySpawn: SpawnOptions = { ...o, env: { ...o.env, ...secretsEnv(o.gatewaySecrets ?? siteSecrets), LIBFED_JWT_SECRET: jwtSecret } };
  const demoNow = (o.demoNow ?? new Date()).toISOString();
  const peerArgs = () =>
    [...ports].flatMap(([id, port]) => (port === 0 ? [] : ['--peer', `${id}=http://127.0.0.1:${port}`]));
  const siteArgs = (id: string, port: number) => {
    const args = ['--site', id, '--config', o.configFile, '--data', o.dataDir, '--port', String(port), ...peerArgs()];
    if (o.demo) args.push('--demo', '--demo-now', demoNow, '--scale', String(o.scale ?? 1));
    return args;
  };
  const gatewayCount = o.gateways ?? 1;
  const ports = new Map(config.sites.map((s, i) => [s.id, o.port === 0 ? 0 : o.port + gatewayCount + i]));
  const started = await Promise.allSettled(config.sites.map((s) => spawnReady(s.id, 'subgraphs/main.ts', siteArgs(s.id, ports.get(s.id)!), siteSpawn)));
  const sites = new Map<string, ChildHandle>();
  started.forEach((r, i) => r.status === 'fulfilled' && sites.set(config.sites[i].id, r.value));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all([...sites.values()].map((s) => s.stop()));
    throw failed.reason;
  }
  // A site restarted on port 0 would get a new port: pin each site to the port it got.
  for (const [id, site] of sites) ports.set(id, Number(new URL(site.url).port));
  const gatewayArgs = (i: number) => {
    const args = ['--config', o.configFile, '--port', String(o.port === 0 ? 0 : o.port + i), '--site-timeout-ms', String(o.siteTimeoutMs ?? 5000)];
    for (const [id, site] of sites) args.push('--site', `${id}=${site.url}`);
    if (gatewayCount > 1) args.push('--instance-id', `gateway-${i + 1}`);
    return [...args, ...(o.gatewayArgs ?? []), ...(o.gatewayArgsFor?.(i) ?? [])];
  };
  const startGatewayProcess = (i: number) => spawnReady(gatewayCount > 1 ? `gateway-${i + 1}` : 'gateway', 'gateway/main.ts', gatewayArgs(i), gatewaySpawn);
  let gateways: ChildHandle[];
  try {
    gateways = await Promise.all(Array.from({ length: gatewayCount }, (_, i) => startGatewayProcess(i)));
  } catch (error) {
    await Promise.all([...sites.values()].map((s) => s.stop()));
    throw error;
  }
  const gateway = gateways[0];
  const runtime = runtimeFiles(o.dataDir, madeSecrets ? siteSecrets : undefined);
  runtime.write(gateways, sites);
  let stopping: Promise<void> | undefined;
  const follow = followConfig(o, () => stopping !== undefined, {
    running: () => new Set(sites.keys()),
    start: async (id) => {
      // Not seeded: a site added to a running chain gets its replicated rows from the others (`libfed sites add`).
      const args = siteArgs(id, o.port === 0 ? 0 : o.port + gatewayCount + ports.size).filter((a, i, all) => a !== '--demo' && a !== '--demo-now' && all[i - 1] !== '--demo-now' && a !== '--scale' && all[i - 1] !== '--scale');
      const site = await spawnReady(id, 'subgraphs/main.ts', args, siteSpawn);
      sites.set(id, site);
      ports.set(id, Number(new URL(site.url).port));
      runtime.write(gateways, sites);
    },
    stop: async (id) => {
      await sites.get(id)?.stop();
      sites.delete(id);
      runtime.write(gateways, sites);
    },
  });
  return {
    gatewayUrl: gateway.url,
    sites,
    gateway,
    gateways,
    siteSecrets,
    restartSite: async (id) => {
      const args = siteArgs(id, ports.get(id)!).filter((a, i, all) => a !== '--demo' && all[i - 1] !== '--demo-now' && a !== '--demo-now');
      const site = await spawnReady(id, 'subgraphs/main.ts', args, siteSpawn);
      sites.set(id, site);
      runtime.write(gateways, sites);
      return site;
    },
    restartGateway: async (i) => {
      gateways[i] = await startGatewayProcess(i);
      runtime.write(gateways, sites);
      return gateways[i];
    },
    stop: () =>
      (stopping ??= (async () => {
        follow.stop();
        await Promise.all(gateways.map((g) => g.stop()));
        await Promise.all([...sites.values()].map((s) => s.stop()));
        runtime.remove();
      })()),
  };
}

/**
 * The sites config is watched while the chain runs: a site added to it is
 * started (its database created and migrated by the site process itself), a
 * site removed from it is stopped. The gateways learn of the change from
 * `libfed sites add|remove` (their signed `/admin/sites/*`), which edits the
 * file, waits for this to start the site, and seeds it. Changes are applied one
 * at a time, in the order they were seen; a config that does not parse is
 * reported and ignored until it is fixed.
 */
function followConfig(o: ChainOptions, stopped: () => boolean, sites: { running(): Set<string>; start(id: string): Promise<void>; stop(id: string): Promise<void> }) {
  let queue = Promise.resolve();
  const say = (line: string) => (o.output ? o.output('launcher', JSON.stringify({ level: 'info', process: 'launcher', msg: line }), 'stdout') : o.log?.(`[launcher] ${line}`));
  const apply = async () => {
    if (stopped()) return;
    let wanted: string[];
    try {
      wanted = loadSites(o.configFile).sites.map((s) => s.id);
    } catch (error) {
      say(`the sites config does not parse, nothing changed: ${(error as Error).message}`);
      return;
    }
    const running = sites.running();
    for (const id of wanted.filter((w) => !running.has(w))) {
      say(`site ${id} was added to the sites config: starting it`);
      await sites.start(id).catch((error: Error) => say(`site ${id} did not start: ${error.message}`));
    }
    for (const id of [...running].filter((r) => !wanted.includes(r))) {
      say(`site ${id} was removed from the sites config: stopping it`);
      await sites.stop(id);
    }
  };
  const onChange = () => void (queue = queue.then(apply));
  // Unref'd: the children keep a launcher alive, and a caller that never calls stop() (or a test runner) is not held by the watch.
  watchFile(o.configFile, { interval: o.configPollMs ?? 500 }, onChange).unref();
  return { stop: () => unwatchFile(o.configFile, onChange) };
}

/** The runtime file of a running chain, in its data directory: what `libfed status` and its siblings read. */
export const RUNTIME_FILE = 'chain.json';
/** The chain's own site secret, when it made one (readable by this user only); LIBFED_SITE_SECRETS otherwise. */
export const SECRET_FILE = 'site-secrets';

/**
 * What a running chain leaves in its data directory for the operator's tools
 * (`libfed status`, `recover`, `check-replicas`): every process's URL and
 * pid in `chain.json`, and, only when the chain made its secret itself, that
 * secret in `site-secrets` (mode 0600, like `demo-password`): without it no one
 * could sign a call to the chain. Both go when the chain stops.
 */
function runtimeFiles(dataDir: string, madeSecrets: readonly string[] | undefined) {
  const path = join(dataDir, RUNTIME_FILE);
  const secretPath = join(dataDir, SECRET_FILE);
  mkdirSync(dataDir, { recursive: true });
  if (madeSecrets) writeFileSync(secretPath, `${madeSecrets.join(',')}\n`, { mode: 0o600 });
  return {
    write(gateways: ChildHandle[], sites: Map<string, ChildHandle>) {
      const entry = (h: ChildHandle) => ({ url: h.url, pid: h.child.pid ?? null });
      const file = {
        launcherPid: process.pid,
        writtenAt: new Date().toISOString(),
        gateways: gateways.map(entry),
        sites: [...sites].map(([id, h]) => ({ id, ...entry(h) })),
      };
      writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
    },
    remove() {
      rmSync(path, { force: true });
      if (madeSecrets) rmSync(secretPath, { force: true });
    },
  };
}

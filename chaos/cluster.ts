import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, startChain, type ChainHandle, type ChildHandle } from '../launch/chain';
import { loadSites, type Site, type SitesConfig } from '../schema';
import { dropPostgresDatabase, ensurePostgresDatabase } from '../sql';
import { freePortRange, type PrivateRedis } from './redis';

/** Gateway flags of a chaos chain: short deadlines so recovery happens within the run. */
export const SITE_TIMEOUT_MS = 2000;
export const PREPARED_TTL_MS = 4000;
const TUNING = ['--prepared-ttl-ms', String(PREPARED_TTL_MS), '--recovery-interval-ms', '500'];

/**
 * The chain under test: N sites on their own PostgreSQL databases, K gateways
 * sharing the run's private Redis, every process on a port fixed for the whole
 * run so a restarted process keeps its URL.
 */
export interface Cluster {
  config: SitesConfig;
  /** Site id → its PostgreSQL URL (for the checker). */
  databases: Map<string, string>;
  siteIds: string[];
  siteUrl(id: string): string;
  site(id: string): ChildHandle | undefined;
  /** What the sites accept; the first signs (the checker's direct calls to the sites). */
  siteSecrets: readonly string[];
  /** Gateway i's GraphQL URL (stable across restarts). */
  gatewayUrls: string[];
  gateway(i: number): ChildHandle | undefined;
  /** Redis connection-name prefix of gateway i (`CLIENT KILL` target). */
  gatewayConnectionName(i: number): string;
  restartSite(id: string): Promise<void>;
  restartGateway(i: number): Promise<void>;
  /** Every child process now running (for SIGCONT and the last-resort kill). */
  processes(): ChildHandle[];
  redisPrefix: string;
  stop(): Promise<void>;
}

function siteConfig(base: SitesConfig, n: number): Site[] {
  const sites = base.sites.slice(0, n).map((s) => ({ ...s }));
  for (let k = sites.length; k < n; k++) {
    const id = `Q${2 * k + 1}`;
    sites.push({ ...base.sites[0], id, name: `Chi nhánh ${id}`, address: `${k} Đường Thử, ${id}` });
  }
  return sites;
}

function dbUrl(adminUrl: string, db: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${db}`;
  return url.toString();
}

export interface ClusterOptions {
  sites: number;
  gateways: number;
  pgUrl: string;
  redis: PrivateRedis;
  demoNow: Date;
  log: (line: string) => void;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const base = loadSites(join(ROOT, 'schema', 'sites.yaml'));
  const tag = randomBytes(4).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'libfed-chaos-'));
  const port = await freePortRange(o.gateways + o.sites);
  const sites = siteConfig(base, o.sites).map((s, i) => ({ ...s, url: `http://127.0.0.1:${port + o.gateways + i}` }));
  const databases = new Map<string, string>();
  const dbNames: string[] = [];
  const cleanupData = async () => {
    for (const name of dbNames) await dropPostgresDatabase(o.pgUrl, name).catch((e: Error) => o.log(`[chaos] dropping ${name}: ${e.message}`));
    rmSync(dir, { recursive: true, force: true });
  };
  let chain: ChainHandle;
  const redisPrefix = `libfed_chaos_${tag}:`;
  const gatewayArgs = ['--redis-prefix', redisPrefix, ...TUNING];
  const configFile = join(dir, 'sites.yaml');
  try {
    for (const s of sites) {
      const name = `libfed_chaos_${tag}_${s.id.toLowerCase()}`;
      await ensurePostgresDatabase(o.pgUrl, name);
      dbNames.push(name);
      databases.set(s.id, dbUrl(o.pgUrl, name));
    }
    writeFileSync(configFile, stringify({ ...base, sites: sites.map((s) => ({ id: s.id, name: s.name, address: s.address, url: s.url, database: databases.get(s.id) })) }));
    // startChain hands process.env to its children: the gateways find the private Redis there.
    process.env.REDIS_URL = o.redis.url;
    chain = await startChain({
      configFile,
      dataDir: join(dir, 'data'),
      port,
      demo: true,
      demoNow: o.demoNow,
      siteTimeoutMs: SITE_TIMEOUT_MS,
      gateways: o.gateways,
      gatewayArgs,
      log: o.log,
      readyTimeoutMs: 60_000,
    });
  } catch (error) {
    await cleanupData();
    throw error;
  }
  const config = loadSites(configFile);
  // The chain restarts a gateway with the arguments it started it with, on the same fixed port.
  const gateways = chain.gateways;
  const instanceId = (i: number) => (o.gateways > 1 ? `gateway-${i + 1}` : undefined);
  const gatewayUrls = gateways.map((g) => g.url);
  const processes = () => [...chain.sites.values(), ...gateways].filter((h) => h.child.exitCode === null && h.child.signalCode === null);
  let stopping: Promise<void> | undefined;
  return {
    config,
    databases,
    siteIds: sites.map((s) => s.id),
    siteUrl: (id) => sites.find((s) => s.id === id)!.url,
    siteSecrets: chain.siteSecrets,
    site: (id) => chain.sites.get(id),
    gatewayUrls,
    gateway: (i) => gateways[i],
    gatewayConnectionName: (i) => `${redisPrefix}${instanceId(i) ? `${instanceId(i)}:` : ''}`,
    redisPrefix,
    restartSite: async (id) => {
      await chain.restartSite(id);
    },
    restartGateway: async (i) => {
      await chain.restartGateway(i);
    },
    processes,
    stop: () =>
      (stopping ??= (async () => {
        const all = [...chain.sites.values(), ...gateways];
        for (const h of all) if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGCONT');
        await Promise.all(
          all.map(async (h) => {
            const timer = setTimeout(() => h.child.kill('SIGKILL'), 10_000);
            await h.stop();
            clearTimeout(timer);
          }),
        );
        // The chain's own stop too: it stops following the sites config and removes its runtime files.
        await chain.stop();
        await cleanupData();
      })()),
  };
}

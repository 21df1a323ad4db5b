import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chainSecrets, secretsEnv, startChain, startProcess, type ChainHandle, type ChildHandle } from '../launch/chain';
import { loadSites, type SitesConfig } from '../schema';
import { generateDemoData, type DemoData } from '../sql/seed';
import { prepareCentralSite } from './central';
import { memoryMiB, type Measured } from './proc';
import { benchLogin, loginAs } from './stats';

/**
 * What most scenarios measure, started once per run: the LibFed chain (its
 * sites and a cached gateway, plus a second gateway with `--no-cache` over the
 * same sites), and the centralised baselines (one site holding every branch's
 * rows, a plain @apollo/gateway over it, and the same plain gateway with a
 * whole-response TTL cache). Every process listens on loopback, port 0.
 */
export interface Fixture {
  config: SitesConfig;
  configFile: string;
  data: DemoData;
  /** The manager's bearer token at the LibFed gateways. */
  token: string;
  chain: ChainHandle;
  noCache: ChildHandle;
  /** A LibFed gateway with its entity cache but `--no-response-cache`, sharing the first gateway's directory: what the response cache adds. */
  entityCacheOnly: ChildHandle;
  central: ChildHandle;
  plain: ChildHandle;
  plainCached: ChildHandle;
  /**
   * A LibFed gateway (`--no-cache`) over the central site alone: the plain
   * gateways cannot write (LibFed's mutations are coordinated by its gateway),
   * so the staleness scenario writes to the central data through this one.
   */
  centralWriter: ChildHandle;
  centralToken: string;
  /** Each process's memory right after the first start (with seeding), keyed by name. */
  startedAt: Map<string, number>;
  libfed(gateway: ChildHandle): Measured[];
  centralised(gateway: ChildHandle): Measured[];
  stop(): Promise<void>;
}

export const RESPONSE_CACHE_TTL_S = 30;
export const SITES_CONFIG = resolve(__dirname, '..', 'schema', 'sites.yaml');

export const measured = (h: ChildHandle, role: Measured['role']): Measured => ({ name: h.name, role, pid: h.child.pid! });

/** Gateways of a benchmark share Redis only under a prefix of their own, when REDIS_URL is set at all. */
export const redisPrefixArgs = (chain = 'libfed'): string[] => ['--redis-prefix', `${chain}-bench-${process.pid}:`];

export async function startFixture(o: { scale: number; log: (line: string) => void }): Promise<Fixture> {
  const config = loadSites(SITES_CONFIG);
  const now = new Date();
  const data = generateDemoData({ branches: config.sites.map((s) => ({ id: s.id, name: s.name, address: s.address })), now, scale: o.scale });
  const dir = mkdtempSync(join(tmpdir(), 'libfed-bench-'));
  const started: ChildHandle[] = [];
  let chain: ChainHandle | undefined;
  const stop = async () => {
    await chain?.stop();
    await Promise.all(started.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const password = benchLogin();
    o.log('starting the LibFed chain (seeding each site) and the central baseline site');
    const centralConfig = await prepareCentralSite(join(dir, 'central'), config, data, password);
    // The central site and the plain gateways are a chain of their own, with a secret of their own.
    const centralSecrets = chainSecrets();
    const centralSpawn = { env: secretsEnv(centralSecrets) };
    const central = await startProcess('central site', 'subgraphs/main.ts', ['--site', 'Q1', '--config', centralConfig, '--data', join(dir, 'central'), '--port', '0'], centralSpawn);
    started.push(central);
    const plain = await startProcess('plain gateway', 'bench/plain-gateway.ts', ['--site', central.url], centralSpawn);
    started.push(plain);
    const plainCached = await startProcess('plain gateway + response cache', 'bench/plain-gateway.ts', ['--site', central.url, '--response-cache-ttl-s', String(RESPONSE_CACHE_TTL_S)], centralSpawn);
    started.push(plainCached);
    const centralWriter = await startProcess('central writer', 'gateway/main.ts', ['--config', centralConfig, '--port', '0', '--no-cache', ...redisPrefixArgs('central'), '--site', `Q1=${central.url}`], {
      env: { ...secretsEnv(centralSecrets), LIBFED_JWT_SECRET: process.env.LIBFED_JWT_SECRET! },
    });
    started.push(centralWriter);
    const centralToken = await loginAs(centralWriter.url, 'quanly', password);
    chain = await startChain({ configFile: SITES_CONFIG, dataDir: join(dir, 'libfed'), port: 0, demo: true, demoNow: now, scale: o.scale, gatewayArgs: redisPrefixArgs() });
    const token = await loginAs(chain.gatewayUrl, 'quanly', password);
    const siteArgs = [...chain.sites].flatMap(([id, s]) => ['--site', `${id}=${s.url}`]);
    const noCache = await startProcess('LibFed gateway --no-cache', 'gateway/main.ts', ['--config', SITES_CONFIG, '--port', '0', '--no-cache', ...redisPrefixArgs(), ...siteArgs], {
      env: { ...secretsEnv(chain.siteSecrets), LIBFED_JWT_SECRET: process.env.LIBFED_JWT_SECRET! },
    });
    started.push(noCache);
    const entityCacheOnly = await startProcess('LibFed gateway --no-response-cache', 'gateway/main.ts', ['--config', SITES_CONFIG, '--port', '0', '--no-response-cache', ...redisPrefixArgs(), ...siteArgs], {
      env: { ...secretsEnv(chain.siteSecrets), LIBFED_JWT_SECRET: process.env.LIBFED_JWT_SECRET! },
    });
    started.push(entityCacheOnly);
    const c = chain;
    const startedAt = new Map<string, number>();
    for (const h of [...c.sites.values(), c.gateway, noCache, entityCacheOnly, central, plain, plainCached]) startedAt.set(h.name, memoryMiB(h.child.pid!).rssMiB);
    const fixture: Fixture = {
      config,
      configFile: SITES_CONFIG,
      data,
      token,
      chain: c,
      noCache,
      entityCacheOnly,
      central,
      plain,
      plainCached,
      centralWriter,
      centralToken,
      startedAt,
      libfed: (gateway) => [measured(gateway, 'gateway'), ...[...c.sites.values()].map((s) => measured(s, 'site'))],
      centralised: (gateway) => [measured(gateway, 'gateway'), measured(central, 'site')],
      stop,
    };
    return fixture;
  } catch (error) {
    await stop();
    throw error;
  }
}

import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startChain, type ChainHandle } from '../launch/chain';
import { loadSites, type SitesConfig } from '../schema';
import { dropPostgresDatabase, ensurePostgresDatabase } from '../sql';
import { DEMO_NOW } from './fixture';

/** The engines the integration suite runs on: PGlite always, PostgreSQL when PG_URL is set. */
export type Backend = 'pglite' | 'postgres';
export const BACKENDS: Backend[] = process.env.PG_URL ? ['pglite', 'postgres'] : ['pglite'];

export interface TestChain extends ChainHandle {
  config: SitesConfig;
  /** POSTs a GraphQL request to the gateway (or the one at `url`) and returns the parsed body. */
  query<T = any>(query: string, variables?: Record<string, unknown>, url?: string): Promise<{ data?: T; errors?: any[] }>;
  /** Value of a counter in a process's /metrics, summed over series matching `labels`. */
  metric(url: string, name: string, labels?: Record<string, string>): Promise<number>;
  /** POSTs to a site's participant endpoint `/tx/<action>`. */
  tx<T = any>(siteId: string, action: string, body?: unknown): Promise<T>;
  /** Stops everything and removes the data it made. Safe to call twice. */
  close(): Promise<void>;
}

function baseConfig(): SitesConfig {
  return loadSites(join(__dirname, '..', 'schema', 'sites.yaml'));
}

function postgresUrl(db: string): string {
  const url = new URL(process.env.PG_URL!);
  url.pathname = `/${db}`;
  return url.toString();
}

/** Starts the chain as real processes on port 0 over fresh copies of the demo data. */
export async function startTestChain(backend: Backend, options: { siteTimeoutMs?: number; gatewayArgs?: string[]; gatewayArgsFor?: (i: number) => string[]; gateways?: number } = {}): Promise<TestChain> {
  const dir = mkdtempSync(join(tmpdir(), 'libfed-test-'));
  const config = baseConfig();
  const databases: string[] = [];
  const prefix = `libfed_t${randomBytes(4).toString('hex')}`;
  if (backend === 'pglite') {
    const template = process.env.LIBFED_TEMPLATE_DIR;
    if (!template) throw new Error('LIBFED_TEMPLATE_DIR is unset: run through jest (test/global-setup.ts)');
    cpSync(template, join(dir, 'data'), { recursive: true });
  } else {
    for (const site of config.sites) {
      const name = `${prefix}_${site.id.toLowerCase()}`;
      await ensurePostgresDatabase(process.env.PG_URL!, name);
      databases.push(name);
      site.database = { kind: 'postgres', url: postgresUrl(name) };
    }
  }
  const configFile = join(dir, 'sites.yaml');
  writeFileSync(
    configFile,
    stringify({ ...config, sites: config.sites.map((s) => ({ ...s, database: s.database.kind === 'pglite' ? 'pglite' : (s.database as { url: string }).url })) }),
  );
  const logs: string[] = [];
  let chain: ChainHandle;
  try {
    // Each chain gets its own Redis key prefix: tests never see another run's keys.
    const gatewayArgs = ['--redis-prefix', `${prefix}:`, ...(options.gatewayArgs ?? [])];
    chain = await startChain({ configFile, dataDir: join(dir, 'data'), port: 0, demo: true, demoNow: DEMO_NOW, log: (l) => logs.push(l), ...options, gatewayArgs });
  } catch (error) {
    for (const db of databases) await dropPostgresDatabase(process.env.PG_URL!, db);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    ...chain,
    config,
    async query(query, variables, url) {
      const response = await fetch(url ?? chain.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as any;
    },
    async tx(siteId, action, body = {}) {
      const response = await fetch(`${chain.sites.get(siteId)!.url}/tx/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await response.json()) as any;
    },
    async metric(url, name, labels = {}) {
      const text = await (await fetch(new URL('/metrics', url))).text();
      let total = 0;
      for (const line of text.split('\n')) {
        const m = line.match(/^(\w+)(\{[^}]*\})? ([\d.e+-]+)$/);
        if (!m || m[1] !== name) continue;
        const series = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => series[k] === v)) total += Number(m[3]);
      }
      return total;
    },
    close: () =>
      (closing ??= (async () => {
        await chain.stop();
        for (const db of databases) await dropPostgresDatabase(process.env.PG_URL!, db);
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startChain, type ChainHandle } from '../launch/chain';
import { signFetch } from '../platform';
import { loadSites, type SitesConfig } from '../schema';
import { dropPostgresDatabase, ensurePostgresDatabase } from '../sql';
import { DEMO_NOW, DEMO_PASSWORD } from './fixture';

/** The engines the integration suite runs on: PGlite always, PostgreSQL when PG_URL is set. */
export type Backend = 'pglite' | 'postgres';
export const BACKENDS: Backend[] = process.env.PG_URL ? ['pglite', 'postgres'] : ['pglite'];

export interface TestChain extends ChainHandle {
  config: SitesConfig;
  /** The prefix of every Redis key this chain's gateways write (each chain has its own). */
  redisPrefix: string;
  /** The sites config file and data directory the chain runs on: what `libfed --config --data` point at (its runtime file is there). */
  configFile: string;
  dataDir: string;
  /**
   * POSTs a GraphQL request to the gateway (or the one at `url`) and returns
   * the parsed body: as the manager `quanly` unless `as` names another demo
   * account (`thuthu_q3`), or is null for an anonymous caller.
   */
  query<T = any>(query: string, variables?: Record<string, unknown>, url?: string, as?: string | null): Promise<{ data?: T; errors?: any[] }>;
  /** A bearer token of demo account `username` (logged in once per chain). */
  token(username: string): Promise<string>;
  /** Value of a counter in a process's /metrics, summed over series matching `labels`. */
  metric(url: string, name: string, labels?: Record<string, string>): Promise<number>;
  /** POSTs to a site's participant endpoint `/tx/<action>`, signed. */
  tx<T = any>(siteId: string, action: string, body?: unknown): Promise<T>;
  /** `fetch` signed with the chain's secret, for a request straight to a site (sites refuse unsigned ones with 401). */
  siteFetch(url: string, init?: RequestInit): Promise<Response>;
  /** Every JSON log line the chain's processes wrote so far, parsed, in arrival order (`process` says whose). */
  logs(): Record<string, any>[];
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

// Sites seeded at start (the PostgreSQL backend) give the demo staff accounts this password; the PGlite template has it too.
process.env.LIBFED_DEMO_PASSWORD = DEMO_PASSWORD;

/** Logs a demo account in; a failed login fails the test that needed it, with the gateway's words. */
async function login(gatewayUrl: string, username: string): Promise<string> {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', variables: { u: username, p: DEMO_PASSWORD } }),
  });
  const body = (await response.json()) as { data?: { login?: { token: string } }; errors?: unknown[] };
  if (!body.data?.login) throw new Error(`login as ${username} failed: ${JSON.stringify(body.errors)}`);
  return body.data.login.token;
}

/** Until every gateway's `/ready` shows `site` neither suspected nor behind an open breaker (bounded: a test then fails on its own terms). */
async function untilGatewaysSee(gatewayUrls: string[], site: string): Promise<void> {
  const until = Date.now() + 5000;
  for (const url of gatewayUrls) {
    while (Date.now() < until) {
      const body = (await (await fetch(new URL('/ready', url)).catch(() => undefined))?.json().catch(() => undefined)) as { sites?: { site: string; phi: number; breaker: string }[] } | undefined;
      const state = body?.sites?.find((s) => s.site === site);
      if (state && state.phi < 8 && state.breaker !== 'open') break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Starts the chain as real processes on port 0 over fresh copies of the demo data. */
export async function startTestChain(
  backend: Backend,
  options: {
    siteTimeoutMs?: number;
    gatewayArgs?: string[];
    gatewayArgsFor?: (i: number) => string[];
    gateways?: number;
    siteSecrets?: string[];
    gatewaySecrets?: string[];
    /** More environment for every process (LIBFED_LOG_LEVEL, LIBFED_TRACE_FILE). */
    env?: Record<string, string>;
  } = {},
): Promise<TestChain> {
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
  // Bounded: a long test (the fuzz run) must not keep every line of every process.
  const logs: Record<string, any>[] = [];
  const output = (_name: string, line: string) => {
    if (!line.startsWith('{')) return;
    try {
      logs.push(JSON.parse(line));
    } catch {
      return;
    }
    if (logs.length > 50_000) logs.splice(0, 10_000);
  };
  let chain: ChainHandle;
  try {
    // Each chain gets its own Redis key prefix: tests never see another run's keys.
    const gatewayArgs = ['--redis-prefix', `${prefix}:`, ...(options.gatewayArgs ?? [])];
    chain = await startChain({ configFile, dataDir: join(dir, 'data'), port: 0, demo: true, demoNow: DEMO_NOW, output, ...options, gatewayArgs });
  } catch (error) {
    for (const db of databases) await dropPostgresDatabase(process.env.PG_URL!, db);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  const tokens = new Map<string, Promise<string>>();
  const token = (username: string): Promise<string> => {
    if (!tokens.has(username)) tokens.set(username, login(chain.gatewayUrl, username));
    return tokens.get(username)!;
  };
  const siteFetch = (url: string, init: RequestInit = {}) => fetch(url, signFetch(chain.siteSecrets[0], url, init));
  return {
    ...chain,
    config,
    redisPrefix: `${prefix}:`,
    configFile,
    dataDir: join(dir, 'data'),
    siteFetch,
    // A restarted site rejoins each gateway at its next heartbeat (docs/ARCHITECTURE.md §3 rule 5): wait for that, so a
    // test's next request is not refused by a detector that has not yet heard from it.
    async restartSite(id) {
      const handle = await chain.restartSite(id);
      await untilGatewaysSee(chain.gateways.map((g) => g.url), id);
      return handle;
    },
    async query(query, variables, url, as = 'quanly') {
      const authorization: Record<string, string> = as === null ? {} : { authorization: `Bearer ${await token(as)}` };
      const response = await fetch(url ?? chain.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authorization },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as any;
    },
    token,
    logs: () => [...logs],
    async tx(siteId, action, body = {}) {
      const response = await siteFetch(`${chain.sites.get(siteId)!.url}/tx/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await response.json()) as any;
    },
    async metric(url, name, labels = {}) {
      // Signed: a site's /metrics is not open (a gateway ignores the headers).
      const text = await (await siteFetch(new URL('/metrics', url).toString())).text();
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

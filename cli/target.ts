import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HttpParticipantClient } from '../contracts';
import { CONFIG_OPTION, parseSecrets, postJson, requestSigner, resolveConfig, SITE_SECRETS_ENV } from '../platform';
import { loadSites, type SitesConfig } from '../schema';
import { RUNTIME_FILE, SECRET_FILE } from '../launch/chain';

/**
 * Where a running chain is, for the subcommands that talk to one: its
 * gateway, its sites and the secret its site calls are signed with. Found
 * from the runtime file the launcher leaves in the data directory
 * (launch/chain.ts), else from `--port` laid out as `npm start` lays it out,
 * else from the sites config; the secret from LIBFED_SITE_SECRETS, else the
 * one the chain made and left beside the runtime file.
 */
export const TARGET_OPTIONS = {
  config: CONFIG_OPTION,
  data: { kind: 'string', default: 'data', value: 'DIR', description: 'the data directory of the chain (where npm start left chain.json)' },
  port: {
    kind: 'integer',
    min: 1,
    max: 65535,
    description: "the gateway's port; the sites on the ports after it, as npm start places them",
    defaultText: 'from DIR/chain.json, else the sites config',
  },
} as const;

export interface Target {
  config: SitesConfig;
  gatewayUrl: string;
  sites: { id: string; url: string; pid: number | null }[];
  /** Where each address came from, for the message when nothing answers. */
  source: string;
  secrets?: string[];
}

/** Nothing of the chain answered, or it cannot be signed for: exit 3, with what was tried. */
export class ChainUnreachable extends Error {
  override name = 'ChainUnreachable';
}

interface RuntimeFile {
  gateways: { url: string; pid: number | null }[];
  sites: { id: string; url: string; pid: number | null }[];
}

export function findTarget(values: { config?: string; data: string; port?: number }): Target {
  const config = loadSites(resolveConfig(values.config));
  const dataDir = resolve(values.data);
  const runtimePath = join(dataDir, RUNTIME_FILE);
  const runtime = existsSync(runtimePath) ? (JSON.parse(readFileSync(runtimePath, 'utf8')) as RuntimeFile) : undefined;
  const secrets = chainSecrets(dataDir);
  if (values.port !== undefined) {
    const port = values.port;
    return {
      config,
      gatewayUrl: `http://127.0.0.1:${port}/graphql`,
      sites: config.sites.map((s, i) => ({ id: s.id, url: `http://127.0.0.1:${port + 1 + i}`, pid: null })),
      source: `--port ${port}`,
      secrets,
    };
  }
  if (runtime?.gateways.length) {
    return { config, gatewayUrl: runtime.gateways[0].url, sites: runtime.sites, source: runtimePath, secrets };
  }
  // No runtime file: the addresses the sites config names (the gateway of npm start's default port).
  return { config, gatewayUrl: 'http://127.0.0.1:4000/graphql', sites: config.sites.map((s) => ({ id: s.id, url: s.url, pid: null })), source: `the sites config (no ${runtimePath})`, secrets };
}

function chainSecrets(dataDir: string): string[] | undefined {
  if (process.env[SITE_SECRETS_ENV]) return parseSecrets(process.env[SITE_SECRETS_ENV]);
  const file = join(dataDir, SECRET_FILE);
  return existsSync(file) ? parseSecrets(readFileSync(file, 'utf8'), file) : undefined;
}

function signingSecret(target: Target): string {
  if (!target.secrets) {
    throw new ChainUnreachable(`no site secret to sign calls with: set ${SITE_SECRETS_ENV} to the chain's secret, or point --data at the directory of a chain npm start runs (it keeps its secret there)`);
  }
  return target.secrets[0];
}

/** The typed, signed `/tx` client over the target's sites. */
export function participants(target: Target, timeoutMs = 5000): HttpParticipantClient {
  return new HttpParticipantClient({ sites: target.sites, timeoutMs, sign: requestSigner(signingSecret(target)) });
}

/** A signed POST to one of the gateway's /admin routes; ChainUnreachable when the gateway does not answer. */
export async function adminCall<T>(target: Target, route: string, body: unknown, timeoutMs = 60_000): Promise<T> {
  const url = new URL(route, target.gatewayUrl).toString();
  let answer;
  try {
    answer = await postJson(url, body, timeoutMs, {}, requestSigner(signingSecret(target)));
  } catch (error) {
    throw new ChainUnreachable(`the gateway did not answer at ${url} (${(error as Error).message}; addresses from ${target.source})`);
  }
  if (!answer.ok) throw new Error(`the gateway refused ${route} with HTTP ${answer.status}: ${answer.text.slice(0, 300)}`);
  return JSON.parse(answer.text) as T;
}

/** GET a JSON document; `undefined` when nothing answers within the time. */
export async function getJson(url: string, timeoutMs = 2000): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await answer.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: kept as text.
    }
    return { status: answer.status, body };
  } catch {
    return undefined;
  }
}

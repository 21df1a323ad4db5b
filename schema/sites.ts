import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

/** Where one site keeps its fragment. Modes exclude each other; see the type guards below. */
export type PgliteDb = { kind: 'pglite' };
export type PostgresDb = { kind: 'postgres'; url: string };
export type MssqlDb = { kind: 'mssql'; url: string };
export type SiteDatabase = PgliteDb | PostgresDb | MssqlDb;

export interface Site {
  id: string;
  name: string;
  address: string;
  url: string;
  database: SiteDatabase;
}

export interface SitesConfig {
  fragments: Record<string, { by: string }>;
  replicated: string[];
  sites: Site[];
}

/** Site ids are inlined into CHECK constraints and ids, so they are kept to a safe alphabet. */
export const SITE_ID_PATTERN = '[A-Z][A-Z0-9]{0,7}';
export const SITE_ID = new RegExp(`^${SITE_ID_PATTERN}$`);

const databaseSchema = z.string().transform((value, ctx): SiteDatabase => {
  if (value === 'pglite') return { kind: 'pglite' };
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: 'postgres', url: value };
  if (/^mssql:\/\//.test(value)) return { kind: 'mssql', url: value };
  ctx.addIssue({ code: 'custom', message: `must be "pglite", a postgres:// URL or an mssql:// URL, got "${value}"` });
  return z.NEVER;
});

const siteSchema = z.object({
  id: z.string().regex(SITE_ID, 'must be an upper-case letter then up to 7 upper-case letters or digits, like Q1'),
  name: z.string().min(1),
  address: z.string().min(1),
  url: z.url({ protocol: /^https?$/ }),
  database: databaseSchema,
});

const configSchema = z
  .object({
    fragments: z.record(z.string(), z.object({ by: z.string().min(1) })),
    replicated: z.array(z.string()),
    sites: z.array(siteSchema).min(1, 'needs at least one site'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.sites.forEach((site, i) => {
      if (seen.has(site.id)) ctx.addIssue({ code: 'custom', path: ['sites', i, 'id'], message: `duplicate site id "${site.id}"` });
      seen.add(site.id);
    });
    // Two sites on one database (or one address) would serve each other's fragments.
    const claimed = new Map<string, string>();
    config.sites.forEach((site, i) => {
      const claims: [string, string][] = [[`url ${endpoint(site.url)}`, 'url']];
      const db = databaseKey(site.database);
      if (db) claims.push([`database ${db}`, 'database']);
      for (const [claim, field] of claims) {
        const other = claimed.get(claim);
        if (other) ctx.addIssue({ code: 'custom', path: ['sites', i, field], message: `sites ${other} and ${site.id} name the same ${claim}; each site needs its own` });
        else claimed.set(claim, site.id);
      }
    });
    for (const table of config.replicated) {
      if (table in config.fragments) {
        ctx.addIssue({ code: 'custom', path: ['replicated'], message: `table ${table} is both fragmented and replicated` });
      }
    }
  });

/** host:port of a URL, with the protocol's default port, so `http://h` and `http://h:80/` are one endpoint. */
function endpoint(url: string): string {
  if (!URL.canParse(url)) return url; // refused as a bad url already
  const u = new URL(url);
  return `${u.hostname.toLowerCase()}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
}

/** What makes two server databases the same one: host, port and database name (PGlite sites each get their own directory). */
function databaseKey(db: SiteDatabase): string | undefined {
  if (db.kind === 'pglite' || !URL.canParse(db.url)) return undefined;
  const u = new URL(db.url);
  const port = u.port || (db.kind === 'postgres' ? '5432' : '1433');
  const name = db.kind === 'postgres' ? decodeURIComponent(u.pathname.replace(/^\//, '')) : (u.searchParams.get('database') ?? decodeURIComponent(u.pathname.replace(/^\//, '')));
  return `${db.kind}://${u.hostname.toLowerCase()}:${port}/${name}`;
}

export class SitesConfigError extends Error {
  constructor(file: string, problems: string[]) {
    super(`invalid sites config ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SitesConfigError';
  }
}

export function parseSites(text: string, file = 'sites.yaml'): SitesConfig {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new SitesConfigError(file, [`not valid YAML: ${(error as Error).message}`]);
  }
  const result = configSchema.safeParse(data);
  if (!result.success) {
    throw new SitesConfigError(
      file,
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return result.data;
}

export function loadSites(file: string): SitesConfig {
  return parseSites(readFileSync(file, 'utf8'), file);
}

export function siteById(config: SitesConfig, id: string): Site | undefined {
  return config.sites.find((site) => site.id === id);
}


import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * How a site talks to a database server, besides the URL. Timeouts in milliseconds; the
 * lock and request timeouts must stay below the gateway's site-call deadline
 * (`--site-timeout-ms`, 5,000 by default), or a wait there ends as TX_IN_DOUBT instead of
 * a clean BUSY or BRANCH_UNAVAILABLE. Unset fields take the executor's defaults
 * (sql/postgres.ts, sql/mssql.ts).
 */
export interface ServerDbSettings {
  poolMax?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  lockTimeoutMs?: number;
}
/** SQL Server's own: TLS, and a named instance (found through SQL Browser) or a port. */
export interface MssqlDbSettings extends ServerDbSettings {
  encrypt?: boolean;
  trustServerCertificate?: boolean;
  instanceName?: string;
  port?: number;
}

/** Where one site keeps its fragment. Modes exclude each other; see the type guards below. */
export type PgliteDb = { kind: 'pglite' };
export type PostgresDb = { kind: 'postgres'; url: string; settings?: ServerDbSettings };
export type MssqlDb = { kind: 'mssql'; url: string; settings?: MssqlDbSettings };
export type SiteDatabase = PgliteDb | PostgresDb | MssqlDb;

export interface Site {
  id: string;
  name: string;
  address: string;
  url: string;
  database: SiteDatabase;
  /**
   * The UTC offset (`+07:00`) the older application wrote its zoneless `datetime` values in.
   * Read only by `libfed migrate`, which converts such columns to UTC instants once; a site
   * whose database holds none leaves it out.
   */
  legacyTimeZone?: string;
}

export interface SitesConfig {
  fragments: Record<string, { by: string }>;
  replicated: string[];
  sites: Site[];
}

/** Site ids are inlined into CHECK constraints and ids, so they are kept to a safe alphabet. */
export const SITE_ID_PATTERN = '[A-Z][A-Z0-9]{0,7}';
export const SITE_ID = new RegExp(`^${SITE_ID_PATTERN}$`);

const urlSchema = z.string().transform((value, ctx): SiteDatabase => {
  if (value === 'pglite') return { kind: 'pglite' };
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: 'postgres', url: value };
  if (/^mssql:\/\//.test(value)) return { kind: 'mssql', url: value };
  ctx.addIssue({ code: 'custom', message: `must be "pglite", a postgres:// URL or an mssql:// URL, got "${value}"` });
  return z.NEVER;
});

const timeoutMs = z.number().int('must be a whole number of milliseconds').min(1, 'must be at least 1 ms').max(600_000, 'must be at most 600000 ms');
const serverSettings = {
  poolMax: z.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000').optional(),
  connectTimeoutMs: timeoutMs.optional(),
  requestTimeoutMs: timeoutMs.optional(),
  lockTimeoutMs: timeoutMs.optional(),
};
const postgresSettings = z.strictObject({ url: z.string(), ...serverSettings });
const mssqlSettings = z.strictObject({
  url: z.string(),
  ...serverSettings,
  encrypt: z.boolean().optional(),
  trustServerCertificate: z.boolean().optional(),
  // SQL Server instance names: up to 16 letters, digits and _ $ #.
  instanceName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$#]{0,15}$/, 'must be up to 16 letters, digits, _, $ or #, like SQLEXPRESS').optional(),
  port: z.number().int().min(1).max(65535, 'must be a TCP port, 1..65535').optional(),
});

/**
 * `database:` is a string (`pglite` or a server URL), or for a server an object with `url` and
 * its connection settings (see sites.yaml). Each problem is reported at its field's path.
 */
const databaseSchema = z.union([z.string(), z.record(z.string(), z.unknown())]).transform((value, ctx): SiteDatabase => {
  if (typeof value === 'string') {
    const parsed = urlSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  }
  const url = typeof value.url === 'string' ? urlSchema.safeParse(value.url) : undefined;
  if (!url?.success || url.data.kind === 'pglite') {
    ctx.addIssue({ code: 'custom', path: ['url'], message: `must be a postgres:// or mssql:// URL (pglite takes no settings; write database: pglite), got ${JSON.stringify(value.url)}` });
    return z.NEVER;
  }
  const settings = (url.data.kind === 'mssql' ? mssqlSettings : postgresSettings).safeParse(value);
  if (!settings.success) {
    for (const issue of settings.error.issues) {
      const extra = issue.code === 'unrecognized_keys' ? ` (a ${url.data.kind} database takes url, ${Object.keys(url.data.kind === 'mssql' ? mssqlSettings.shape : postgresSettings.shape).filter((k) => k !== 'url').join(', ')})` : '';
      ctx.addIssue({ code: 'custom', path: issue.path.map(String), message: issue.message + extra });
    }
    return z.NEVER;
  }
  const { url: _url, ...rest } = settings.data as { url: string } & MssqlDbSettings;
  if (rest.lockTimeoutMs !== undefined && rest.lockTimeoutMs >= (rest.requestTimeoutMs ?? Infinity)) {
    ctx.addIssue({ code: 'custom', path: ['lockTimeoutMs'], message: `must be below requestTimeoutMs (${rest.requestTimeoutMs}), so a lock wait ends as BUSY before the statement is cancelled` });
  }
  if (rest.instanceName !== undefined && rest.port !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['port'], message: 'a named instance is found through SQL Browser: give instanceName or port, not both' });
  }
  return { ...url.data, settings: rest } as SiteDatabase;
});

const siteSchema = z.object({
  id: z.string().regex(SITE_ID, 'must be an upper-case letter then up to 7 upper-case letters or digits, like Q1'),
  name: z.string().min(1),
  address: z.string().min(1),
  url: z.url({ protocol: /^https?$/ }),
  database: databaseSchema,
  // A fixed offset, not a zone name: Vietnam has kept UTC+7 without daylight saving since 1975,
  // and SQL Server and PostgreSQL name zones differently.
  legacyTimeZone: z
    .string()
    .regex(/^[+-](0\d|1[0-4]):[0-5]\d$/, 'must be a UTC offset such as "+07:00" (the zone the older application wrote its datetime values in)')
    .optional(),
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


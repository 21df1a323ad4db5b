import { mkdirSync } from 'node:fs';
import { CONFIG_OPTION, UsageError, defineCommand, helpText, parseCommandLine, resolveConfig, usageLine } from '../../platform';
import { loadSites, type Site, type SitesConfig } from '../../schema';
import { mssql, postgres, type Dialect } from '../dialect';
import type { SqlExecutor } from '../executor';
import { openSiteDatabase } from '../open';
import { migrationPlan, offsetMinutes } from './plan';
import { recountOpenLoans } from './recount';
import { applyPlan, renderScript } from './script';

const COMMAND = defineCommand({
  usage: 'libfed migrate --site ID [--print] [--dialect mssql|postgres] | libfed migrate --recount; [--data DIR] [--config FILE]',
  description:
    "Takes a site's database to LibFed's schema: adopts one the older application left in place (every row, CHECK and status kept)\n" +
    'or creates a new one. Every step is guarded by a catalog check, so a second run changes nothing. --print writes the exact\n' +
    'script instead (T-SQL in GO batches for SQL Server) for a DBA to review and run. --recount, once every site is migrated,\n' +
    "sets each reader's open-loan counter from the open loans at every site.",
  options: {
    site: { kind: 'string', value: 'ID', description: 'the site whose database to migrate (or print the script of)' },
    print: { kind: 'boolean', description: 'write the script to standard output and touch no database' },
    dialect: { kind: 'string', value: 'mssql|postgres', defaultText: "the site's database", description: 'the SQL the printed script is in' },
    recount: { kind: 'boolean', description: "recount every reader's open loans across every site (after all sites are migrated)" },
    data: { kind: 'string', default: 'data', value: 'DIR', description: 'where PGlite sites keep their files' },
    config: CONFIG_OPTION,
  },
});

type Args = { kind: 'migrate'; siteId: string; print: boolean; dialect?: Dialect } | { kind: 'recount' };

function parseArgs(argv: string[]): (Args & { dataDir: string; configFile: string }) | 'help' {
  const parsed = parseCommandLine(COMMAND, argv);
  if (parsed.kind === 'help') return 'help';
  const { values } = parsed;
  const common = { dataDir: values.data, configFile: resolveConfig(values.config) };
  if (values.recount) {
    if (values.site || values.print || values.dialect) throw new UsageError('--recount covers every site: give it without --site, --print or --dialect');
    return { kind: 'recount', ...common };
  }
  if (!values.site) throw new UsageError('libfed migrate needs --site ID (or --recount)');
  const dialect = values.dialect === undefined ? undefined : values.dialect === 'mssql' ? mssql : values.dialect === 'postgres' ? postgres : undefined;
  if (values.dialect !== undefined && !dialect) throw UsageError.expected('--dialect', values.dialect, 'mssql or postgres');
  if (dialect && !values.print) throw new UsageError('--dialect chooses the language of a printed script; a run speaks the dialect of the site database');
  return { kind: 'migrate', siteId: values.site, print: values.print, dialect, ...common };
}

function siteOf(config: SitesConfig, id: string): Site {
  const site = config.sites.find((s) => s.id === id);
  if (!site) throw new UsageError(`--site ${id}: the sites config has ${config.sites.map((s) => s.id).join(', ')}`);
  return site;
}

/**
 * The site's database opened for schema work: DDL over a whole table may take far longer than
 * a request's timeout allows serving traffic (nothing else runs while migrating).
 */
function openForMigration(site: Site, dataDir: string): Promise<SqlExecutor> {
  if (site.database.kind === 'pglite') mkdirSync(dataDir, { recursive: true });
  const database = site.database.kind === 'mssql' ? { ...site.database, settings: { ...site.database.settings, requestTimeoutMs: 600_000, lockTimeoutMs: 30_000 } } : site.database;
  return openSiteDatabase({ ...site, database }, dataDir);
}

function planFor(site: Site, dialect: Dialect) {
  return migrationPlan(dialect, site.id, { legacyOffsetMinutes: site.legacyTimeZone === undefined ? undefined : offsetMinutes(site.legacyTimeZone) });
}

async function migrateSite(site: Site, dataDir: string): Promise<void> {
  const db = await openForMigration(site, dataDir);
  try {
    const ran = await applyPlan(db, planFor(site, db.dialect));
    if (ran.length === 0) console.log(`${site.id}: nothing to do, the database is up to date`);
    else console.log(`${site.id}: ${ran.length} step(s) applied:\n${ran.map((note) => `  ${note}`).join('\n')}`);
  } finally {
    await db.close();
  }
}

async function recountAll(config: SitesConfig, dataDir: string): Promise<void> {
  const open: { id: string; db: SqlExecutor }[] = [];
  try {
    for (const site of config.sites) open.push({ id: site.id, db: await openForMigration(site, dataDir) });
    const changed = await recountOpenLoans(open);
    console.log(
      changed.length === 0
        ? 'every reader\'s open-loan counter already matches the open loans'
        : `${changed.length} reader(s) recounted:\n${changed.map((c) => `  ${c.site} ${c.readerId}: ${c.from} -> ${c.to}`).join('\n')}`,
    );
  } finally {
    await Promise.all(open.map(({ db }) => db.close()));
  }
}

/** The whole command; returns the exit code (0 done, 1 failed, 2 usage). */
export async function runMigrateCli(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  let config: SitesConfig;
  try {
    args = parseArgs(argv);
    if (args === 'help') {
      process.stdout.write(helpText(COMMAND));
      return 0;
    }
    config = loadSites(args.configFile);
    if (args.kind === 'migrate') siteOf(config, args.siteId);
  } catch (error) {
    // A bad flag, or a missing or invalid --config, is the caller's mistake.
    console.error(error instanceof UsageError ? usageLine(error) : (error as Error).message);
    return 2;
  }
  if (args.kind === 'recount') await recountAll(config, args.dataDir);
  else {
    const site = siteOf(config, args.siteId);
    if (args.print) {
      const dialect = args.dialect ?? (site.database.kind === 'mssql' ? mssql : postgres);
      process.stdout.write(renderScript(dialect, site.id, planFor(site, dialect)));
    } else await migrateSite(site, args.dataDir);
  }
  return 0;
}

if (require.main === module) {
  runMigrateCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`libfed migrate: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}

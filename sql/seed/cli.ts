import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MultiBar, Presets } from 'cli-progress';
import { CONFIG_OPTION, UsageError, defineCommand, helpText, parseCommandLine, resolveConfig, usageLine } from '../../platform';
import { loadSites, type Site, type SitesConfig } from '../../schema';
import type { SqlExecutor } from '../executor';
import { migrate } from '../migrations';
import { openSiteDatabase } from '../open';
import { DEFAULT_SEED, generateDemoData } from './generate';
import { isSeeded, loadDemoData } from './load';
import { siteFragment, type DemoData } from './model';

const COMMAND = defineCommand({
  usage: 'npm run seed -- [--data DIR] [--scale N] [--seed S] [--now ISO-8601] [--config FILE]',
  description: 'Fills every site database named in the sites config with deterministic demo data.\nSites that already hold data are skipped.',
  options: {
    data: { kind: 'string', default: 'data', value: 'DIR', description: 'where PGlite sites keep their files' },
    scale: { kind: 'number', default: 1, greaterThan: 0, description: 'multiplies books, copies, readers and loans' },
    seed: { kind: 'integer', default: DEFAULT_SEED, value: 'S', description: 'integer seed; the same seed gives the same data' },
    now: { kind: 'string', value: 'ISO', defaultText: 'the current time', description: 'the instant loans are dated against' },
    config: CONFIG_OPTION,
  },
});

interface SeedArgs {
  dataDir: string;
  scale: number;
  seed: number;
  now: Date;
  configFile: string;
}

/** Parses, validates and defaults the command line in one place; throws UsageError for a bad one. */
function parseSeedArgs(argv: string[]): SeedArgs | 'help' {
  const parsed = parseCommandLine(COMMAND, argv);
  if (parsed.kind === 'help') return 'help';
  const { values } = parsed;
  const now = values.now === undefined ? new Date() : new Date(values.now);
  if (Number.isNaN(now.getTime())) throw UsageError.expected('--now', values.now, 'an ISO-8601 instant');
  return { dataDir: values.data, scale: values.scale, seed: values.seed, now, configFile: resolveConfig(values.config) };
}

interface OpenSite {
  site: Site;
  db: SqlExecutor;
}

/** Opens and migrates every site; a site that fails to open is reported, not fatal to the others. */
async function openSites(sites: Site[], dataDir: string): Promise<{ open: OpenSite[]; failed: number }> {
  // PGlite creates its own directory but not the parents.
  if (sites.some((site) => site.database.kind === 'pglite')) mkdirSync(dataDir, { recursive: true });
  const results = await Promise.allSettled(
    sites.map(async (site) => {
      const db = await openSiteDatabase(site, dataDir);
      try {
        await migrate(db, site.id);
      } catch (error) {
        await db.close();
        throw error;
      }
      return { site, db };
    }),
  );
  const open: OpenSite[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') open.push(result.value);
    else console.error(`${sites[i].id}: cannot open database: ${(result.reason as Error).message}`);
  });
  return { open, failed: sites.length - open.length };
}

/** Leaves seeded sites alone: reseeding would collide with their keys and restart nothing cleanly. */
async function sitesToLoad(open: OpenSite[], dataDir: string): Promise<OpenSite[]> {
  const empty: OpenSite[] = [];
  for (const entry of open) {
    if (await isSeeded(entry.db)) {
      const hint = entry.site.database.kind === 'pglite' ? ` (delete ${join(dataDir, entry.site.id)} to reseed)` : '';
      console.error(`${entry.site.id}: already seeded, skipped${hint}`);
    } else {
      empty.push(entry);
    }
  }
  return empty;
}

interface Progress {
  track(siteId: string): (done: number, total: number) => void;
  stop(): void;
}

/** One bar per site on stderr; bars only make sense on a terminal, so elsewhere the summary lines suffice. */
function progressBars(): Progress {
  if (!process.stderr.isTTY) return { track: () => () => {}, stop: () => {} };
  const bars = new MultiBar(
    { format: '{site} [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted}', hideCursor: true },
    Presets.shades_classic,
  );
  return {
    track: (siteId) => {
      const bar = bars.create(1, 0, { site: siteId });
      return (done, total) => {
        bar.setTotal(total);
        bar.update(done);
      };
    },
    stop: () => bars.stop(),
  };
}

/** Loads every site concurrently (PGlite sites overlap their I/O); returns how many failed. */
async function loadSitesWithProgress(targets: OpenSite[], data: DemoData): Promise<number> {
  const progress = progressBars();
  const results = await Promise.allSettled(
    targets.map(({ site, db }) => loadDemoData(db, site.id, data, progress.track(site.id))),
  );
  progress.stop();
  let failed = 0;
  results.forEach((result, i) => {
    const siteId = targets[i].site.id;
    if (result.status === 'fulfilled') {
      const f = siteFragment(data, siteId);
      console.log(
        `${siteId}: ${data.branches.length} branches, ${data.books.length} books, ${f.copies.length} copies, ${f.readers.length} readers, ${f.loans.length} loans`,
      );
    } else {
      failed++;
      console.error(`${siteId}: load failed, rolled back: ${(result.reason as Error).message}`);
    }
  });
  return failed;
}

/** The whole command; returns the exit code. */
export async function runSeedCli(argv: string[]): Promise<number> {
  let args: SeedArgs | 'help';
  try {
    args = parseSeedArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(usageLine(error));
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(helpText(COMMAND));
    return 0;
  }
  let config: SitesConfig;
  try {
    config = loadSites(args.configFile);
  } catch (error) {
    // A missing or invalid --config is the caller's mistake, like a bad flag.
    console.error((error as Error).message);
    return 2;
  }
  const data = generateDemoData({
    branches: config.sites.map(({ id, name, address }) => ({ id, name, address })),
    now: args.now,
    seed: args.seed,
    scale: args.scale,
  });
  const { open, failed: unopened } = await openSites(config.sites, args.dataDir);
  try {
    const failed = await loadSitesWithProgress(await sitesToLoad(open, args.dataDir), data);
    return unopened + failed > 0 ? 1 : 0;
  } finally {
    await Promise.all(open.map(({ db }) => db.close()));
  }
}

if (require.main === module) {
  runSeedCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exitCode = 1;
    },
  );
}

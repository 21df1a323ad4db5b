import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { defineCommand, exitOnUsageError, readCommandLine, TYPESCRIPT_NODE_ARGS, UsageError } from '../../platform';
import { loadSites, siteById, type Site } from '../../schema';
import type { SqlExecutor } from '../executor';
import { migrate } from '../migrations';
import { creationMarker, needsCreating, openSiteDatabase } from '../open';
import { generateDemoData } from './generate';
import { isSeeded, loadDemoData } from './load';
import { loadDemoStaff } from './staff';

/**
 * A site's database made ready to serve: created, migrated and, for the demo,
 * seeded once. Creating a PGlite database (initdb) and seeding it grow its
 * WASM heap to several times what serving needs, and a WASM memory never
 * shrinks; so both happen in a short-lived process of their own, whose memory
 * goes back to the system when it exits, and the site then opens the prepared
 * directory (docs/decisions.md, "A site prepares its database in a process of
 * its own").
 */
export interface Preparation {
  configFile: string;
  site: Site;
  dataDir: string;
  /** Seed the demo data into an empty database, loans dated against `now`; `LIBFED_DEMO_PASSWORD` also seeds the demo staff. */
  demo?: { now: Date; scale: number };
}

/** What the preparing process did, its one line on stdout. */
export interface Prepared {
  event: 'prepared';
  site: string;
  /** Whether it wrote the demo data (false: there was none to write, or the database already held some). */
  seeded: boolean;
  /** The preparing process, not the site's. */
  pid: number;
}

/**
 * The site's database, open and migrated, prepared in another process when
 * it needs creating or seeding; a restart of a prepared site starts no other
 * process. `onPrepared` hears what a preparing process did.
 */
export async function openPreparedDatabase(p: Preparation, onPrepared: (prepared: Prepared) => void): Promise<SqlExecutor> {
  if (needsCreating(p.site, p.dataDir)) onPrepared(await prepareInOwnProcess(p));
  const db = await openSiteDatabase(p.site, p.dataDir);
  await migrate(db, p.site.id);
  if (!p.demo || (await isSeeded(db))) return db;
  // An existing database without data (its seeding never committed, or it was made without --demo):
  // the preparing process needs the database alone (a PGlite directory is one process's at a time).
  await db.close();
  onPrepared(await prepareInOwnProcess(p));
  return openSiteDatabase(p.site, p.dataDir);
}

/** Creates, migrates and seeds in this process; what the preparing process runs. */
export async function prepareSiteDatabase(p: Preparation): Promise<Prepared> {
  const creating = needsCreating(p.site, p.dataDir);
  if (creating) startCreating(p);
  const db = await openSiteDatabase(p.site, p.dataDir);
  try {
    await migrate(db, p.site.id);
    if (creating) rmSync(creationMarker(p.site, p.dataDir));
    const seeded = p.demo !== undefined && !(await isSeeded(db));
    if (seeded) await seedDemo(db, p);
    return { event: 'prepared', site: p.site.id, seeded, pid: process.pid };
  } finally {
    await db.close();
  }
}

/** Marks the directory as being made, after removing what an interrupted creation left in it. */
function startCreating(p: Preparation): void {
  const marker = creationMarker(p.site, p.dataDir);
  mkdirSync(p.dataDir, { recursive: true });
  rmSync(join(p.dataDir, p.site.id), { recursive: true, force: true });
  writeFileSync(marker, `being created by process ${process.pid}\n`);
}

async function seedDemo(db: SqlExecutor, p: Preparation): Promise<void> {
  const config = loadSites(p.configFile);
  const branches = config.sites.map((s) => ({ id: s.id, name: s.name, address: s.address }));
  await loadDemoData(db, p.site.id, generateDemoData({ branches, now: p.demo!.now, scale: p.demo!.scale }));
  // The demo staff accounts, when the launcher gave their password (npm start always does).
  const password = process.env.LIBFED_DEMO_PASSWORD;
  if (password) await loadDemoStaff(db, config.sites.map((s) => s.id), password);
}

const COMMAND = defineCommand({
  usage: 'tsx sql/seed/prepare.ts --site ID --config FILE --data DIR [--demo-now ISO --scale N]',
  description:
    "Prepares one site's database and exits: creates and migrates it, and with --demo-now seeds the demo data into it\n" +
    'if it holds none. Prints {"event":"prepared",...} on stdout. A site process runs it (subgraphs/main.ts).',
  options: {
    site: { kind: 'string', value: 'ID', defaultText: 'none, it must be given', description: "one of the config's site ids" },
    config: { kind: 'string', value: 'FILE', defaultText: 'none, it must be given', description: 'the sites config' },
    data: { kind: 'string', default: 'data', value: 'DIR', description: 'where PGlite sites keep their files' },
    'demo-now': { kind: 'string', value: 'ISO', defaultText: 'no demo data', description: 'seed the demo data, loans dated against this instant (ISO-8601)' },
    scale: { kind: 'number', default: 1, greaterThan: 0, description: 'multiplies the demo books, copies, readers and loans' },
  },
});

function preparationArgs(p: Preparation): string[] {
  const args = ['--site', p.site.id, '--config', p.configFile, '--data', p.dataDir];
  if (p.demo) args.push('--demo-now', p.demo.now.toISOString(), '--scale', String(p.demo.scale));
  return args;
}

function readPreparation(argv: string[]): Preparation {
  const { values } = readCommandLine(COMMAND, argv);
  if (!values.config) throw UsageError.expected('--config', values.config, 'the sites config file');
  const site = values.site ? siteById(loadSites(values.config), values.site) : undefined;
  if (!site) throw UsageError.expected('--site', values.site, `a site of ${values.config}`);
  const demo = values['demo-now'] === undefined ? undefined : { now: new Date(values['demo-now']), scale: values.scale };
  if (demo && Number.isNaN(demo.now.getTime())) throw UsageError.expected('--demo-now', values['demo-now'], 'an ISO-8601 instant');
  return { configFile: values.config, site, dataDir: values.data, demo };
}

/** Runs prepareSiteDatabase in a child process and waits for it to exit; a failure carries the child's last lines. */
export function prepareInOwnProcess(p: Preparation): Promise<Prepared> {
  // Its stdin is a pipe this process never writes: it closes when this process dies, and the child stops
  // then (a site killed while preparing must not leave a process writing the directory its restart opens).
  const child = spawn(process.execPath, [...TYPESCRIPT_NODE_ARGS, __filename, ...preparationArgs(p)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let prepared: Prepared | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('{"event":"prepared"')) prepared = JSON.parse(line) as Prepared;
    else lines.push(line);
  });
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0 && prepared) resolve(prepared);
      else reject(new Error(`preparing the database of site ${p.site.id} failed (${signal ?? `exit ${code}`}): ${lines.slice(-10).join('\n') || 'no output'}`));
    });
  });
}

if (require.main === module) {
  // The site that started this process is gone: stop at once (an unfinished creation is made again at its next start).
  process.stdin.on('end', () => process.exit(1)).resume();
  Promise.resolve()
    .then(() => prepareSiteDatabase(readPreparation(process.argv.slice(2))))
    .then(
      (prepared) => process.stdout.write(`${JSON.stringify(prepared)}\n`),
      (error: Error) => {
        exitOnUsageError(error);
        console.error(error.stack ?? error.message);
        process.exitCode = 1;
      },
    )
    .finally(() => process.stdin.destroy());
}

import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { defineCommand, parseCommandLine, PROJECT_ROOT, UsageError, usageLine, type Command, type OptionSpecs } from '../platform';
import { compareReplicas, describeDifference, type Comparison } from './replicas';
import { addSite, removeSite } from './sites';
import { chainStatus, statusTable } from './status';
import { adminCall, ChainUnreachable, findTarget, participants, TARGET_OPTIONS } from './target';

/**
 * `libfed`, the operator's command (`npx libfed <subcommand>`). `start` and
 * `seed` are `npm start` and `npm run seed`, run as they are; the others talk
 * to a running chain, found by `--data`, `--port` and `--config`
 * (cli/target.ts). Exit statuses are stable (README, "The libfed command").
 */
export const EXIT = { ok: 0, differences: 1, usage: 2, unreachable: 3, unsupported: 4 } as const;

const JSON_OPTION = { kind: 'boolean', description: 'print JSON for machines instead of a table' } as const;

const COMMANDS = {
  status: defineCommand({
    usage: 'libfed status [--json] [--data DIR] [--port N] [--config FILE]',
    description: "A running chain's sites: health and readiness, phi and breaker as the gateway sees them, participants in doubt, replicated tables' versions.",
    options: { ...TARGET_OPTIONS, json: JSON_OPTION },
  }),
  recover: defineCommand({
    usage: 'libfed recover [--json] [--data DIR] [--port N] [--config FILE]',
    description:
      'Resolves in-doubt transactions now: the gateway runs its recovery round (participants prepared past their deadline\n' +
      "take their commit point's decision). Exits 1 when some stay in doubt (their commit point is unreachable).",
    options: { ...TARGET_OPTIONS, json: JSON_OPTION },
  }),
  'check-replicas': defineCommand({
    usage: 'libfed check-replicas [--repair] [--json] [--data DIR] [--port N] [--config FILE]',
    description:
      'Compares SACH, CHINHANH and the staff accounts across sites (a checksum per table, then row by row) and lists the rows\n' +
      'that differ. --repair writes the winning row (highest version) at every site in one two-phase commit per row.\n' +
      'Exits 0 when every site agrees (after a repair), 1 when rows differ.',
    options: { ...TARGET_OPTIONS, repair: { kind: 'boolean', description: 'make every differing row equal at every site, through the gateway' }, json: JSON_OPTION },
  }),
  sites: defineCommand({
    usage: 'libfed sites add --id ID --name NAME --address ADDRESS [--database pglite|URL] | libfed sites remove --id ID [--force]',
    description:
      'Adds a site to the running chain (the sites config, the launcher starts it, the gateways seed and route to it without a restart),\n' +
      'or drains one: new copies, readers and loans there are refused (BRANCH_DRAINING) and it is removed once it holds nothing, or at once\n' +
      'with --force. Exits 0 when done, 1 when the site still holds rows (draining, not removed).',
    options: {
      ...TARGET_OPTIONS,
      id: { kind: 'string', value: 'ID', description: 'the site and branch id (Q7)' },
      name: { kind: 'string', value: 'NAME', description: "the branch's name (add)" },
      address: { kind: 'string', value: 'ADDRESS', description: "the branch's address (add)" },
      database: { kind: 'string', value: 'pglite|URL', description: "the site's database (add; default pglite under the data directory)" },
      force: { kind: 'boolean', description: 'remove it even if it still holds copies, readers or loans (they leave every answer)' },
      'wait-ms': { kind: 'integer', default: 120000, min: 1, description: 'how long to wait for the launcher to start the site, and for it to be seeded' },
      json: JSON_OPTION,
    },
    positionals: { name: 'add|remove', description: 'what to do with a site' },
  }),
};

/** Run as they are, so `libfed start` is exactly `npm start` and `libfed seed` exactly `npm run seed`. */
const SCRIPTS: Record<string, { script: string; summary: string }> = {
  start: { script: 'launch/start.ts', summary: 'start every site and the gateway(s), demo data on the first start (npm start)' },
  seed: { script: 'sql/seed/cli.ts', summary: 'fill the site databases with demo data (npm run seed)' },
  migrate: { script: 'sql/adopt/cli.ts', summary: "take a site's database (new, or the older application's) to LibFed's schema; --print the script; --recount" },
};

const SUMMARIES: Record<keyof typeof COMMANDS, string> = {
  status: 'sites, health, in-doubt transactions, replica versions of a running chain',
  recover: 'resolve in-doubt transactions now',
  'check-replicas': 'compare the replicated tables across sites; --repair makes them agree',
  sites: 'add a site to a running chain, or drain and remove one',
};

function mainHelp(): string {
  const names = [...Object.keys(SCRIPTS), ...Object.keys(COMMANDS)];
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines = [
    'Usage: libfed <command> [options]',
    '',
    'Operates a LibFed chain. Every command takes --data DIR, --port N and --config FILE (seed: --data and --config)',
    'and --help.',
    '',
    'Commands:',
    ...Object.entries(SCRIPTS).map(([n, s]) => `  ${n.padEnd(width)}${s.summary}`),
    ...Object.entries(SUMMARIES).map(([n, s]) => `  ${n.padEnd(width)}${s}`),
    '',
    'Exit status: 0 done (and replicas agree), 1 differences or transactions left in doubt, 2 usage error,',
    '3 the chain could not be reached, 4 not supported yet.',
  ];
  return `${lines.join('\n')}\n`;
}

function parse<T extends OptionSpecs>(command: Command<T>, argv: string[]) {
  const result = parseCommandLine(command, argv);
  if (result.kind === 'help') {
    process.stdout.write(result.text);
    process.exit(EXIT.ok);
  }
  return result;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError(`a command is needed: one of ${[...Object.keys(SCRIPTS), ...Object.keys(COMMANDS)].join(', ')}`);
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return EXIT.ok;
  }
  if (Object.hasOwn(SCRIPTS, name)) return runScript(SCRIPTS[name].script, rest);
  switch (name) {
    case 'status': {
      const { values } = parse(COMMANDS.status, rest);
      const status = await chainStatus(findTarget(values));
      process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : statusTable(status));
      return EXIT.ok;
    }
    case 'recover': {
      const { values } = parse(COMMANDS.recover, rest);
      return recover(values);
    }
    case 'check-replicas': {
      const { values } = parse(COMMANDS['check-replicas'], rest);
      return checkReplicas(values);
    }
    case 'sites': {
      const { positionals, values } = parse(COMMANDS.sites, rest);
      const what = positionals[0];
      if (what !== 'add' && what !== 'remove') throw new UsageError(`libfed sites takes add or remove, got ${what === undefined ? 'nothing' : JSON.stringify(what)}`);
      if (!values.id) throw new UsageError(`libfed sites ${what} needs --id`);
      if (what === 'add' && (!values.name || !values.address)) throw new UsageError('libfed sites add needs --name and --address');
      const answer = what === 'add' ? await addSite(values) : await removeSite(values);
      process.stdout.write(values.json ? `${JSON.stringify(answer, null, 2)}\n` : `${describeSiteChange(what, answer)}\n`);
      return 'removed' in answer && !answer.removed ? EXIT.differences : EXIT.ok;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(name)}: expected one of ${[...Object.keys(SCRIPTS), ...Object.keys(COMMANDS)].join(', ')}`);
  }
}

type TargetValues = Parameters<typeof findTarget>[0];

function describeSiteChange(what: 'add' | 'remove', answer: Record<string, unknown>): string {
  if (what === 'add') return `site ${answer.site} added: ${answer.copied} replicated rows copied (${answer.caughtUp} caught up), branch row ${answer.branch ? `added in ${answer.branch}` : 'already there'}`;
  const holds = answer.holds ? JSON.stringify(answer.holds) : 'unknown (the site did not answer)';
  return answer.removed ? `site ${answer.site} removed from routing (it held ${holds})` : `site ${answer.site} is draining and still holds ${holds}: new copies, readers and loans there are refused; run again once it is empty, or with --force`;
}

async function recover(values: TargetValues & { json: boolean }): Promise<number> {
  const answer = await adminCall<{ resolved: { site: string; gid: string; outcome: string }[]; report: { inDoubt: { site: string; gid: string; commitSite: string; deadline: string; reason: string | null }[]; unavailableSites: string[] } }>(
    findTarget(values),
    '/admin/recover',
    {},
  );
  const now = Date.now();
  const left = answer.report.inDoubt.filter((t) => new Date(t.deadline).getTime() <= now);
  if (values.json) process.stdout.write(`${JSON.stringify({ ...answer, stillInDoubt: left }, null, 2)}\n`);
  else {
    const lines = [`resolved ${answer.resolved.length} in-doubt participant(s)`, ...answer.resolved.map((r) => `  ${r.site} ${r.gid}: ${r.outcome}`)];
    const pending = answer.report.inDoubt.length - left.length;
    if (pending) lines.push(`${pending} prepared transaction(s) are within their deadline: their coordinator may still finish them, so they are left alone`);
    if (left.length) lines.push(`still in doubt: ${left.length}`, ...left.map((t) => `  ${t.site} ${t.gid}: ${t.reason ?? 'not resolved yet'}`));
    if (answer.report.unavailableSites.length) lines.push(`sites that did not answer: ${answer.report.unavailableSites.join(', ')}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return left.length || answer.report.unavailableSites.length ? EXIT.differences : EXIT.ok;
}

async function checkReplicas(values: TargetValues & { json: boolean; repair: boolean }): Promise<number> {
  const target = findTarget(values);
  const client = participants(target);
  const siteIds = target.sites.map((s) => s.id);
  const before = await compareReplicas(client, siteIds);
  if (!values.repair || before.differences.length === 0) {
    report(before, values.json);
    return before.differences.length ? EXIT.differences : EXIT.ok;
  }
  const { repaired } = await adminCall<{ repaired: { table: string; key: string; version: number; outcome: string; code?: string; message?: string; gid?: string }[] }>(
    target,
    '/admin/repair-replicas',
    { repairs: before.differences.map((d) => d.repair) },
  );
  const after = await compareReplicas(client, siteIds);
  if (values.json) process.stdout.write(`${JSON.stringify({ before: shown(before), repaired, after: shown(after) }, null, 2)}\n`);
  else {
    report(before, false);
    for (const r of repaired) process.stdout.write(`repair ${r.table} ${r.key} -> v${r.version}: ${r.outcome}${r.code ? ` ${r.code}: ${r.message}` : ''}\n`);
    process.stdout.write(after.differences.length ? `after the repair, ${after.differences.length} row(s) still differ:\n${after.differences.map(describeDifference).join('\n')}\n` : 'after the repair every site agrees\n');
  }
  return after.differences.length ? EXIT.differences : EXIT.ok;
}

/** The comparison without row contents (staff rows hold password hashes). */
function shown(c: Comparison) {
  return { tables: c.tables, differences: c.differences.map(({ repair: _, sites, ...d }) => ({ ...d, sites: sites.map(({ content: __, ...s }) => s) })) };
}

function report(c: Comparison, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(shown(c), null, 2)}\n`);
    return;
  }
  for (const t of c.tables) process.stdout.write(`${t.table}: ${t.agree ? 'same checksum at every site' : 'checksums differ'}\n`);
  if (c.differences.length) process.stdout.write(`${c.differences.length} row(s) differ:\n${c.differences.map((d) => `  ${describeDifference(d)}`).join('\n')}\nrun libfed check-replicas --repair to make every site hold the winning row\n`);
  else process.stdout.write('every site agrees\n');
}

/** Runs a project script as `npm start` does (`node --import tsx`), passing signals on, and exits with its status. */
function runScript(script: string, args: string[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, script), ...args], { stdio: 'inherit', cwd: process.cwd() });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((done) => child.once('exit', (code, signal) => done(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0))));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${usageLine(error)}\n\n${mainHelp()}`);
      process.exit(EXIT.usage);
    }
    if (error instanceof ChainUnreachable) {
      process.stderr.write(`libfed: ${error.message}\n`);
      process.exit(EXIT.unreachable);
    }
    process.stderr.write(`libfed: ${(error as Error).message}\n`);
    process.exit(EXIT.differences);
  },
);

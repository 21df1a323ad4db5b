import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_OPTION, UsageError, createLogger, defineCommand, exitOnUsageError, exitOnSignals, logFormat, prettyLines, readCommandLine, resolveConfig } from '../platform';
import { startChain } from './chain';

const COMMAND = defineCommand({
  usage: 'npm start [-- --data DIR --port N --config FILE --scale N --gateways K --no-cache --explorer landing|sandbox|graphiql]',
  description:
    'Every site and K gateways as separate processes on this machine, demo data seeded on first start.\n' +
    'The gateways take ports N.., the sites the ones after them. Ctrl-C or SIGTERM stops them all.',
  options: {
    data: { kind: 'string', default: 'data', value: 'DIR', description: 'where PGlite sites keep their files' },
    port: { kind: 'integer', default: 4000, min: 1, max: 65535, description: "the first gateway's port" },
    config: CONFIG_OPTION,
    scale: { kind: 'number', default: 1, greaterThan: 0, description: 'multiplies the demo books, copies, readers and loans' },
    gateways: { kind: 'integer', default: 1, min: 1, max: 16, value: 'K', description: 'gateway processes over the same sites; above 1 needs REDIS_URL or --no-cache' },
    'no-cache': { kind: 'boolean', description: 'gateways without the coherent entity cache' },
    explorer: { kind: 'string', default: 'landing', value: 'landing|sandbox|graphiql', description: 'what a browser gets at the gateway address: a page linking both explorers, Apollo Sandbox, or the bundled GraphiQL' },
  },
});

/** The launcher's own lines, JSON or pretty like the children's (LIBFED_LOG_FORMAT, else pretty at a terminal). */
const log = createLogger({ process: 'launcher' });

/**
 * Every child's lines on this process's stdout: as they are (JSON, each with
 * its `process`) for a collector, or — at a terminal — readable, each behind
 * its process's name. A line a child wrote on stderr that is not JSON (a
 * crash trace) becomes a JSON line of its own, so the stream stays one object
 * per line.
 */
function childOutput(): (name: string, line: string, stream: 'stdout' | 'stderr') => void {
  if (logFormat() === 'pretty') {
    const pretty = prettyLines();
    return (name, line) => void process.stdout.write(pretty(name, line));
  }
  return (name, line, stream) => {
    const json = line.startsWith('{') ? line : JSON.stringify({ level: stream === 'stderr' ? 'error' : 'info', time: new Date().toISOString(), process: name, stream, msg: line });
    process.stdout.write(`${json}\n`);
  };
}

/**
 * `npm start`: the whole chain for a person at a terminal (flags in COMMAND
 * above; `--help` prints them).
 */
async function main(): Promise<void> {
  const { values } = readCommandLine(COMMAND);
  const { gateways, port } = values;
  if (gateways > 1 && !process.env.REDIS_URL && !values['no-cache']) {
    throw new UsageError('--gateways above 1 needs REDIS_URL (redis://host:6379): the gateways keep their entity caches coherent through it. Set it, or add --no-cache.');
  }
  const firstStart = !existsSync(resolve(values.data));
  log.info('starting the branch sites and the gateway (the first start creates and seeds the site databases)...');
  const demoPassword = demoStaffPassword(resolve(values.data), firstStart);
  const chain = await startChain({
    configFile: resolveConfig(values.config),
    dataDir: resolve(values.data),
    port,
    demo: true,
    scale: values.scale,
    gateways,
    gatewayArgs: [...(values['no-cache'] ? ['--no-cache'] : []), '--explorer', values.explorer],
    output: childOutput(),
  });
  for (const [id, site] of chain.sites) log.info({ site: id, url: site.url }, `site ${id} at ${site.url}`);
  for (const g of chain.gateways.slice(1)) log.info({ url: g.url }, `gateway at http://localhost:${new URL(g.url).port}/graphql`);
  log.info({ url: chain.gatewayUrl }, `LibFed ready at http://localhost:${new URL(chain.gatewayUrl).port}/graphql`);
  if (demoPassword) log.info(`demo staff accounts quanly, ${[...chain.sites.keys()].map((id) => `thuthu_${id.toLowerCase()}`).join(', ')}: password ${demoPassword}`);
  else log.info(`demo staff accounts: the password printed at the first start (LIBFED_DEMO_PASSWORD, or ${join(values.data, 'demo-password')})`);
  let stopping = false;
  for (const [id, site] of chain.sites) {
    site.child.once('exit', (code, signal) => {
      if (!stopping) log.error({ site: id, exit: signal ?? code }, `site ${id} exited (${signal ?? code}); the gateway reports it as BRANCH_UNAVAILABLE`);
    });
  }
  stopWhenOrphaned();
  exitOnSignals(async () => {
    stopping = true;
    log.info('stopping...');
    await chain.stop();
  });
}

main().catch((error: Error) => {
  exitOnUsageError(error);
  log.fatal(error.message);
  process.exit(1);
});

/**
 * The demo staff accounts' password, set before the first start seeds them:
 * `LIBFED_DEMO_PASSWORD`, else one generated now, printed once and kept in
 * `<data>/demo-password` (readable by this user only). Later starts seed
 * nothing, so they print no password.
 */
function demoStaffPassword(dataDir: string, firstStart: boolean): string | undefined {
  const given = process.env.LIBFED_DEMO_PASSWORD;
  if (given) return firstStart ? given : undefined;
  if (!firstStart) return undefined;
  const generated = randomBytes(9).toString('base64url');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'demo-password'), `${generated}\n`, { mode: 0o600 });
  process.env.LIBFED_DEMO_PASSWORD = generated;
  return generated;
}

/**
 * `npm start` runs this under npm (and a shell): when npm is stopped, the
 * shell may die without passing the signal on. An orphan is re-parented, so a
 * changed parent pid means whoever started us is gone: stop the chain as on
 * SIGTERM. (The children, in turn, stop when this process's pipe to them
 * closes.)
 */
function stopWhenOrphaned(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
  }, 500).unref();
}

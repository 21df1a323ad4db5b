import { loadSites, siteById, SUBGRAPHS } from '../schema';
import { openPreparedDatabase } from '../sql/seed';
import type { Logger } from 'pino';
import { CONFIG_OPTION, SITE_SECRETS_ENV, UsageError, createLogger, defineCommand, exitOnUsageError, exitOnSignals, parseSecrets, readCommandLine, resolveConfig, startTracing } from '../platform';
import { startSiteServer } from './server';

const COMMAND = defineCommand({
  usage: 'tsx subgraphs/main.ts --site ID [--config FILE] [--data DIR] [--port N] [--demo [--demo-now ISO] [--scale N]]',
  description:
    'One site process: migrates the site database (created and, if asked, seeded with the demo data on first start by a\n' +
    'short-lived process of its own), and logs JSON lines\n' +
    'on stdout (LIBFED_LOG_LEVEL, LIBFED_LOG_FORMAT), among them {"event":"ready",...} once it listens.\n' +
    'OTEL_EXPORTER_OTLP_ENDPOINT, when set, receives its traces.\n' +
    `${SITE_SECRETS_ENV} (required): the comma-separated secrets a call must be signed with (any one); the first signs\n` +
    "this site's own recovery calls to its peers. Every route but /health refuses an unsigned call with 401.",
  options: {
    site: { kind: 'string', value: 'ID', defaultText: 'none, it must be given', description: "the site this process serves, one of the config's ids" },
    config: CONFIG_OPTION,
    data: { kind: 'string', default: 'data', value: 'DIR', description: 'where PGlite sites keep their files' },
    port: { kind: 'integer', min: 0, max: 65535, defaultText: "the port of the site's URL in the config", description: 'port to listen on; 0 picks a free one' },
    host: { kind: 'string', default: '127.0.0.1', value: 'HOST', description: 'interface to listen on' },
    demo: { kind: 'boolean', description: 'seed the demo data into an empty database' },
    'demo-now': { kind: 'string', value: 'ISO', defaultText: 'the current time', description: 'the instant demo loans are dated against (ISO-8601)' },
    scale: { kind: 'number', default: 1, greaterThan: 0, description: 'multiplies the demo books, copies, readers and loans' },
    peer: { kind: 'strings', value: 'ID=URL', description: "another site's URL for self-recovery, instead of the config's" },
  },
});

/** An ISO-8601 instant, or the caller's mistake: `new Date('x')` would seed with an Invalid Date. */
function demoNow(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const now = new Date(text);
  if (Number.isNaN(now.getTime())) throw UsageError.expected('--demo-now', text, 'an ISO-8601 instant');
  return now;
}

/**
 * One site process (flags in COMMAND above; `--help` prints them). The ready
 * line on stdout is what launch/chain.ts waits for before it goes on.
 */
async function main(): Promise<void> {
  const { values } = readCommandLine(COMMAND);
  const configFile = resolveConfig(values.config);
  const config = loadSites(configFile);
  const site = values.site ? siteById(config, values.site) : undefined;
  if (!site) throw UsageError.expected('--site', values.site, `a site of ${configFile}: ${config.sites.map((s) => s.id).join(', ')}`);
  log = createLogger({ process: site.id });
  const now = demoNow(values['demo-now']);
  // Refused before the database is touched: a site that accepted unsigned calls would let anyone write to it.
  const siteSecrets = parseSecrets(process.env[SITE_SECRETS_ENV]);
  const port = values.port ?? Number(new URL(site.url).port);

  // Created and seeded, when it needs that, by a process of its own: this one keeps only what serving needs.
  const demo = values.demo ? { now, scale: values.scale } : undefined;
  const db = await openPreparedDatabase({ configFile, site, dataDir: values.data, demo }, (prepared) =>
    log!.info({ event: 'database-prepared', site: site.id, seeded: prepared.seeded, pid: prepared.pid }, `site ${site.id}: database prepared by process ${prepared.pid}${prepared.seeded ? ', demo data seeded' : ''}`),
  );
  // Peers for self-recovery: the config's URLs, overridden by --peer ID=URL.
  // A site on a random port (tests) has no reason to trust the config's URLs for the others.
  const peers: Record<string, string> = port === 0 ? {} : Object.fromEntries(config.sites.map((s) => [s.id, s.url]));
  for (const p of values.peer) {
    const [id, url] = p.split('=', 2);
    if (id && url) peers[id] = url;
  }
  // Test hook only (cache fill-race test): LIBFED_TEST_SLOW_ANSWERS=readers:1500.
  const [slowSubgraph, slowMs] = (process.env.LIBFED_TEST_SLOW_ANSWERS ?? '').split(':');
  const slowAnswers = slowSubgraph && Number(slowMs) > 0 ? { subgraphs: [slowSubgraph], ms: Number(slowMs) } : siteDelay();
  const tracing = await startTracing({ serviceName: site.id });
  const handle = await startSiteServer({ siteId: site.id, db, port, host: values.host, peers, slowAnswers, siteSecrets, log });
  // The line launch/chain.ts waits for.
  log.info({ event: 'ready', site: site.id, url: handle.url, tracing: tracing.enabled }, `site ${site.id} ready`);

  exitOnSignals(async () => {
    await handle.stop();
    await db.close();
    await tracing.shutdown();
  });
}

let log: Logger | undefined;

/**
 * Test setting only (the fan-out benchmark): LIBFED_SITE_DELAY_MS=20 holds every subgraph
 * answer of this site that long, as if the site sat a wide-area hop away from the gateway.
 */
function siteDelay(): { subgraphs: string[]; ms: number } | undefined {
  const given = process.env.LIBFED_SITE_DELAY_MS;
  if (!given) return undefined;
  const ms = Number(given);
  if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) throw UsageError.expected('LIBFED_SITE_DELAY_MS', given, 'an integer 0..60000 (milliseconds)');
  return ms > 0 ? { subgraphs: [...SUBGRAPHS], ms } : undefined;
}

main().catch((error: Error) => {
  exitOnUsageError(error);
  (log ?? createLogger({ process: 'site' })).fatal(`site failed to start: ${error.message}`);
  process.exit(1);
});

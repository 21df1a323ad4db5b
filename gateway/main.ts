import { loadSites, MAX_IDEMPOTENCY_KEY_LENGTH } from '../schema';
import type { CrashPoint } from './coordinator';
import { CONFIG_OPTION, SITE_SECRETS_ENV, UsageError, createLogger, defineCommand, exitOnUsageError, exitOnSignals, parseSecrets, readCommandLine, resolveConfig, startTracing } from '../platform';
import type { Logger } from 'pino';
import { startGateway } from './server';
import { REQUEST_LIMITS as LIMITS } from './limits';
import { EXPLORER_CHOICES, isExplorerChoice } from './pages';

/** setTimeout and setInterval turn a longer delay into 1 ms: refuse it rather than spin. */
const MAX_MS = 2 ** 31 - 1;

const COMMAND = defineCommand({
  usage: 'tsx gateway/main.ts [--config FILE] [--port N] [--site ID=URL ...] [options]',
  description:
    "One gateway process over the sites of the config. `--site` overrides a site's URL from the config.\n" +
    'Logs JSON lines on stdout (LIBFED_LOG_LEVEL, LIBFED_LOG_FORMAT), among them {"event":"ready","url":...} once it listens.\n' +
    'REDIS_URL, when set, is the Redis the gateways share. OTEL_EXPORTER_OTLP_ENDPOINT, when set, receives its traces.\n' +
    `${SITE_SECRETS_ENV} (required): the comma-separated secrets the sites accept; the first signs every call to a site.`,
  options: {
    config: CONFIG_OPTION,
    port: { kind: 'integer', default: 4000, min: 0, max: 65535, description: 'port to listen on; 0 picks a free one' },
    host: { kind: 'string', default: '127.0.0.1', value: 'HOST', description: 'interface to listen on' },
    site: { kind: 'strings', value: 'ID=URL', description: "a site's URL instead of the config's" },
    'site-timeout-ms': { kind: 'integer', default: 5000, min: 1, max: MAX_MS, description: "a site that has not answered a coordinator's /tx call by then counts as down for it" },
    // Failure detection (docs/ARCHITECTURE.md §3 rule 5): each site fetch gets what is left of the request's budget.
    'request-budget-ms': { kind: 'integer', min: 1, max: MAX_MS, defaultText: '--site-timeout-ms + 1000', description: 'how long one client request may wait on sites, all its fetches together' },
    'heartbeat-interval-ms': { kind: 'integer', default: 1000, min: 10, max: 10_000, description: "how long a site holds this gateway's watch with nothing to report: how often an idle site is heard from (at most a third of the coherence bound)" },
    'phi-threshold': { kind: 'number', default: 8, greaterThan: 0, description: 'phi at which a site is suspected and skipped at once (8: one chance in 10^8 that it is only slow)' },
    'prepared-ttl-ms': { kind: 'integer', default: 10_000, min: 1, max: MAX_MS, description: 'how long a participant stays PREPARED before recovery may resolve it' },
    'lock-wait-ms': { kind: 'integer', default: 5000, min: 0, max: MAX_MS, description: 'how long a mutation waits for a busy site; 0 gives up at once' },
    'recovery-interval-ms': { kind: 'integer', default: 1000, min: 1, max: MAX_MS, description: 'at most this often, a recovery round at a site that reports participants stuck in PREPARED' },
    'max-open-loans': { kind: 'integer', default: 5, min: 1, max: 1000, description: 'open loans one reader may hold' },
    'redis-prefix': { kind: 'string', default: 'libfed:', value: 'PREFIX', description: 'prefix of every Redis key and connection name' },
    'no-cache': { kind: 'boolean', description: 'serve without the coherent entity cache (and so without the response cache)' },
    'no-response-cache': { kind: 'boolean', description: 'serve without the coherent whole-response cache; the entity cache stays' },
    'no-introspection': { kind: 'boolean', description: 'turn off schema introspection (production); the explorer pages say so' },
    explorer: { kind: 'string', default: 'landing', value: EXPLORER_CHOICES.join('|'), description: 'what a browser gets at / and /graphql: a page linking both explorers, Apollo Sandbox (online) or the bundled GraphiQL (offline)' },
    'cache-max-bytes': { kind: 'integer', min: 1, defaultText: "the cache's own (64 MiB)", description: 'bytes of answers the cache keeps' },
    'instance-id': { kind: 'string', value: 'ID', defaultText: 'gw-<random hex>', description: "this gateway's name on the coherence bus; unique among gateways sharing Redis" },
    // Request limits (gateway/limits.ts, README "Limits"): each refusal names the limit and its value.
    'max-depth': { kind: 'integer', default: LIMITS.maxDepth, min: 1, description: 'nested selection sets an operation may have' },
    'max-cost': { kind: 'integer', default: LIMITS.maxCost, min: 1, description: "an operation's cost (graphql-armor: objects 2, scalars 1, x1.5 per level)" },
    'max-aliases': { kind: 'integer', default: LIMITS.maxAliases, min: 1, description: 'aliases in an operation' },
    'max-directives': { kind: 'integer', default: LIMITS.maxDirectives, min: 1, description: 'directives in an operation' },
    'max-tokens': { kind: 'integer', default: LIMITS.maxTokens, min: 1, description: 'lexical tokens in a document' },
    'max-string-length': { kind: 'integer', default: LIMITS.maxStringLength, min: MAX_IDEMPOTENCY_KEY_LENGTH, description: 'characters of any string argument, inline or variable, however nested; not below the longest idempotency key' },
    'max-body-bytes': { kind: 'integer', default: LIMITS.maxBodyBytes, min: 1, description: 'bytes of an HTTP request body' },
    'max-batch-size': { kind: 'integer', default: LIMITS.maxBatchSize, min: 1, description: 'operations in one HTTP request (a JSON array); 1 turns batching off' },
  },
});

/**
 * One gateway process (flags in COMMAND above; `--help` prints them). The
 * ready line on stdout is what launch/chain.ts waits for before it goes on.
 */
async function main(): Promise<void> {
  const { values } = readCommandLine(COMMAND);
  log = createLogger({ process: values['instance-id'] ?? 'gateway' });
  const config = loadSites(resolveConfig(values.config));
  // Refused before anything starts: the sites would answer every unsigned call with 401.
  const siteSecrets = parseSecrets(process.env[SITE_SECRETS_ENV]);
  for (const override of values.site) {
    const [id, url] = override.split('=', 2);
    const site = config.sites.find((s) => s.id === id);
    if (!site || !url) throw UsageError.expected('--site', override, `ID=URL with ID one of ${config.sites.map((s) => s.id).join(', ')}`);
    site.url = url;
  }
  if (!isExplorerChoice(values.explorer)) throw UsageError.expected('--explorer', values.explorer, EXPLORER_CHOICES.join(', '));
  // Before the gateway is built, so its first spans already have a provider.
  const tracing = await startTracing({ serviceName: values['instance-id'] ?? 'gateway' });
  const handle = await startGateway({
    log,
    config,
    port: values.port,
    host: values.host,
    siteTimeoutMs: values['site-timeout-ms'],
    requestBudgetMs: values['request-budget-ms'],
    heartbeatIntervalMs: values['heartbeat-interval-ms'],
    phiThreshold: values['phi-threshold'],
    siteSecrets,
    jwtSecret: jwtSecret(),
    preparedTtlMs: values['prepared-ttl-ms'],
    lockWaitMs: values['lock-wait-ms'],
    recoveryIntervalMs: values['recovery-interval-ms'],
    maxOpenLoans: values['max-open-loans'],
    redisUrl: process.env.REDIS_URL || undefined,
    redisKeyPrefix: values['redis-prefix'],
    cache: !values['no-cache'],
    responseCache: !values['no-response-cache'],
    introspection: !values['no-introspection'],
    explorer: values.explorer,
    cacheMaxBytes: values['cache-max-bytes'],
    instanceId: values['instance-id'],
    maxDepth: values['max-depth'],
    maxCost: values['max-cost'],
    maxAliases: values['max-aliases'],
    maxDirectives: values['max-directives'],
    maxTokens: values['max-tokens'],
    maxStringLength: values['max-string-length'],
    maxBodyBytes: values['max-body-bytes'],
    maxBatchSize: values['max-batch-size'],
    // Test hook only (crash-point tests): LIBFED_CRASH_AT=after-prepare|after-decision.
    crashAt: process.env.LIBFED_CRASH_AT as CrashPoint | undefined,
  });
  // The line launch/chain.ts waits for.
  log.info({ event: 'ready', url: handle.url, tracing: tracing.enabled }, 'gateway ready');
  exitOnSignals(async () => {
    await handle.stop();
    await tracing.shutdown();
  });
}

let log: Logger | undefined;

main().catch((error: Error) => {
  exitOnUsageError(error);
  (log ?? createLogger({ process: 'gateway' })).fatal(`gateway failed to start: ${error.message}`);
  process.exit(1);
});

/** The secret every gateway of the chain signs and checks staff tokens with; the launcher makes one per chain. */
function jwtSecret(): string {
  const secret = process.env.LIBFED_JWT_SECRET;
  if (!secret || secret.length < 32) throw new UsageError('LIBFED_JWT_SECRET must be set to at least 32 characters, the same on every gateway of the chain (npm start makes one)');
  return secret;
}

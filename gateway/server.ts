import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadDistribution, readSupergraph, type SitesConfig, type SubgraphName, libfedError } from '../schema';
import { createLogger, listen, postJsonHttp, readBody, requestSigner, sendJson, serveApolloBody } from '../platform';
import { adminRoutes, type AdminRoutes } from './admin';
import { MutableSiteDirectory, siteChanges, type SiteDirectory } from './sites';
import { formatError } from './errors';
import { browserPages, type ExplorerChoice } from './pages';
import { ANONYMOUS, type GatewayContext } from './auth/caller';
import { LoginService } from './auth/login';
import { authorization, type RefusedMutation } from './auth/policy';
import { Tokens } from './auth/tokens';
import { AuditTrail } from './coordinator/audit';
import { apolloLimits, batchRefusal, checkLimits, REQUEST_LIMITS, type RequestLimits } from './limits';
import { NoReservedAliases } from './reserved';
import { responseCachePlugin, stringifyResult } from './response-cache';
import { gatewayMetrics } from './metrics';
import { noteRefusal, onParticipantCall, onSiteFetch, requestObserver, tracedSites, type RequestObserver } from './observe';
import { GuardedSiteClient, HttpSiteClient, lruLocations, SiteHealth, SubgraphSource } from './router';
import { GuardedParticipantClient, MONITOR_DEFAULTS, SiteMonitor, SiteWatch } from './health';
import { Coordinator, LocalWaitForGraph, MutationService, RedisWaitForGraph, type CrashPoint } from './coordinator';
import { birthSite, HttpParticipantClient, httpFailure, MAX_WATCH_WAIT_MS, type ParticipantClient } from '../contracts';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { CoherentCache, LocalCoherenceBus, RedisCoherenceBus, type CoherenceBus } from '../cache';

export interface GatewayOptions {
  config: SitesConfig;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** A site that has not answered a coordinator's `/tx` call by then counts as down for that call. */
  siteTimeoutMs?: number;
  /**
   * How long one client request may wait on sites, all its fetches together: each site fetch
   * gets what is left (docs/ARCHITECTURE.md §3 rule 5). Default: siteTimeoutMs + 1000.
   */
  requestBudgetMs?: number;
  /**
   * How long a site holds this gateway's watch when it has nothing to report
   * (docs/ARCHITECTURE.md §5, "Watching the sites"): so how often an idle site
   * is heard from (its heartbeat) and, at most every two of these, the drain
   * fence is renewed. At most a third of coherenceBoundMs.
   */
  heartbeatIntervalMs?: number;
  /** phi at which a site is suspected and skipped (gateway/health/phi.ts; 8 = one chance in 10^8 it is only slow). */
  phiThreshold?: number;
  /** The secrets sites accept (LIBFED_SITE_SECRETS); the first signs every subgraph fetch and `/tx` call. */
  siteSecrets: readonly string[];
  /** Signs and checks staff bearer tokens (LIBFED_JWT_SECRET); every gateway of a chain shares it. At least 32 characters. */
  jwtSecret: string;
  /** Schema introspection and the explorer page (on by default; a production chain may turn them off). */
  introspection?: boolean;
  /** What a browser gets at `/` and `/graphql`: a page linking Apollo Sandbox and the bundled GraphiQL (default), or either one. */
  explorer?: ExplorerChoice;
  /** Request limits (gateway/limits.ts: graphql-armor, the parser, string arguments, the HTTP body and batch). */
  maxDepth?: number;
  maxCost?: number;
  maxAliases?: number;
  maxDirectives?: number;
  maxTokens?: number;
  maxStringLength?: number;
  maxBodyBytes?: number;
  maxBatchSize?: number;
  /** Write path (docs/ARCHITECTURE.md §4). */
  maxOpenLoans?: number;
  loanDays?: number;
  lockWaitMs?: number;
  preparedTtlMs?: number;
  /**
   * While a site reports participants PREPARED past their deadline (its watch
   * answers say so, at least every heartbeatIntervalMs), this gateway runs a
   * recovery round there at most this often.
   */
  recoveryIntervalMs?: number;
  /**
   * The coherence bound (cache/README.md, "acknowledged means coherent"): a
   * gateway serves cached answers only within this long of the start of its
   * last complete drain of every site's dirty-line log, and a write whose
   * invalidation could not reach the directory answers only this long after
   * its commit.
   */
  coherenceBoundMs?: number;
  /** Redis shared by every gateway of the chain (wait-for graph, coherence directory and bus); without it, both in process. */
  redisUrl?: string;
  redisKeyPrefix?: string;
  /** The coherent entity cache (docs/ARCHITECTURE.md §5); on by default. */
  cache?: boolean;
  /** Bytes of answers the cache keeps (variant keys included); least recently used lines go first. */
  cacheMaxBytes?: number;
  /**
   * The coherent response cache (docs/ARCHITECTURE.md §5, "Whole responses"): a query's whole answer, answered
   * before any plan runs while every line it was built from is valid here. On by default; needs `cache`.
   */
  responseCache?: boolean;
  /** This instance's name on the coherence bus; unique among gateways sharing Redis. */
  instanceId?: string;
  /** Test hook: the coordinator stops dead at this point of every cross-site mutation. */
  crashAt?: CrashPoint;
  /** Default: JSON lines on stdout as process `gateway` (platform/logging.ts). */
  log?: Logger;
}

export interface GatewayHandle {
  url: string;
  instanceId: string;
  port: number;
  stop(): Promise<void>;
}

const DEFAULTS = {
  port: 0,
  host: '127.0.0.1',
  siteTimeoutMs: 5000,
  heartbeatIntervalMs: MONITOR_DEFAULTS.heartbeatIntervalMs,
  phiThreshold: MONITOR_DEFAULTS.phiThreshold,
  ...REQUEST_LIMITS,
  maxOpenLoans: 5,
  loanDays: 14,
  lockWaitMs: 5000,
  preparedTtlMs: 10_000,
  recoveryIntervalMs: 1000,
  coherenceBoundMs: 3000,
  cache: true,
  responseCache: true,
};

type Options = GatewayOptions & typeof DEFAULTS;
type Metrics = ReturnType<typeof gatewayMetrics>;

/**
 * The LibFed gateway: Apollo Server over @apollo/gateway on the committed
 * static supergraph, with one data source per logical subgraph. Each part is
 * built by one function below; this one wires them and owns their order of
 * start and stop.
 */
export async function startGateway(options: GatewayOptions): Promise<GatewayHandle> {
  const o: Options = { ...DEFAULTS, ...options };
  checkLimits(limitsOf(o));
  checkWatch(o);
  const directory = new MutableSiteDirectory(o.config.sites);
  const monitor = new SiteMonitor({ sites: o.config.sites, heartbeatIntervalMs: o.heartbeatIntervalMs, phiThreshold: o.phiThreshold });
  const metrics = gatewayMetrics(() => monitor.states());
  const log = o.log ?? createLogger({ process: 'gateway' });
  const observer = requestObserver(metrics, log);
  const instanceId = o.instanceId ?? `gw-${randomBytes(4).toString('hex')}`;
  monitor.start();
  const httpParticipants = new HttpParticipantClient({ sites: o.config.sites, timeoutMs: o.siteTimeoutMs, sign: siteSigner(o), onCall: onParticipantCall(metrics, log) });
  const participants = new GuardedParticipantClient(httpParticipants, (id) => monitor.refusal(id));
  // A watch is held up to its wait before the site timeout starts to count; one that fails is sent again, so it may take the lean transport.
  const watchClient = new HttpParticipantClient({ sites: o.config.sites, timeoutMs: o.siteTimeoutMs + o.heartbeatIntervalMs, sign: siteSigner(o), transport: postJsonHttp, onCall: onParticipantCall(metrics, log) });
  const siteClient = new HttpSiteClient({ sites: o.config.sites, budgetMs: requestBudget(o), sign: siteSigner(o), onRequest: onSiteFetch(metrics, log) });
  // Everything that holds a site's URL or watches it learns a change here; everything else reads directory.ids() on each use.
  directory.onChange((change) => {
    if (change.kind === 'added') monitor.watchSite(change.site);
    if (change.kind === 'removed') monitor.unwatch(change.id);
    httpParticipants.setSites(directory.all());
    watchClient.setSites(directory.all());
    siteClient.setSites(directory.all());
  });
  const coherence = buildCache(o, instanceId, metrics, log);
  const tokens = new Tokens(o.jwtSecret);
  const writes = buildWritePath(o, instanceId, directory, participants, coherence?.cache, tokens, log);
  const watch = watchSites(o, directory, watchClient, monitor, writes.coordinator, coherence?.cache, log);
  watch.start();
  // Cache from the first request: every site's log is read once before the gateway listens (bounded: a site down only delays caching).
  if (coherence) await Promise.race([coherence.cache.start().then(() => watch.fenced), sleep(o.coherenceBoundMs)]);
  const responses = o.responseCache ? coherence?.cache : undefined;
  const apollo = await startApollo(o, buildGateway(directory, siteClient, monitor, writes.mutations, coherence?.cache), writes.audit, log, observer, responses);
  const admin = adminRoutes({ siteSecrets: o.siteSecrets, mutations: writes.mutations, sites: siteChanges({ directory, client: participants, sites: siteClient, mutations: writes.mutations, cache: coherence?.cache, log }) });
  const http = await listen(o.port, o.host, routes(o, apollo, directory, metrics, monitor, tokens, admin, observer), httpFailure);
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${o.host === '0.0.0.0' ? 'localhost' : o.host}:${http.port}/graphql`,
    instanceId,
    port: http.port,
    stop: () =>
      (stopping ??= (async () => {
        watch.stop();
        await http.close();
        await apollo.stop();
        await writes.coordinator.stop();
        if (writes.waitFor instanceof RedisWaitForGraph) await writes.waitFor.stop();
        await coherence?.cache.stop();
        await coherence?.bus.stop();
        monitor.stop();
      })()),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** The coherent entity cache and its bus (Redis when the chain shares one), or none with `cache: false`. */
function buildCache(o: Options, instanceId: string, metrics: Metrics, log: Logger): { cache: CoherentCache; bus: CoherenceBus } | undefined {
  if (!o.cache) return undefined;
  const prefix = o.redisKeyPrefix ?? 'libfed:';
  const bus = o.redisUrl
    ? new RedisCoherenceBus({
        url: o.redisUrl,
        keyPrefix: `${prefix}cache:`,
        // Named per instance, so an operator (or a test) can find one gateway's connections in CLIENT LIST.
        connectionName: `${prefix}${instanceId}`,
        onError: (e) => log.warn({ err: String(e) }, 'coherence bus'),
      })
    : new LocalCoherenceBus();
  const cache = new CoherentCache({
    instanceId,
    bus,
    registry: metrics.registry,
    fenceMs: o.coherenceBoundMs,
    maxBytes: o.cacheMaxBytes,
    responseMaxEntries: o.responseCache ? undefined : 0,
    onError: (e) => log.warn({ err: String(e) }, 'coherent cache'),
  });
  // Not awaited: with Redis down the cache starts in bypass and becomes coherent when Redis is back.
  void cache.start();
  return { cache, bus };
}

/** The coordinator, its wait-for graph and the service that plans and runs mutations (docs/ARCHITECTURE.md §4). */
function buildWritePath(o: Options, instanceId: string, directory: SiteDirectory, participants: ParticipantClient, cache: CoherentCache | undefined, tokens: Tokens, log: Logger) {
  const prefix = o.redisKeyPrefix ?? 'libfed:';
  const waitFor = o.redisUrl ? new RedisWaitForGraph({ url: o.redisUrl, keyPrefix: prefix, connectionName: `${prefix}${instanceId}:waitfor` }) : new LocalWaitForGraph();
  const coordinator = new Coordinator({ client: participants, waitFor, lockWaitMs: o.lockWaitMs, preparedTtlMs: o.preparedTtlMs, crashAt: o.crashAt });
  const siteIds = () => directory.ids();
  const audit = new AuditTrail(participants, siteIds, log);
  const mutations = new MutationService({
    coordinator,
    cache,
    client: participants,
    waitFor,
    log,
    coherenceBoundMs: o.coherenceBoundMs,
    audit,
    login: new LoginService({ client: participants, siteIds, tokens }),
    // `siteIds` is read through on each use: the list changes while the gateway runs (gateway/sites).
    planning: {
      client: participants,
      get siteIds() {
        return directory.ids();
      },
      birthSite: (id) => birthSite(directory.ids(), id),
      now: () => new Date(),
      maxOpenLoans: o.maxOpenLoans,
      loanDays: o.loanDays,
    },
    draining: (site) => directory.state(site) === 'draining',
  });
  return { waitFor, coordinator, mutations, audit };
}

/**
 * The watch on every site (gateway/health/watch.ts): its answers are the
 * sites' heartbeats, start the drain of a log with rows and the recovery of
 * participants PREPARED past their deadline (any gateway resolves a dead
 * coordinator's), and renew the drain fence. A gateway without a cache does
 * not drain: it must not delete lines the gateways that have one have not
 * heard of.
 */
function watchSites(o: Options, directory: SiteDirectory, client: ParticipantClient, monitor: SiteMonitor, coordinator: Coordinator, cache: CoherentCache | undefined, log: Logger): SiteWatch {
  const watch = new SiteWatch({
    client,
    siteIds: () => directory.ids(),
    waitMs: o.heartbeatIntervalMs,
    retryMs: MONITOR_DEFAULTS.probeIntervalMs,
    recoveryIntervalMs: o.recoveryIntervalMs,
    heard: (id) => monitor.heard(id),
    recover: async (id) => {
      const resolved = await coordinator.recover([id]);
      if (resolved.length) log.info({ resolved }, 'recovered in-doubt participants');
    },
    ...(cache && {
      drain: async (id) => (await coordinator.drainDirty([id], async (lines) => (await cache.write(lines)).kind)).complete,
      startFenceRound: () => cache.startFenceRound(),
    }),
  });
  // After the listener that gives the clients the new URL (registered first); a removed site's loop ends by itself.
  directory.onChange((change) => change.kind === 'added' && watch.follow(change.site.id));
  return watch;
}

/** The fence is renewed at most every two watch waits plus a round trip: that must stay well inside the coherence bound. */
function checkWatch(o: Options): void {
  if (!(o.heartbeatIntervalMs > 0 && o.heartbeatIntervalMs <= MAX_WATCH_WAIT_MS)) throw new Error(`heartbeatIntervalMs must be between 1 and ${MAX_WATCH_WAIT_MS}, got ${o.heartbeatIntervalMs}`);
  if (o.heartbeatIntervalMs * 3 > o.coherenceBoundMs) throw new Error(`heartbeatIntervalMs (${o.heartbeatIntervalMs}) must be at most a third of coherenceBoundMs (${o.coherenceBoundMs})`);
}

/** Signs this gateway's calls to the sites with the first secret; the others only matter to sites (rotation). */
function siteSigner(o: Options) {
  if (!o.siteSecrets[0]) throw new Error('siteSecrets is empty: sites refuse unsigned calls, so a gateway needs the secret they accept');
  return requestSigner(o.siteSecrets[0]);
}

/** @apollo/gateway over the static supergraph, with one SubgraphSource per logical subgraph. */
function buildGateway(directory: SiteDirectory, http: HttpSiteClient, monitor: SiteMonitor, mutations: MutationService, cache: CoherentCache | undefined): ApolloGateway {
  // docs/ARCHITECTURE.md §3 rule 5: a suspected site, or one whose breaker is open, is skipped at once.
  const client = tracedSites(new GuardedSiteClient(http, monitor));
  const health = new SiteHealth(() => directory.ids(), { suspected: (id) => monitor.refusal(id) !== undefined });
  const distribution = loadDistribution();
  // One store for every router: a move committed through one is where all of them look next (docs/ARCHITECTURE.md §3 rule 4).
  const locations = lruLocations();
  return new ApolloGateway({
    supergraphSdl: readSupergraph(),
    buildService: ({ name }) =>
      new SubgraphSource({
        distribution: distribution.get(name as SubgraphName)!,
        // Read through on each use: a site added or removed while the gateway runs is routed at once (gateway/sites).
        get siteIds() {
          return directory.ids();
        },
        client,
        health,
        birthSite: (id) => birthSite(directory.ids(), id),
        locations,
        mutations,
        cache,
        // `overdue` and overdue counts change when a due time passes, with no write to invalidate them.
        timeBucketMs: name === 'loans' ? 60_000 : undefined,
      }),
  });
}

/** The request limits out of the options (gateway/limits.ts has their defaults). */
function limitsOf(o: Options): RequestLimits {
  const { maxDepth, maxCost, maxAliases, maxDirectives, maxTokens, maxStringLength, maxBodyBytes, maxBatchSize } = o;
  return { maxDepth, maxCost, maxAliases, maxDirectives, maxTokens, maxStringLength, maxBodyBytes, maxBatchSize };
}

/** Apollo Server with the request limits (gateway/limits.ts), the reserved-alias rule, the response cache and the error formatting. */
async function startApollo(o: Options, gateway: ApolloGateway, audit: AuditTrail, log: Logger, observer: RequestObserver, responses?: CoherentCache): Promise<ApolloServer<GatewayContext>> {
  const limits = apolloLimits(limitsOf(o));
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    parseOptions: limits.parseOptions,
    allowBatchedHttpRequests: limits.allowBatchedHttpRequests,
    validationRules: [...limits.validationRules, NoReservedAliases],
    // Authorization runs once the operation is known, before the gateway plans or reads the cache.
    // Browsers get the gateway's own pages (gateway/pages), never Apollo's landing page, whatever NODE_ENV says.
    // The response cache answers only after every didResolveOperation (limits, authorization) let the operation through.
    plugins: [observer.plugin, ...limits.plugins, authorization(refusedMutations(audit)), ...(responses ? [responseCachePlugin(responses)] : []), ApolloServerPluginLandingPageDisabled()],
    // Stored answers are written from the text kept with them (a hit is never serialized again).
    ...(responses ? { stringifyResult } : {}),
    formatError: (formatted, error) => formatError(formatted, (ref, original) => log.error({ ref, error: original }, 'internal error answered to a client'), error),
    includeStacktraceInErrorResponses: false,
    introspection: o.introspection ?? true,
    stopOnTerminationSignals: false,
  });
  await apollo.start();
  return apollo;
}

/** /graphql: the body is read here so that a batch over the limit is refused before Apollo runs any of it. */
async function serveGraphql(o: Options, apollo: ApolloServer<GatewayContext>, req: IncomingMessage, res: ServerResponse, tokens: Tokens, budgetMs: number): Promise<void> {
  const receivedAt = Date.now();
  const raw = req.method === 'POST' ? await readBody(req, o.maxBodyBytes) : '';
  const refused = batchRefusal(raw, o.maxBatchSize);
  if (refused) {
    noteRefusal(String(refused.extensions?.code));
    return sendJson(res, 400, { errors: [refused] });
  }
  const context = async () => {
    try {
      return { ...(await contextFor(req, tokens)), deadlineAt: receivedAt + budgetMs };
    } catch (error) {
      noteRefusal(String((error as { extensions?: { code?: unknown } }).extensions?.code));
      throw error;
    }
  };
  return serveApolloBody(apollo, req, res, context, raw);
}

/** The time one client request may wait on sites (GatewayOptions.requestBudgetMs). */
function requestBudget(o: Options): number {
  return o.requestBudgetMs ?? o.siteTimeoutMs + 1000;
}

/** The gateway's HTTP routes: the pages for browsers (gateway/pages), /graphql, /health, /ready, /metrics, and the operator's signed /admin/* (admin.ts). */
function routes(o: Options, apollo: ApolloServer<GatewayContext>, directory: MutableSiteDirectory, metrics: Metrics, monitor: SiteMonitor, tokens: Tokens, admin: AdminRoutes, observer: RequestObserver) {
  const pages = browserPages({ introspection: o.introspection ?? true, explorer: o.explorer ?? 'landing' });
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (pages(req, res)) return;
    const path = new URL(req.url ?? '/', 'http://gateway').pathname.replace(/\/+$/, '');
    if (path === '/graphql' || path === '') return observer.serve(req, res, () => serveGraphql(o, apollo, req, res, tokens, requestBudget(o)));
    // Alive: this process answers. Whether its sites do is /ready's question.
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/ready') return sendReadiness(res, directory.all(), monitor);
    if (path === '/metrics') {
      res.setHeader('content-type', metrics.registry.contentType);
      res.end(await metrics.registry.metrics());
      return;
    }
    if (await admin.serve(path, req, res)) return;
    sendJson(res, 404, { error: `no route ${path}: the gateway serves /graphql, /health, /ready, /metrics, /explorer/ and /reports/` });
  };
}

/**
 * Who sent the request: the caller its bearer token names, or anonymous
 * without one. A token that does not verify is refused (401), not read as
 * anonymous: the client meant to be someone.
 */
async function contextFor(req: IncomingMessage, tokens: Tokens): Promise<GatewayContext> {
  const clientAddress = req.socket.remoteAddress ?? 'unknown';
  const header = req.headers.authorization;
  if (!header) return { caller: ANONYMOUS, clientAddress };
  const [scheme, token] = header.split(' ', 2);
  if (scheme?.toLowerCase() !== 'bearer' || !token) {
    throw libfedError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>" with a token from the login mutation', { http: { status: 401 } });
  }
  try {
    return { caller: await tokens.verify(token), clientAddress };
  } catch (error) {
    (error as { extensions: Record<string, unknown> }).extensions.http = { status: 401 };
    throw error;
  }
}

/** Mutations the role check refused never reach the coordinator: their audit lines are written from here. */
function refusedMutations(audit: AuditTrail): RefusedMutation {
  return async (caller, fields, code) => {
    for (const f of fields) await audit.record(audit.entry(caller, f.name, f.args, [], code === 'UNAUTHENTICATED' ? 'UNAUTHENTICATED' : 'FORBIDDEN', code));
  };
}

/**
 * `/ready`: the supergraph is loaded (it is, once this answers) and at least
 * one site can serve; the body has each site's `/ready` answer, so an
 * operator sees which branch is missing, and this gateway's failure detector's
 * view of it (`phi`, `breaker`). 503 when no site is ready.
 */
async function sendReadiness(res: ServerResponse, sites: readonly { id: string; url: string }[], monitor: SiteMonitor): Promise<void> {
  // Rounded for people; Infinity (a long silence) is not JSON, so it is capped.
  const detection = (id: string) => {
    const { phi, breaker } = monitor.state(id);
    return { phi: Math.min(Math.round(phi * 100) / 100, 1e6), breaker };
  };
  const detail = await Promise.all(
    sites.map(async (site) => {
      try {
        const answer = await fetch(`${site.url.replace(/\/+$/, '')}/ready`, { signal: AbortSignal.timeout(1000) });
        const body = (await answer.json()) as { ready?: boolean; reason?: string };
        return { site: site.id, ready: answer.ok && body.ready === true, reason: body.reason ?? null, ...detection(site.id) };
      } catch (error) {
        return { site: site.id, ready: false, reason: (error as Error).name === 'TimeoutError' ? 'no answer within 1000 ms' : 'unreachable', ...detection(site.id) };
      }
    }),
  );
  const ready = detail.some((d) => d.ready);
  sendJson(res, ready ? 200 : 503, { ready, sites: detail });
}

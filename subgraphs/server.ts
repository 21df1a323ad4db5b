import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { errorJson, firstUnstorable, libfedError, SUBGRAPHS, type SubgraphName } from '../schema';
import { countingExecutor, isTransient, pendingMigrations, SqlFailure, tracedExecutor, type SqlExecutor } from '../sql';
import type { SiteContext } from './context';
import { collectProcessMetrics, createLogger, listen, NonceCache, periodic, readBodyBytes, requestSigner, sendJson, serveApolloBody, verify, type Periodic, type RequestSigner } from '../platform';
import { httpFailure, HttpParticipantClient, type Outcome } from '../contracts';
import { BadTxRequest, handleTx, Participant } from './participant';
import { buildSiteSchemas } from './schema';
import { noteOutcome, observeCalls, outcomePlugin, type SiteMetrics } from './observe';
import { storableTextPlugin } from './refusals';

export interface SiteServerOptions {
  siteId: string;
  /** The site's database, already migrated. The server does not close it. */
  db: SqlExecutor;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Injected clock for due dates and `overdue`. */
  clock?: () => Date;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
  /**
   * The secrets a request must be signed with, one of them (LIBFED_SITE_SECRETS): every route but
   * `/health` refuses anything else with 401. The first also signs this site's own recovery calls.
   */
  siteSecrets: readonly string[];
  /** How far a request's timestamp may be from this site's clock, either way; a nonce is remembered that long. */
  replayWindowMs?: number;
  /** Other sites' base URLs: with them the site resolves its own in-doubt transactions (docs/ARCHITECTURE.md §4 recovery). */
  peers?: Record<string, string>;
  recoveryIntervalMs?: number;
  /** Test hook: hold every answer of these subgraphs this long AFTER computing it (a slow network), to force cache fill races. */
  slowAnswers?: { subgraphs: string[]; ms: number };
  /** Default: JSON lines on stdout as process `<siteId>` (platform/logging.ts). */
  log?: Logger;
}

export interface SiteHandle {
  siteId: string;
  participant: Participant;
  url: string;
  port: number;
  metrics: Registry;
  stop(): Promise<void>;
}

const DEFAULTS = { port: 0, host: '127.0.0.1', clock: () => new Date(), maxBodyBytes: 4 * 1024 * 1024, recoveryIntervalMs: 1000 };

function siteMetrics(siteId: string): SiteMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ site: siteId });
  // The process's own figures (CPU, memory, event loop, GC), as at the gateway.
  collectProcessMetrics(registry);
  return {
    registry,
    requests: new Counter({
      name: 'libfed_site_requests_total',
      help: 'GraphQL requests served, per logical subgraph and outcome (ok, or the first error code)',
      labelNames: ['subgraph', 'outcome'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'libfed_site_request_duration_seconds',
      help: 'Time this site took to serve one call, per logical subgraph (tx for the participant)',
      labelNames: ['subgraph'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    txRequests: new Counter({
      name: 'libfed_site_tx_requests_total',
      help: 'Participant calls served (/tx/<action>), per action and outcome (ok, a vote, or the error code)',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    }),
    statements: new Counter({ name: 'libfed_site_sql_statements_total', help: 'SQL statements sent to this site database, per logical subgraph', labelNames: ['subgraph'], registers: [registry] }),
  };
}

/**
 * One branch site: the four logical subgraphs (`/catalog`, `/inventory`,
 * `/readers`, `/loans`) over this site's fragment, plus `/health` and `/metrics`.
 * Every request but `/health` must be signed by a gateway (or a peer site) of
 * the chain, or it is refused before anything runs.
 */
/** Deepest query a site answers. */
export const SITE_MAX_DEPTH = 16;

export async function startSiteServer(options: SiteServerOptions): Promise<SiteHandle> {
  const o = { ...DEFAULTS, ...options };
  if (!o.siteSecrets.length) throw new Error(`site ${o.siteId}: siteSecrets is empty, and a site that accepts unsigned calls lets anyone write to it`);
  const nonces = new NonceCache({ windowMs: o.replayWindowMs });
  const metrics = siteMetrics(o.siteId);
  const log = o.log ?? createLogger({ process: o.siteId });
  // Every statement a span (a child of the call's), and counted per subgraph.
  const traced = tracedExecutor(o.db);
  const dbFor = new Map(SUBGRAPHS.map((name) => [name, countingExecutor(traced, () => metrics.statements.inc({ subgraph: name }))]));
  const db2pc = countingExecutor(traced, () => metrics.statements.inc({ subgraph: 'tx' }));
  const participant = new Participant({ siteId: o.siteId, db: db2pc, clock: o.clock });
  const apollo = new Map<SubgraphName, ApolloServer<SiteContext>>();
  // A site's own depth bound, above any fetch a gateway within its limits sends (depth 12, plus `_entities`):
  // Reader.loans and Copy.loans are unbounded lists, so a signed query nesting them 24 deep ran a site out of memory.
  const depth = new ApolloArmor({
    maxDepth: { n: SITE_MAX_DEPTH },
    costLimit: { enabled: false },
    maxAliases: { enabled: false },
    maxDirectives: { enabled: false },
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();
  for (const [name, schema] of buildSiteSchemas()) {
    const server = new ApolloServer<SiteContext>({
      schema,
      includeStacktraceInErrorResponses: false,
      // Only the gateway calls sites, with JSON POSTs.
      csrfPrevention: false,
      // The process that owns the site stops it; Apollo must not install its own signal handlers.
      stopOnTerminationSignals: false,
      validationRules: depth.validationRules,
      // No cache hints: the gateway keeps its own coherent cache (docs/ARCHITECTURE.md §5). Apollo's
      // cache-control plugin would otherwise wrap every field resolver to collect hints no one reads.
      plugins: [ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginCacheControlDisabled(), outcomePlugin, storableTextPlugin, ...depth.plugins],
      // A read the database could not serve in time (timeout, lost connection, lock wait) says so with a code.
      formatError: (formatted, error) => {
        const unavailable = transientDatabaseError(o.siteId, (error as { originalError?: unknown })?.originalError ?? error);
        if (!unavailable) return formatted;
        return { ...formatted, message: unavailable, extensions: { ...libfedError('BRANCH_UNAVAILABLE', unavailable, { site: o.siteId }).extensions } };
      },
    });
    await server.start();
    apollo.set(name, server);
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    // Open on purpose: a liveness probe holds no secret, and the answer tells only that the process is up.
    if (path === '/health') return sendJson(res, 200, { site: o.siteId, status: 'ok' });
    // Open too, for the same reason: whether this site can serve (its database answers and is migrated).
    if (path === '/ready') return sendReadiness(res, o.siteId, o.db);
    const raw = await readBodyBytes(req, o.maxBodyBytes);
    // Before routing: a refused request reaches no resolver and no participant, so it changes nothing.
    const verdict = verify(req.headers, req.method ?? '', req.url ?? '/', raw, o.siteSecrets, Date.now(), nonces);
    if (!verdict.ok) {
      noteOutcome('UNAUTHENTICATED', { reason: verdict.reason });
      return sendJson(res, 401, { errors: [errorJson('UNAUTHENTICATED', `site ${o.siteId} serves only calls signed by its chain: ${verdict.reason}`)] });
    }
    const text = raw.toString('utf8');
    const name = path.slice(1) as SubgraphName;
    if ((SUBGRAPHS as readonly string[]).includes(name)) {
      const context = async (): Promise<SiteContext> => ({ siteId: o.siteId, db: dbFor.get(name)!, now: o.clock(), loaders: new Map() });
      const slow = o.slowAnswers?.subgraphs.includes(name) ? () => new Promise<void>((r) => setTimeout(r, o.slowAnswers!.ms)) : undefined;
      return serveApolloBody(apollo.get(name)!, req, res, context, req.method === 'POST' ? text : '', slow);
    }
    if (path.startsWith('/tx/') && req.method === 'POST') {
      try {
        const body = JSON.parse(text || '{}');
        noteOutcome(undefined, typeof body?.gid === 'string' ? { gid: body.gid } : {});
        const unstorable = firstUnstorable(body, 'body');
        if (unstorable) throw new BadTxRequest(`${unstorable} holds a NUL character or an unpaired surrogate, which no branch database can store`);
        const reply = await handleTx(participant, db2pc, o.siteId, path.slice(4), body);
        const vote = (reply as { vote?: unknown }).vote;
        noteOutcome(typeof vote === 'string' ? vote : 'ok');
        return sendJson(res, 200, reply);
      } catch (error) {
        if (error instanceof BadTxRequest || error instanceof SyntaxError) {
          noteOutcome('BAD_REQUEST', { reason: (error as Error).message.slice(0, 300) });
          return sendJson(res, 400, { error: (error as Error).message });
        }
        // The database is slow, gone or busy past its bounds: a site that cannot serve now, not a bug. The
        // gateway reads any non-2xx as this branch unavailable (nothing changed for a PREPARE; in doubt for
        // a deciding call, whose commit may have landed before the connection dropped).
        const unavailable = transientDatabaseError(o.siteId, error);
        if (unavailable) {
          noteOutcome('BRANCH_UNAVAILABLE', { reason: unavailable.slice(0, 300) });
          return sendJson(res, 503, { errors: [errorJson('BRANCH_UNAVAILABLE', unavailable, { site: o.siteId })] });
        }
        throw error;
      }
    }
    if (path === '/metrics') {
      res.setHeader('content-type', metrics.registry.contentType);
      res.end(await metrics.registry.metrics());
      return;
    }
    sendJson(res, 404, { error: `no route ${path}: this site serves /catalog, /inventory, /readers, /loans, /health, /metrics` });
  }

  const handle = observeCalls(o.siteId, metrics, log, route);
  const http = await listen(o.port, o.host, handle, httpFailure);
  const port = http.port;
  const recovery = o.peers ? startRecovery(participant, o.siteId, { ...o.peers }, requestSigner(o.siteSecrets[0]), o.recoveryIntervalMs) : undefined;

  let stopping: Promise<void> | undefined;
  return {
    siteId: o.siteId,
    participant,
    url: `http://${o.host}:${port}`,
    port,
    metrics: metrics.registry,
    stop: () =>
      (stopping ??= (async () => {
        recovery?.stop();
        participant.endWatches();
        await http.close();
        await Promise.all([...apollo.values()].map((s) => s.stop()));
      })()),
  };
}

/**
 * The site resolves its own participants left PREPARED past their deadline by
 * asking each one's commit-point site — also right after a restart, when its
 * coordinator may be gone (presumed abort: no decision means abort).
 */
function startRecovery(participant: Participant, siteId: string, peers: Record<string, string>, sign: RequestSigner, intervalMs: number): Periodic {
  // The coordinator's client: an answer that is not a decision throws, so it can never pass for ABORTED.
  // Signed like a gateway's calls: the peer verifies them the same way.
  const client = new HttpParticipantClient({ sites: Object.entries(peers).map(([id, url]) => ({ id, url })), sign });
  const ask = async (commitSite: string, gid: string): Promise<Outcome> =>
    commitSite === siteId ? participant.decide(gid) : (await client.call(commitSite, 'decide', { gid })).outcome;
  // A round that fails (the commit point is unreachable) is tried again at the next tick.
  const recovery = periodic(async () => void (await participant.recover(ask)), intervalMs);
  void recovery.runNow();
  return recovery;
}

/** `/ready`: 200 when the database answers and has every migration, else 503 with the reason (the database's words stay in the site). */
async function sendReadiness(res: ServerResponse, siteId: string, db: SqlExecutor): Promise<void> {
  try {
    const pending = await pendingMigrations(db);
    if (pending.length) return sendJson(res, 503, { site: siteId, ready: false, reason: `migrations ${pending.join(', ')} not applied` });
    sendJson(res, 200, { site: siteId, ready: true });
  } catch {
    sendJson(res, 503, { site: siteId, ready: false, reason: 'the database does not answer' });
  }
}

/** The message for a database failure a later retry may cure (sql/failures.ts), or undefined for anything else. */
function transientDatabaseError(siteId: string, error: unknown): string | undefined {
  if (!(error instanceof SqlFailure) || !isTransient(error.kind)) return undefined;
  return `the database of site ${siteId} could not serve the request (${error.kind}); retry later`;
}

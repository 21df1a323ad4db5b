import type { ApolloServerPlugin } from '@apollo/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Counter, Histogram, Registry } from 'prom-client';
import { isTxAction } from '../contracts';
import { currentRequest, REQUEST_ID_HEADER, requestIdFrom, runInRequest, SpanKind, traceContextFrom, withSpan, type RequestScope } from '../platform';
import { SUBGRAPHS } from '../schema';

export interface SiteMetrics {
  registry: Registry;
  requests: Counter<'subgraph' | 'outcome'>;
  latency: Histogram<'subgraph'>;
  txRequests: Counter<'action' | 'outcome'>;
  statements: Counter<'subgraph'>;
}

/** What the site notes while it serves one call: how it ended, and what a log line should say of it. */
interface SiteScope extends RequestScope {
  outcome?: string;
  detail: Record<string, unknown>;
}

/** Probes and scrapes: not calls of the chain, so neither logged nor counted (they would drown both). */
const UNOBSERVED = new Set(['/health', '/ready', '/metrics']);

/**
 * Serves each call of a gateway (or a peer) inside its request scope and span:
 * the id is the caller's `x-request-id` (generated when missing or not a sane
 * token), the span's parent the caller's `traceparent`, so the site's log
 * lines, its span and its SQL spans join the gateway's. One log line per call,
 * with its outcome: `ok`, a vote, or the first error code (at debug for the
 * calls of background rounds, which carry no id).
 */
export function observeCalls(
  siteId: string,
  metrics: SiteMetrics,
  log: Logger,
  route: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://site').pathname.replace(/\/+$/, '');
    if (UNOBSERVED.has(path)) return route(req, res, path);
    const scope: SiteScope = { requestId: requestIdFrom(req.headers[REQUEST_ID_HEADER]), detail: {} };
    // A call without an id is a background round's (the gateways' watches, every second or sooner): at info they would drown the log.
    const served = req.headers[REQUEST_ID_HEADER] === undefined ? log.debug : log.info;
    res.setHeader(REQUEST_ID_HEADER, scope.requestId);
    const name = path.slice(1);
    const subgraph = (SUBGRAPHS as readonly string[]).includes(name) ? name : path.startsWith('/tx/') ? 'tx' : undefined;
    const action = subgraph === 'tx' ? (isTxAction(path.slice(4)) ? path.slice(4) : 'unknown') : undefined;
    const started = performance.now();
    await runInRequest(scope, () =>
      withSpan(`site ${subgraph === 'tx' ? `tx ${action}` : path}`, { kind: SpanKind.SERVER, parent: traceContextFrom(req.headers), attributes: { 'libfed.site': siteId, 'url.path': path } }, async (span) => {
        let failure: unknown;
        try {
          await route(req, res, path);
        } catch (error) {
          failure = error;
          scope.outcome ??= 'INTERNAL_SERVER_ERROR';
          throw error;
        } finally {
          const ms = performance.now() - started;
          const outcome = scope.outcome ?? (res.statusCode >= 400 ? `HTTP_${res.statusCode}` : 'ok');
          span.setAttribute('libfed.outcome', outcome);
          if (subgraph === 'tx') metrics.txRequests.inc({ action, outcome });
          else if (subgraph) metrics.requests.inc({ subgraph, outcome });
          // A watch's time is how long it waited for something to report, not how long the site took.
          if (subgraph && action !== 'watch') metrics.latency.observe({ subgraph }, ms / 1000);
          const fields = { call: path, outcome, ms: Math.round(ms * 10) / 10, ...scope.detail };
          if (failure) log.error({ ...fields, err: String((failure as Error)?.stack ?? failure) }, `failed ${path}`);
          else if (outcome === 'UNAUTHENTICATED') log.warn(fields, `refused ${path}: not signed by the chain`);
          else served.call(log, fields, `served ${path}`);
        }
      }),
    );
  };
}

/** Records how the call being served ended (`outcome`, when given) and what its log line should add. */
export function noteOutcome(outcome: string | undefined, detail: Record<string, unknown> = {}): void {
  const scope = currentRequest<SiteScope>();
  if (!scope) return;
  if (outcome !== undefined) scope.outcome = outcome;
  Object.assign(scope.detail, detail);
}

/** A subgraph call's outcome: its first error's code, or ok. */
export const outcomePlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse(rc) {
        const errors = rc.response.body.kind === 'single' ? (rc.response.body.singleResult.errors ?? []) : [];
        const code = errors[0]?.extensions?.code;
        noteOutcome(errors.length ? (typeof code === 'string' ? code : 'error') : 'ok', errors.length ? { errors: errors.length } : {});
      },
    };
  },
};

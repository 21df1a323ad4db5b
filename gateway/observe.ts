import type { ApolloServerPlugin } from '@apollo/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { boundedLabel, currentRequest, REQUEST_ID_HEADER, requestIdFrom, runInRequest, SpanKind, traceContextFrom, withSpan, type RequestScope } from '../platform';
import { httpFailure, type ParticipantCall } from '../contracts';
import type { SubgraphName } from '../schema';
import type { GatewayContext } from './auth/caller';
import type { GatewayMetrics } from './metrics';
import type { SiteClient } from './router';

/**
 * What the gateway logs, counts and traces of each client request. One HTTP
 * request is one scope (platform/request-context.ts): its id is the client's
 * `x-request-id` when sane, else a fresh one, answered in the same header and
 * sent on with every site call; its span is the parent of every site fetch and
 * 2PC step. Each GraphQL operation in it (a batch has several) gets one log
 * line and one count, with its outcome: `ok`, or the first error's code.
 */
interface GatewayScope extends RequestScope {
  /** Operations Apollo answered within this request. */
  operations: number;
  /** The code of a refusal before any operation ran (a batch too large, a bad token). */
  refusedCode?: string;
}

/** Operation names are the client's: the first 100 distinct ones are kept as they are, later ones count as `other`. */
const MAX_OPERATION_NAMES = 100;
/** Error codes come from the catalogue and Apollo, but a bound costs nothing. */
const MAX_ERROR_CODES = 100;

export interface RequestObserver {
  /** Serves one client HTTP request inside its scope and span. */
  serve(req: IncomingMessage, res: ServerResponse, work: () => Promise<void>): Promise<void>;
  /** The Apollo plugin that logs and counts each operation. */
  plugin: ApolloServerPlugin<GatewayContext>;
}

export function requestObserver(metrics: GatewayMetrics, log: Logger): RequestObserver {
  const operationLabel = boundedLabel({ max: MAX_OPERATION_NAMES });
  const codeLabel = boundedLabel({ max: MAX_ERROR_CODES, empty: 'error' });
  const record = (operation: string, codes: string[], seconds: number) => {
    metrics.requests.inc({ operation, outcome: codes[0] ?? 'ok' });
    metrics.requestLatency.observe({ operation }, seconds);
    for (const code of codes) metrics.errors.inc({ code });
  };
  return {
    serve: async (req, res, work) => {
      const scope: GatewayScope = { requestId: requestIdFrom(req.headers[REQUEST_ID_HEADER]), operations: 0 };
      res.setHeader(REQUEST_ID_HEADER, scope.requestId);
      const started = performance.now();
      await runInRequest(scope, () =>
        withSpan('graphql request', { kind: SpanKind.SERVER, parent: traceContextFrom(req.headers), attributes: { 'http.request.method': req.method ?? '', 'libfed.request_id': scope.requestId } }, async (span) => {
          try {
            await work();
          } catch (error) {
            // Answered by `listen` with httpFailure's code (a body over the limit, or an internal error): the same code counted here.
            scope.refusedCode ??= String((httpFailure(error).body as { errors?: { extensions?: { code?: unknown } }[] }).errors?.[0]?.extensions?.code);
            throw error;
          } finally {
            span.setAttribute('http.response.status_code', res.statusCode);
            // Refused before Apollo ran an operation: counted once, as operation `none`.
            if (scope.operations === 0 && (scope.refusedCode || res.statusCode >= 400)) {
              const code = codeLabel(scope.refusedCode ?? `HTTP_${res.statusCode}`);
              record('none', [code], (performance.now() - started) / 1000);
              log.warn({ operation: 'none', outcome: code, status: res.statusCode }, 'request refused');
            }
          }
        }),
      );
    },
    plugin: {
      async requestDidStart() {
        const started = performance.now();
        return {
          async willSendResponse(rc) {
            const scope = currentRequest<GatewayScope>();
            if (scope) scope.operations += 1;
            const operation = operationLabel(rc.operationName);
            const errors = rc.response.body.kind === 'single' ? (rc.response.body.singleResult.errors ?? []) : [];
            const codes = errors.map((e) => codeLabel(typeof e.extensions?.code === 'string' ? e.extensions.code : undefined));
            const ms = performance.now() - started;
            record(operation, codes, ms / 1000);
            const fields = {
              operation,
              outcome: codes[0] ?? 'ok',
              ms: Math.round(ms * 10) / 10,
              user: rc.contextValue.caller.username,
              ...(errors.length ? { errors: errors.slice(0, 10).map((e) => ({ code: e.extensions?.code, message: e.message.slice(0, 300), site: e.extensions?.site })) } : {}),
            };
            if (errors.length) log.warn(fields, 'operation answered with errors');
            else log.info(fields, 'operation answered');
          },
        };
      },
    },
  };
}

/** Notes why a request was refused before any operation ran, for its count and log line. */
export function noteRefusal(code: string): void {
  const scope = currentRequest<GatewayScope>();
  if (scope) scope.refusedCode = code;
}

/** A site client whose every fetch is a span (`site fetch` to Q3 for `loans`), the child of the request's. */
export function tracedSites(inner: SiteClient): SiteClient {
  return {
    send: (siteId, subgraph: SubgraphName, request, deadlineAt) =>
      withSpan('site fetch', { kind: SpanKind.CLIENT, attributes: { 'libfed.site': siteId, 'libfed.subgraph': subgraph } }, () => inner.send(siteId, subgraph, request, deadlineAt)),
  };
}

/** Logs and counts the site fetches that failed (the others are in the request's line and the latency histogram). */
export function onSiteFetch(metrics: GatewayMetrics, log: Logger) {
  return (site: string, subgraph: SubgraphName, ms: number, ok: boolean, failure?: string) => {
    metrics.siteRequests.inc({ site, subgraph, outcome: ok ? 'ok' : 'unavailable' });
    metrics.siteLatency.observe({ site, subgraph }, ms / 1000);
    if (!ok) log.warn({ site, subgraph, ms: Math.round(ms), reason: failure }, 'site fetch failed');
  };
}

/** 2PC steps are logged at info, the participant reads of planning, recovery and the drain (several a second) at debug. */
const TWO_PC_STEPS = new Set(['local', 'commit-point', 'prepare', 'commit', 'abort']);

export function onParticipantCall(metrics: GatewayMetrics, log: Logger) {
  return (call: ParticipantCall) => {
    metrics.txCalls.inc({ site: call.siteId, action: call.action, outcome: call.outcome });
    metrics.txLatency.observe({ action: call.action }, call.ms / 1000);
    const fields = { site: call.siteId, action: call.action, gid: call.gid, outcome: call.outcome, ms: Math.round(call.ms * 10) / 10, reason: call.reason };
    // A failure in a request is the client's concern; the background rounds' (a watch every 250 ms to a site that is down) would drown the log.
    if (call.reason) (TWO_PC_STEPS.has(call.action) || currentRequest() ? log.warn : log.debug).call(log, fields, `tx ${call.action} failed`);
    else if (TWO_PC_STEPS.has(call.action)) log.info(fields, `tx ${call.action}`);
    else log.debug(fields, `tx ${call.action}`);
  };
}

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../platform';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the failure detector says of one site (gateway/health), read each time /metrics is scraped. */
export interface SiteDetection {
  site: string;
  phi: number;
  breaker: 'closed' | 'halfOpen' | 'open';
}

const BREAKER_CODE = { closed: 0, halfOpen: 1, open: 2 } as const;

/**
 * The gateway's own metrics, exported at /metrics, with the process's own
 * (CPU, memory, event loop, GC: prom-client's defaults). The cache adds its
 * `libfed_cache_*` series to the same registry (cache/metrics.ts).
 */
export function gatewayMetrics(siteStates: () => SiteDetection[] = () => []) {
  const registry = new Registry();
  collectProcessMetrics(registry);
  return {
    registry,
    // Client requests, per GraphQL operation. `operation` is bounded (gateway/observe.ts): a client names its operations.
    requests: new Counter({
      name: 'libfed_requests_total',
      help: 'Client GraphQL operations answered, per operation name and outcome (ok, or the first error code)',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    requestLatency: new Histogram({
      name: 'libfed_request_duration_seconds',
      help: 'Time from the start of a client operation to its answer',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    errors: new Counter({ name: 'libfed_errors_total', help: 'Errors answered to clients, per extensions.code', labelNames: ['code'], registers: [registry] }),
    siteRequests: new Counter({
      name: 'libfed_gateway_site_requests_total',
      help: 'Requests the fragment router sent to a site, per logical subgraph and outcome',
      labelNames: ['site', 'subgraph', 'outcome'],
      registers: [registry],
    }),
    siteLatency: new Histogram({
      name: 'libfed_gateway_site_request_seconds',
      help: 'Time a site took to answer one routed fetch',
      labelNames: ['site', 'subgraph'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    // The write path: every participant call (2PC prepare, commit, abort, one-site local and commit-point, and the reads of planning and recovery).
    txCalls: new Counter({
      name: 'libfed_gateway_tx_calls_total',
      help: "Calls to a site's participant (/tx/<action>), per site, action and outcome (ok, a vote, unreachable, failed, malformed)",
      labelNames: ['site', 'action', 'outcome'],
      registers: [registry],
    }),
    txLatency: new Histogram({
      name: 'libfed_gateway_tx_call_seconds',
      help: 'Time a participant call took, per action',
      labelNames: ['action'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    sitePhi: new Gauge({
      name: 'libfed_site_phi',
      help: "The failure detector's phi for a site: how unlikely its heartbeats' silence is (-log10 P); the site is skipped at the threshold (8 by default)",
      labelNames: ['site'],
      registers: [registry],
      collect() {
        // A silence long enough makes phi infinite, which a scraper cannot read as a sample.
        for (const s of siteStates()) this.set({ site: s.site }, Number.isFinite(s.phi) ? s.phi : Number.MAX_VALUE);
      },
    }),
    siteBreaker: new Gauge({
      name: 'libfed_site_breaker_state',
      help: "A site's circuit breaker in this gateway: 0 closed, 1 half-open (one fetch probes the site), 2 open (fetches to it are refused at once)",
      labelNames: ['site'],
      registers: [registry],
      collect() {
        for (const s of siteStates()) this.set({ site: s.site }, BREAKER_CODE[s.breaker]);
      },
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;

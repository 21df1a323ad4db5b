import { Counter, Histogram, Registry } from 'prom-client';

/** The gateway's own metrics, exported at /metrics. */
export function gatewayMetrics() {
  const registry = new Registry();
  return {
    registry,
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
  };
}
export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;

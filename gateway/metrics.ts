import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the failure detector says of one site (gateway/health), read each time /metrics is scraped. */
export interface SiteDetection {
  site: string;
  phi: number;
  breaker: 'closed' | 'halfOpen' | 'open';
}

const BREAKER_CODE = { closed: 0, halfOpen: 1, open: 2 } as const;

/** The gateway's own metrics, exported at /metrics. */
export function gatewayMetrics(siteStates: () => SiteDetection[] = () => []) {
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

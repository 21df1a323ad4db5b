import { postJsonHttp, Unreachable, type RequestSigner } from '../../platform';
import type { Site, SubgraphName } from '../../schema';

/** A subgraph request or answer as it travels between gateway and site. */
export interface SubgraphRequest {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

export interface SubgraphError {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
}

export interface SubgraphResponse {
  data?: Record<string, unknown> | null;
  errors?: SubgraphError[];
}

/** The site could not be reached or did not answer in time. */
export class SiteUnavailable extends Error {
  constructor(readonly siteId: string, reason: string) {
    super(`branch site ${siteId} is unavailable: ${reason}`);
    this.name = 'SiteUnavailable';
  }
}

/**
 * The seam between the router and the sites (HTTP in production; tests may count or delay calls).
 * `deadlineAt` (epoch ms, Date.now's clock) is when the client's request runs out of time: a site
 * that has not answered by then is down for this request. Without one, the client's own budget applies.
 */
export interface SiteClient {
  send(siteId: string, subgraph: SubgraphName, request: SubgraphRequest, deadlineAt?: number): Promise<SubgraphResponse>;
}

export interface HttpSiteClientOptions {
  sites: readonly Pick<Site, 'id' | 'url'>[];
  /** Signs every fetch: a site refuses an unsigned one with 401 (platform/signing.ts). */
  sign: RequestSigner;
  /** How long a fetch sent without a deadline may take (a read-back after a mutation, a health check). */
  budgetMs?: number;
  /** Called once per HTTP request, for per-site metrics and logs; `failure` says why it failed. */
  onRequest?: (siteId: string, subgraph: SubgraphName, ms: number, ok: boolean, failure?: string) => void;
}

export class HttpSiteClient implements SiteClient {
  private urls: Map<string, string>;
  private readonly budgetMs: number;

  constructor(private readonly options: HttpSiteClientOptions) {
    this.urls = new Map(options.sites.map((s) => [s.id, s.url.replace(/\/+$/, '')]));
    this.budgetMs = options.budgetMs ?? 6000;
  }

  /** The sites' URLs now (a site added or removed while the gateway runs: gateway/sites). */
  setSites(sites: readonly Pick<Site, 'id' | 'url'>[]): void {
    this.urls = new Map(sites.map((s) => [s.id, s.url.replace(/\/+$/, '')]));
  }

  async send(siteId: string, subgraph: SubgraphName, request: SubgraphRequest, deadlineAt?: number): Promise<SubgraphResponse> {
    const base = this.urls.get(siteId);
    if (!base) throw new SiteUnavailable(siteId, 'not in the sites config');
    // The request's remaining time, not a fixed timeout per fetch: a fetch after a slow one gets what is left.
    const timeoutMs = Math.floor(deadlineAt === undefined ? this.budgetMs : deadlineAt - Date.now());
    if (timeoutMs <= 0) throw new SiteUnavailable(siteId, "the request's time budget ran out before this branch was asked");
    const started = performance.now();
    let ok = false;
    let failure: string | undefined;
    try {
      // Every fetch here is a read (writes go through the coordinator's /tx calls), so it may take the lean transport.
      const answer = await postJsonHttp(`${base}/${subgraph}`, request, timeoutMs, {}, this.options.sign).catch((error: unknown) => {
        throw new SiteUnavailable(siteId, error instanceof Unreachable ? error.reason : (error as Error).message);
      });
      // The site's UNAUTHENTICATED is about this gateway's secret, not the client's request: passing it on would mislead the client.
      if (answer.status === 401) throw new SiteUnavailable(siteId, `it refused the gateway's signature (HTTP 401): ${answer.text.slice(0, 200)}`);
      let body: SubgraphResponse;
      try {
        body = JSON.parse(answer.text);
      } catch {
        throw new SiteUnavailable(siteId, `answered HTTP ${answer.status} without a GraphQL body`);
      }
      ok = true;
      return body;
    } catch (error) {
      failure = (error as Error).message;
      throw error;
    } finally {
      this.options.onRequest?.(siteId, subgraph, performance.now() - started, ok, failure);
    }
  }
}

/** Failure detection per site (gateway/health): which sites to skip, and the breaker every fetch runs through. */
export interface SiteGuard {
  /** Why the site must not be asked now (suspected, or its breaker open), or undefined when it may be. */
  refusal(siteId: string): string | undefined;
  /** Runs one fetch through the site's circuit breaker: a rejection counts against the site. */
  through<T>(siteId: string, call: () => Promise<T>): Promise<T>;
}

/**
 * docs/ARCHITECTURE.md §3 rule 5: a site the guard refuses is unavailable at
 * once — the fetch is not sent, so nothing waits on a site that is not
 * answering — and every fetch that is sent runs through the site's breaker.
 */
export class GuardedSiteClient implements SiteClient {
  constructor(
    private readonly inner: SiteClient,
    private readonly guard: SiteGuard,
  ) {}

  async send(siteId: string, subgraph: SubgraphName, request: SubgraphRequest, deadlineAt?: number): Promise<SubgraphResponse> {
    const why = this.guard.refusal(siteId);
    if (why) throw new SiteUnavailable(siteId, why);
    // Out of time before sending is the request's doing, not the site's: it must not count against the breaker.
    if (deadlineAt !== undefined && deadlineAt <= Date.now()) throw new SiteUnavailable(siteId, "the request's time budget ran out before this branch was asked");
    try {
      return await this.guard.through(siteId, () => this.inner.send(siteId, subgraph, request, deadlineAt));
    } catch (error) {
      // The breaker opened between the check and the fetch: it refused without sending.
      if ((error as { code?: string }).code === 'EOPENBREAKER') throw new SiteUnavailable(siteId, 'its circuit breaker is open');
      throw error;
    }
  }
}

/**
 * Which sites look healthy and how fast they answer (docs/ARCHITECTURE.md §3 rule 3).
 * Replicated reads go to the fastest healthy site first; a failure marks the
 * site down for `downForMs`, after which it is tried again.
 */
export class SiteHealth {
  private readonly latencyMs = new Map<string, number>();
  private readonly downUntil = new Map<string, number>();

  constructor(
    /** The routed sites, read on each call: the list changes while the gateway runs (gateway/sites). */
    private readonly siteIds: () => readonly string[],
    private readonly options: {
      downForMs?: number;
      now?: () => number;
      /** Sites the failure detector skips (gateway/health): ordered with the ones marked down. */
      suspected?: (siteId: string) => boolean;
    } = {},
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Every site, healthy ones first by recent latency, then the ones marked down. */
  preferred(): string[] {
    const now = this.now();
    const down = (id: string) => (this.downUntil.get(id) ?? 0) > now || this.options.suspected?.(id) === true;
    const latency = (id: string) => this.latencyMs.get(id) ?? 0;
    return [...this.siteIds()].sort((a, b) => Number(down(a)) - Number(down(b)) || latency(a) - latency(b));
  }

  succeeded(siteId: string, ms: number): void {
    const previous = this.latencyMs.get(siteId);
    // Exponentially weighted: one slow answer does not reorder the sites.
    this.latencyMs.set(siteId, previous === undefined ? ms : previous * 0.8 + ms * 0.2);
    this.downUntil.delete(siteId);
  }

  failed(siteId: string): void {
    this.downUntil.set(siteId, this.now() + (this.options.downForMs ?? 2000));
  }
}

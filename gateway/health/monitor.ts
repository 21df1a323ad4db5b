import CircuitBreaker from 'opossum';
import { periodic, type Periodic } from '../../platform';
import { PhiAccrualDetector, PHI_DEFAULTS } from './phi';

export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** What an operator sees of one site (the gateway's `/ready` and `/metrics`). */
export interface SiteState {
  site: string;
  phi: number;
  suspected: boolean;
  breaker: BreakerState;
}

export interface SiteMonitorOptions {
  sites: readonly { id: string; url: string }[];
  /**
   * How often a healthy idle site is heard from: the wait of this gateway's
   * watch (gateway/health/watch.ts), whose every answer is a heartbeat. The
   * detector's expected interval.
   */
  heartbeatIntervalMs?: number;
  /**
   * A site not heard from for heartbeatIntervalMs + probeIntervalMs (its watch
   * hangs, or fails) is asked its `/health` every probeIntervalMs until it
   * answers: how a suspected site is seen back.
   */
  probeIntervalMs?: number;
  /** phi at which a site is suspected and skipped (gateway/health/phi.ts). */
  phiThreshold?: number;
  /** See PhiAccrualOptions. */
  acceptablePauseMs?: number;
  minStdDevMs?: number;
  /** A probe not answered by then is no heartbeat (the next one is sent after it gives up). */
  heartbeatTimeoutMs?: number;
  /** Consecutive failed fetches to one site that open its breaker. */
  breakerFailures?: number;
  /** How long an open breaker stays open before one fetch may probe the site (half-open). */
  breakerResetMs?: number;
  /** Monotonic milliseconds; injected by tests. */
  now?: () => number;
  /** One probe: resolves true when the site answered healthy. Injected by tests; HTTP GET `/health` by default. */
  probe?: (site: { id: string; url: string }, timeoutMs: number) => Promise<boolean>;
}

export const MONITOR_DEFAULTS = {
  heartbeatIntervalMs: 1000,
  probeIntervalMs: 250,
  phiThreshold: PHI_DEFAULTS.threshold,
  acceptablePauseMs: PHI_DEFAULTS.acceptablePauseMs,
  minStdDevMs: PHI_DEFAULTS.minStdDevMs,
  heartbeatTimeoutMs: 2000,
  breakerFailures: 3,
  breakerResetMs: 1000,
};

interface Watched {
  site: { id: string; url: string };
  detector: PhiAccrualDetector;
  breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  consecutiveFailures: number;
  /** When the site was last heard from (this.o.now). */
  heardAt: number;
}

/**
 * Failure detection for every site, one gateway's view (docs/ARCHITECTURE.md
 * §3 rule 5): the site's answers to this gateway's watch (`heard`), and probes
 * of its `/health` while it is quiet, feed a phi-accrual detector, and every
 * routed fetch runs through the site's circuit breaker (opossum).
 * A site that is suspected or whose breaker is open is refused at once, so no
 * request waits on it; it is asked again as soon as its heartbeats come back
 * (phi falls) and its breaker's half-open probe succeeds.
 */
export class SiteMonitor {
  private readonly o: Required<Omit<SiteMonitorOptions, 'probe'>> & Pick<SiteMonitorOptions, 'probe'>;
  private readonly watched = new Map<string, Watched>();
  private readonly heartbeats = new Map<string, Periodic>();
  private started = false;

  constructor(options: SiteMonitorOptions) {
    this.o = { ...MONITOR_DEFAULTS, now: () => performance.now(), ...options };
    if (!(this.o.heartbeatIntervalMs > 0)) throw new Error(`heartbeatIntervalMs must be positive, got ${this.o.heartbeatIntervalMs}`);
    if (!(this.o.probeIntervalMs > 0)) throw new Error(`probeIntervalMs must be positive, got ${this.o.probeIntervalMs}`);
    if (!(this.o.breakerFailures >= 1)) throw new Error(`breakerFailures must be at least 1, got ${this.o.breakerFailures}`);
    for (const site of this.o.sites) this.watched.set(site.id, this.watch(site));
  }

  private watch(site: { id: string; url: string }): Watched {
    const detector = new PhiAccrualDetector({
      now: this.o.now,
      expectedIntervalMs: this.o.heartbeatIntervalMs,
      threshold: this.o.phiThreshold,
      acceptablePauseMs: this.o.acceptablePauseMs,
      minStdDevMs: this.o.minStdDevMs,
    });
    // Opossum's own rule opens on an error percentage over a rolling window; ours is consecutive
    // failures (below), so its percentage rule is turned off (no rate exceeds 100%). Deadlines are
    // the request's (no timeout of the breaker's own), and one failed half-open probe reopens it.
    const breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      timeout: false,
      errorThresholdPercentage: 100,
      resetTimeout: this.o.breakerResetMs,
    });
    const watched: Watched = { site, detector, breaker, consecutiveFailures: 0, heardAt: this.o.now() };
    breaker.on('success', () => (watched.consecutiveFailures = 0));
    breaker.on('failure', () => {
      watched.consecutiveFailures += 1;
      if (watched.consecutiveFailures >= this.o.breakerFailures) breaker.open();
    });
    return watched;
  }

  /** Starts the probes of quiet sites (idempotent); each site's never overlap: one that hangs delays the next, and phi climbs meanwhile. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const w of this.watched.values()) this.beat(w);
  }

  private beat(w: Watched): void {
    const probe = this.o.probe ?? httpProbe;
    this.heartbeats.set(
      w.site.id,
      periodic(async () => {
        // A site heard from lately is not asked: its watch answers are its heartbeats, and cost nothing extra.
        if (this.o.now() - w.heardAt < this.o.heartbeatIntervalMs + this.o.probeIntervalMs) return;
        if (await probe(w.site, this.o.heartbeatTimeoutMs).catch(() => false)) this.heartbeat(w);
      }, this.o.probeIntervalMs),
    );
  }

  /**
   * Watches a site added while the gateway runs (gateway/sites). Its detector
   * starts with no history: until its first heartbeats it is not suspected, so
   * it is asked like any site, and its breaker guards the fetches meanwhile.
   * A site already watched only gets its new URL.
   */
  watchSite(site: { id: string; url: string }): void {
    const known = this.watched.get(site.id);
    if (known) {
      known.site = site;
      return;
    }
    const w = this.watch(site);
    this.watched.set(site.id, w);
    if (this.started) this.beat(w);
  }

  /** Stops watching a removed site: no heartbeats, no breaker timer. */
  unwatch(siteId: string): void {
    this.heartbeats.get(siteId)?.stop();
    this.heartbeats.delete(siteId);
    this.watched.get(siteId)?.breaker.shutdown();
    this.watched.delete(siteId);
  }

  /** `siteId` answered (its watch): a heartbeat. A site not watched is ignored. */
  heard(siteId: string): void {
    const w = this.watched.get(siteId);
    if (w) this.heartbeat(w);
  }

  /**
   * A heartbeat arrived. A site that was silent long enough to be suspected and
   * answers again (restarted, thawed) gets its fetches back now rather than at
   * the breaker's next half-open: the breaker closes, but its failure count
   * stays, so the first fetch that fails opens it again — a half-open probe
   * the heartbeat started. A site that kept answering heartbeats while its
   * fetches failed is left to the breaker's own timer.
   */
  private heartbeat(w: Watched): void {
    const wasSuspected = w.detector.suspected();
    w.heardAt = this.o.now();
    w.detector.heartbeat();
    if (wasSuspected && w.breaker.opened) w.breaker.close();
  }

  /** Stops the heartbeats and the breakers' timers. Idempotent. */
  stop(): void {
    for (const h of this.heartbeats.values()) h.stop();
    this.heartbeats.clear();
    this.started = false;
    for (const w of this.watched.values()) w.breaker.shutdown();
  }

  /** Why `siteId` must not be asked now, or undefined when it may be. A site not watched is never refused here. */
  refusal(siteId: string): string | undefined {
    const w = this.watched.get(siteId);
    if (!w) return undefined;
    const phi = w.detector.phi();
    if (phi >= this.o.phiThreshold) return `its heartbeats stopped (phi ${phi.toFixed(1)} ≥ ${this.o.phiThreshold}); it is asked again once they resume`;
    if (w.breaker.opened) return `its circuit breaker is open after ${this.o.breakerFailures} failed fetches in a row; it is probed again within ${this.o.breakerResetMs} ms`;
    return undefined;
  }

  /** Runs one fetch to `siteId` through its breaker: its failures (rejections) open it, a success closes it. */
  through<T>(siteId: string, call: () => Promise<T>): Promise<T> {
    const w = this.watched.get(siteId);
    return w ? (w.breaker.fire(call) as Promise<T>) : call();
  }

  state(siteId: string): SiteState {
    const w = this.watched.get(siteId);
    if (!w) throw new Error(`site ${siteId} is not watched`);
    const phi = w.detector.phi();
    return { site: siteId, phi, suspected: phi >= this.o.phiThreshold, breaker: breakerState(w.breaker) };
  }

  states(): SiteState[] {
    return [...this.watched.keys()].map((id) => this.state(id));
  }
}

function breakerState(breaker: CircuitBreaker): BreakerState {
  if (breaker.halfOpen) return 'halfOpen';
  return breaker.opened ? 'open' : 'closed';
}

/** A heartbeat is any 200 from the site's `/health`, which sites serve unsigned. */
async function httpProbe(site: { url: string }, timeoutMs: number): Promise<boolean> {
  const response = await fetch(`${site.url.replace(/\/+$/, '')}/health`, { signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  return response.ok;
}

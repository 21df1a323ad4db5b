/**
 * A phi-accrual failure detector for one site (Hayashibara, Défago, Yared and
 * Katayama, "The φ Accrual Failure Detector", 2004), in the form Akka and
 * Cassandra use. Instead of a yes/no after a fixed timeout it answers how
 * unlikely the current silence is, given the heartbeats seen so far:
 *
 *   phi = -log10(P(the next heartbeat comes later than now))
 *
 * with the inter-arrival times modelled as a normal distribution over a
 * sliding window. phi 1 means a 10% chance the site is only slow, phi 8 one in
 * a hundred million. Pure: time comes from the injected clock, heartbeats from
 * the caller.
 */
export interface PhiAccrualOptions {
  /** Milliseconds, monotonic (performance.now in production). */
  now: () => number;
  /** The interval heartbeats come at from an idle site: the window starts with it, before any real interval is known. */
  expectedIntervalMs: number;
  /** Inter-arrival times kept. */
  windowSize?: number;
  /**
   * A floor under the window's standard deviation: perfectly regular
   * heartbeats would otherwise make a few milliseconds of delay look fatal.
   */
  minStdDevMs?: number;
  /**
   * Silence tolerated on top of the mean interval before phi starts to climb:
   * a loaded machine (a GC pause, two cores shared by many processes) delays
   * heartbeats without anything being wrong.
   */
  acceptablePauseMs?: number;
  /** phi at and above which the site is suspected (8: one chance in 10^8 that it is only slow). */
  threshold?: number;
}

export const PHI_DEFAULTS = { windowSize: 64, minStdDevMs: 100, acceptablePauseMs: 500, threshold: 8 };

export class PhiAccrualDetector {
  private readonly o: Required<PhiAccrualOptions>;
  private readonly intervals: number[] = [];
  private sum = 0;
  private squares = 0;
  private last: number;

  constructor(options: PhiAccrualOptions) {
    this.o = { ...PHI_DEFAULTS, ...options };
    if (!(this.o.expectedIntervalMs > 0)) throw new Error(`expectedIntervalMs must be positive, got ${this.o.expectedIntervalMs}`);
    if (!(this.o.windowSize >= 1)) throw new Error(`windowSize must be at least 1, got ${this.o.windowSize}`);
    if (!(this.o.minStdDevMs > 0)) throw new Error(`minStdDevMs must be positive, got ${this.o.minStdDevMs}`);
    if (!(this.o.acceptablePauseMs >= 0)) throw new Error(`acceptablePauseMs must be at least 0, got ${this.o.acceptablePauseMs}`);
    if (!(this.o.threshold > 0)) throw new Error(`threshold must be positive, got ${this.o.threshold}`);
    // Detection starts now, as if a heartbeat had just arrived: a site that never answers is suspected too.
    this.last = this.o.now();
    this.seed();
  }

  /**
   * A heartbeat arrived now. One sooner than the expected interval (a site
   * whose watch answered early, having something to report) ends the silence
   * but is not recorded: the rhythm is how long an idle site may stay quiet,
   * and early answers in the window would make its next idle one look late.
   */
  heartbeat(): void {
    const now = this.o.now();
    const interval = now - this.last;
    this.last = now;
    if (interval < this.o.expectedIntervalMs) return;
    // A silence long enough to be suspected was a failure, not the heartbeats' rhythm: kept in the
    // window it would widen the distribution and make the next failure slow to see.
    if (this.phiAt(interval) >= this.o.threshold) this.seed();
    else this.record(interval);
  }

  /** phi now: 0 just after a heartbeat, growing without bound with the silence. */
  phi(): number {
    return this.phiAt(this.o.now() - this.last);
  }

  /** The site is suspected: phi is at or above the threshold. */
  suspected(): boolean {
    return this.phi() >= this.o.threshold;
  }

  private phiAt(silenceMs: number): number {
    const n = this.intervals.length;
    const mean = this.sum / n;
    const variance = Math.max(0, this.squares / n - mean * mean);
    const std = Math.max(Math.sqrt(variance), this.o.minStdDevMs);
    const y = (silenceMs - (mean + this.o.acceptablePauseMs)) / std;
    // The logistic approximation of the normal tail (Bowling et al. 2009, as in Akka):
    // P(later) ≈ 1 / (1 + e^z), so phi = log10(1 + e^z), increasing in y.
    const z = y * (1.5976 + 0.070566 * y * y);
    return z > 30 ? z / Math.LN10 : Math.log10(1 + Math.exp(z));
  }

  private record(interval: number): void {
    this.intervals.push(interval);
    this.sum += interval;
    this.squares += interval * interval;
    if (this.intervals.length > this.o.windowSize) {
      const gone = this.intervals.shift()!;
      this.sum -= gone;
      this.squares -= gone * gone;
    }
  }

  /** The window as if heartbeats came at the expected interval, give or take a quarter (Akka's first estimate). */
  private seed(): void {
    this.intervals.length = 0;
    this.sum = 0;
    this.squares = 0;
    const std = this.o.expectedIntervalMs / 4;
    this.record(this.o.expectedIntervalMs - std);
    this.record(this.o.expectedIntervalMs + std);
  }
}

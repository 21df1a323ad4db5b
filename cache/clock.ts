/**
 * Time as the coherence protocol sees it. Injected so ack timeouts and leases
 * are tested by advancing a clock instead of sleeping (docs/ARCHITECTURE.md §10 rule 12).
 */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences are used. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. Must not keep the process alive. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      // A heartbeat or ack wait is never a reason to keep a gateway process running.
      timer.unref();
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * The gateways' watches waiting at one site (docs/ARCHITECTURE.md §5,
 * "Watching the sites"). Each waits for its own time, or less: `wake()` (a
 * commit here logged dirty lines) ends the waits that asked to be woken,
 * `close()` (the site stops) ends all of them.
 */
export class Wakeup {
  private readonly woken = new Set<() => void>();
  private readonly all = new Set<() => void>();

  /**
   * A wait of `ms`, registered now rather than when awaited: a wake() between
   * this call and the await still ends it, so a caller that checks the log
   * after calling this misses no row. `end()` releases its timer.
   */
  wait(ms: number, wakeable: boolean): { done: Promise<void>; end(): void } {
    let end!: () => void;
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => end(), ms);
      timer.unref();
      end = () => {
        clearTimeout(timer);
        this.woken.delete(end);
        this.all.delete(end);
        resolve();
      };
    });
    if (wakeable) this.woken.add(end);
    this.all.add(end);
    return { done, end };
  }

  wake(): void {
    for (const end of [...this.woken]) end();
  }

  close(): void {
    for (const end of [...this.all]) end();
  }
}

/**
 * A task that runs every `intervalMs` and never overlaps itself: a tick that
 * comes while a round still runs is skipped. `runNow` starts a round at once,
 * or joins the one running. A round that rejects goes to `onError`; the next
 * tick runs as usual. The timer does not keep the process alive.
 */
export interface Periodic {
  runNow(): Promise<void>;
  stop(): void;
}

export function periodic(task: () => Promise<void>, intervalMs: number, onError: (error: unknown) => void = () => undefined): Periodic {
  let running: Promise<void> | undefined;
  const runNow = () => (running ??= task().catch(onError).finally(() => (running = undefined)));
  const timer = setInterval(() => void runNow(), intervalMs);
  timer.unref();
  return { runNow, stop: () => clearInterval(timer) };
}

import type { CoherenceBus, Holder, WrittenLine } from './bus';
import type { Clock } from './clock';
import type { CacheMetrics } from './metrics';

export interface InvalidatorOptions {
  instanceId: string;
  bus: CoherenceBus;
  clock: Clock;
  ackTimeoutMs: number;
  metrics: CacheMetrics;
}

type HolderOutcome = { instanceId: string; acked: boolean };

/**
 * The writer's half of an acknowledged invalidation (docs/ARCHITECTURE.md §5: every holder
 * drops the line BEFORE the client gets its answer). One message per holder
 * carries all its lines; the write waits for every ack, at most `ackTimeoutMs`.
 * A holder that does not ack in time is revoked from the directory and the
 * write then waits out what is left of that holder's lease: a holder serves
 * hits only within its lease, so after that wait it cannot serve the old value
 * even if it never saw the message.
 */
export class Invalidator {
  private readonly waiting = new Map<string, () => void>();
  private sequence = 0;

  constructor(private readonly o: InvalidatorOptions) {}

  /** An ack arrived in this instance's inbox. */
  acked(ackId: string): void {
    this.waiting.get(ackId)?.();
  }

  /**
   * Resolves when every target of `written` has dropped its lines or been
   * revoked (and its lease has run out); returns the revoked instances.
   * Rejects when the bus fails: the caller cannot know who dropped what.
   */
  async invalidate(written: readonly WrittenLine[]): Promise<string[]> {
    const outcomes = await Promise.all(
      [...groupByHolder(written)].map(([holder, lines]) => this.invalidateHolder(holder, lines)),
    );
    return outcomes.filter((o) => !o.acked).map((o) => o.instanceId);
  }

  private async invalidateHolder(holder: Holder, lines: { line: string; epoch: number; serial: number }[]): Promise<HolderOutcome> {
    const ackId = `${this.o.instanceId}#${++this.sequence}`;
    const ack = new Promise<true>((resolve) => this.waiting.set(ackId, () => resolve(true)));
    const timer = new AbortController();
    try {
      const message = { type: 'invalidate' as const, from: this.o.instanceId, ackId, lines };
      const delivered = await this.o.bus.send(holder.instanceId, message);
      this.o.metrics.invalidationsSent.inc(lines.length);
      // Not delivered: no one listens in that inbox (dead, or cut off and bypassing): no ack will come.
      if (delivered && (await Promise.race([ack, this.timeout(timer.signal)]))) return { instanceId: holder.instanceId, acked: true };
      await this.revoke(holder);
      return { instanceId: holder.instanceId, acked: false };
    } finally {
      this.waiting.delete(ackId);
      timer.abort();
    }
  }

  private async timeout(signal: AbortSignal): Promise<false> {
    await this.o.clock.sleep(this.o.ackTimeoutMs, signal);
    return false;
  }

  /** Unacknowledged invalidation: end the holder's membership, then outwait its lease. */
  private async revoke(holder: Holder): Promise<void> {
    // Fenced: until its lease ends, every writer of any line waits for it too (it may hold lines we do not know of).
    const reply = await this.o.bus.apply({ kind: 'revoke', instanceId: holder.instanceId, token: holder.token, fence: true });
    this.o.metrics.holdersRevoked.inc();
    if (reply.leaseLeftMs > 0) await this.o.clock.sleep(reply.leaseLeftMs);
  }
}

/** One message per holder membership, listing every line it must drop (and the registration its I mark keeps). */
function groupByHolder(written: readonly WrittenLine[]): Map<Holder, { line: string; epoch: number; serial: number }[]> {
  const byKey = new Map<string, [Holder, { line: string; epoch: number; serial: number }[]]>();
  for (const { line, epoch, targets } of written) {
    for (const { serial, ...holder } of targets) {
      const key = `${holder.instanceId}\u0000${holder.token}`;
      const entry = byKey.get(key) ?? [holder, []];
      entry[1].push({ line, epoch, serial });
      byKey.set(key, entry);
    }
  }
  return new Map(byKey.values());
}

import type { ParticipantClient } from '../../contracts';

export interface SiteWatchOptions {
  client: ParticipantClient;
  /** The sites watched, read on each use: the list changes while the gateway runs (gateway/sites). */
  siteIds: () => readonly string[];
  /** How long a site holds a watch when it has nothing to report. */
  waitMs: number;
  /** The pause before the next watch after one that failed, or after a drain that was not complete. */
  retryMs: number;
  /** At most one recovery round per site this often, while it reports overdue participants. */
  recoveryIntervalMs: number;
  /** `siteId` answered: its heartbeat (SiteMonitor.heard). */
  heard: (siteId: string) => void;
  /** Resolves participants of `siteId` PREPARED past their deadline (Coordinator.recover). */
  recover: (siteId: string) => Promise<void>;
  /**
   * Drains one site's dirty-line log; resolves true when the round was
   * complete (read to the end, every line delivered). Without it (a gateway
   * with no cache) watches do not wake on dirty lines and no fence is kept.
   */
  drain?: (siteId: string) => Promise<boolean>;
  /**
   * The drain fence (CoherentCache.startFenceRound): called as each watch is
   * sent; what it returns is called once every site has been read to the end
   * since then or later.
   */
  startFenceRound?: () => () => void;
  /** Monotonic milliseconds; injected by tests. */
  now?: () => number;
}

/** Failed watches in a row after which a site's recovery runs without a watch's word (at most every recoveryIntervalMs). */
const WATCH_FAILURES_BEFORE_BLIND_RECOVERY = 3;

/** The fence round a complete watch renewed for its site: `seq` orders the sends, so the oldest is the one every site has passed. */
interface Renewed {
  seq: number;
  confirm: () => void;
}

/**
 * One long poll per site (docs/ARCHITECTURE.md §5, "Watching the sites"), in
 * place of a heartbeat, a drain and a recovery round per site on timers: the
 * site answers when a commit logs a dirty line, or after `waitMs` with nothing
 * to say. Each answer is at once the site's heartbeat, a read of its dirty-line
 * log (drained when it has rows) and its count of participants PREPARED past
 * their deadline (recovered when there are any). An idle chain costs one call
 * per site per `waitMs`.
 *
 * The fence stays conservative: a watch's answer (and any drain it starts)
 * comes after the watch was sent, so a complete one renews the fence from its
 * SEND time; hits may be served until coherenceBoundMs after the oldest of the
 * sites' latest complete watches. A site whose watches fail or hang renews
 * nothing, and the fence lapses by itself.
 */
export class SiteWatch {
  private readonly o: SiteWatchOptions & { now: () => number };
  private readonly following = new Set<string>();
  private readonly renewed = new Map<string, Renewed>();
  /** Per site: a recovery round running, or when the last one ended. */
  private readonly recovering = new Map<string, number | 'running'>();
  private sent = 0;
  private stopped = false;
  private firstFence!: () => void;
  /** Resolves at the first fence renewal: every site read to the end once. */
  readonly fenced = new Promise<void>((resolve) => (this.firstFence = resolve));

  constructor(options: SiteWatchOptions) {
    this.o = { now: () => performance.now(), ...options };
  }

  /** Watches every site of the list now; a site added later is given to `follow`. */
  start(): void {
    for (const id of this.o.siteIds()) this.follow(id);
  }

  /** Starts watching `siteId` (idempotent). The loop ends once the site leaves the list, or at stop(). */
  follow(siteId: string): void {
    if (this.stopped || this.following.has(siteId)) return;
    this.following.add(siteId);
    void this.loop(siteId).finally(() => {
      this.following.delete(siteId);
      this.renewed.delete(siteId);
      this.recovering.delete(siteId);
      // Removed and added again while this loop was ending: follow() found it still here and did nothing.
      if (this.watching(siteId)) this.follow(siteId);
    });
  }

  /** Stops every loop: a watch still out is answered within its wait, and its answer is dropped. Idempotent. */
  stop(): void {
    this.stopped = true;
  }

  private watching(siteId: string): boolean {
    return !this.stopped && this.o.siteIds().includes(siteId);
  }

  private async loop(siteId: string): Promise<void> {
    // The first watch, and the one after a failure, answers at once: the fence and the heartbeat come back without waiting.
    let waitMs = 0;
    let failures = 0;
    while (this.watching(siteId)) {
      const seq = ++this.sent;
      const confirm = this.o.startFenceRound?.();
      let reply: { dirty: boolean; overdue: number };
      try {
        reply = await this.o.client.call(siteId, 'watch', { waitMs, wakeOnDirty: this.o.drain !== undefined });
      } catch {
        waitMs = 0;
        // A site that answers everything but its watch (an older version, say) must still have its
        // in-doubt participants resolved: recovery is then tried blindly, at its own pace.
        if (++failures >= WATCH_FAILURES_BEFORE_BLIND_RECOVERY) this.recoverSoon(siteId);
        await this.pause();
        continue;
      }
      failures = 0;
      if (!this.watching(siteId)) return;
      this.o.heard(siteId);
      if (reply.overdue > 0) this.recoverSoon(siteId);
      const complete = !this.o.drain || !reply.dirty || (await this.o.drain(siteId).catch(() => false));
      if (complete && confirm) this.renew(siteId, { seq, confirm });
      waitMs = this.o.waitMs;
      // Rows the drain could not deliver (the cache is cut off from its directory) are still there: not at once again.
      if (!complete) await this.pause();
    }
  }

  /** Renews the fence from the oldest of the sites' latest complete watches, once every site has one. */
  private renew(siteId: string, latest: Renewed): void {
    this.renewed.set(siteId, latest);
    let oldest: Renewed | undefined;
    for (const id of this.o.siteIds()) {
      const r = this.renewed.get(id);
      if (!r) return;
      if (!oldest || r.seq < oldest.seq) oldest = r;
    }
    if (!oldest) return;
    oldest.confirm();
    this.firstFence();
  }

  /** Not awaited by the loop: a commit point that does not answer must not hold up the site's heartbeat and fence. */
  private recoverSoon(siteId: string): void {
    const last = this.recovering.get(siteId);
    if (last === 'running' || (last !== undefined && this.o.now() - last < this.o.recoveryIntervalMs)) return;
    this.recovering.set(siteId, 'running');
    void this.o
      .recover(siteId)
      .catch(() => undefined)
      .finally(() => this.recovering.set(siteId, this.o.now()));
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.o.retryMs).unref());
  }
}

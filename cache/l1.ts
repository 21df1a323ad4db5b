import { LRUCache } from 'lru-cache';
import type { MesiState } from './bus';
import type { CacheMetrics } from './metrics';

/** One entity in L1. Replaced, never revived: a fill installs only into the record it started with. */
export interface LineRecord {
  state: 'M' | 'E' | 'S';
  /** The directory epoch this copy is valid from; an invalidation with a higher one drops it. */
  epoch: number;
  /** Our directory registration of the line; an eviction's LEAVE names it. */
  serial: number;
  /** Answers per variant (the gateway's subgraph + selection hash). */
  entries: Map<string, unknown>;
  /** What the entries weigh (see `sizeOf`). */
  bytes: number;
}

/** A directory join in flight: what arrived for its line before its reply did. */
export interface PendingJoin {
  invalidatedAt: number;
  downgradedAt: number;
}

export interface L1Options {
  maxLines: number;
  /** Bytes of answers and variant keys, all lines together; the least recently used lines go first. */
  maxBytes: number;
  /** Answers kept per line; the oldest variant goes first (a client cannot grow one line without bound). */
  maxVariantsPerLine: number;
  metrics: CacheMetrics;
  /** An evicted line: the cache takes that registration out of the directory. */
  onEvict: (line: string, serial: number) => void;
  /** A line's record is gone for any reason (invalidated, written, evicted, dropped): whole responses built from it go too. */
  onGone?: (line: string) => void;
}

/**
 * What one instance holds: the LRU of lines with their MESI state and epoch,
 * and the joins still waiting for a directory reply. Every change of state
 * is counted here; the protocol steps that decide them live in `CoherentCache`.
 */
export class L1 {
  private readonly lines: LRUCache<string, LineRecord>;
  private readonly pendingJoins = new Map<string, Set<PendingJoin>>();
  /** Dependency line → lines whose answers depend on it: dropped when it goes. */
  private readonly dependents = new Map<string, Set<string>>();
  private bytes = 0;
  private changes = 0;

  constructor(private readonly o: L1Options) {
    this.lines = new LRUCache<string, LineRecord>({
      max: o.maxLines,
      // After the LRU's own bookkeeping, not during it: `gone` deletes the dependent lines, and
      // lru-cache is not safe to change from inside `dispose` (an eviction or invalidation of a
      // type line left records undefined mid-delete).
      disposeAfter: (record, line, reason) => this.gone(record, line, reason),
    });
  }

  /**
   * A count of records gone (replaced, invalidated, evicted, dropped or
   * cleared), bumped in the same synchronous step that removes one: while it
   * stands still, every record this L1 held at a moment is still its line's
   * record, so a check made then still holds without looking again.
   */
  get generation(): number {
    return this.changes;
  }

  /** The line's record, marked recently used. */
  get(line: string): LineRecord | undefined {
    return this.lines.get(line);
  }

  /** The line's record, recency untouched. */
  peek(line: string): LineRecord | undefined {
    return this.lines.peek(line);
  }

  stateOf(line: string): MesiState {
    return this.lines.peek(line)?.state ?? 'I';
  }

  /** A join's reply, unless something overtook it: then nothing is made (see `beginJoin`). */
  joined(line: string, pending: PendingJoin, reply: { state: 'M' | 'E' | 'S'; epoch: number; serial: number }): LineRecord | undefined {
    // Invalidations travel apart from replies: a write after this join may have been seen first. Its epoch is newer.
    if (pending.invalidatedAt > reply.epoch) return undefined;
    const existing = this.lines.peek(line);
    if (existing) return existing; // a concurrent miss of the same line joined first
    const state = reply.state === 'E' && pending.downgradedAt >= reply.epoch ? 'S' : reply.state;
    const record: LineRecord = { state, epoch: reply.epoch, serial: reply.serial, entries: new Map(), bytes: 0 };
    this.lines.set(line, record);
    this.o.metrics.transition('I', state);
    return record;
  }

  /** Our own write: a new, empty record, so fills begun before it cannot install their older answers. */
  modified(line: string, epoch: number, serial: number): void {
    this.o.metrics.transition(this.stateOf(line), 'M');
    this.lines.set(line, { state: 'M', epoch, serial, entries: new Map(), bytes: 0 });
  }

  /**
   * The fill-race check (memcache leases): install only into the record the
   * fill started with, and only while every dependency line still has the
   * record it had when the fill started (none was invalidated meanwhile).
   */
  install(line: string, record: LineRecord, variant: string, value: unknown, deps: [string, LineRecord][] = []): boolean {
    if (this.lines.peek(line) !== record) return false;
    if (deps.some(([dep, held]) => this.lines.peek(dep) !== held)) return false;
    const size = sizeOf(variant, value);
    if (size > this.o.maxBytes) return false;
    const replaced = record.entries.get(variant);
    if (replaced !== undefined) this.weigh(record, -sizeOf(variant, replaced));
    record.entries.delete(variant);
    while (record.entries.size >= this.o.maxVariantsPerLine) {
      const [oldest, answer] = record.entries.entries().next().value as [string, unknown];
      record.entries.delete(oldest);
      this.weigh(record, -sizeOf(oldest, answer));
      this.o.metrics.evictions.inc();
    }
    record.entries.set(variant, value);
    this.weigh(record, size);
    // Registered before any eviction below: whatever evicts a dependency drops this line with it.
    for (const [dep] of deps) {
      const set = this.dependents.get(dep) ?? new Set();
      this.dependents.set(dep, set.add(line));
    }
    // Least recently used lines leave until the answers fit (never the one just filled).
    while (this.bytes > this.o.maxBytes && this.lines.size > 1) {
      if (this.lines.rkeys().next().value === line) break;
      this.lines.pop(); // disposed as an eviction: it leaves the directory
      this.o.metrics.evictions.inc();
    }
    return true;
  }

  /** A dependency line's record is gone: so are the answers that depended on it. */
  private dropDependents(dep: string): void {
    const lines = this.dependents.get(dep);
    if (!lines) return;
    this.dependents.delete(dep);
    for (const line of lines) this.lines.delete(line);
  }

  drop(line: string): void {
    this.lines.delete(line);
  }

  /** The whole L1, and the joins in flight (their replies belong to a membership that is over). */
  clear(): void {
    this.dependents.clear();
    this.lines.clear();
    this.pendingJoins.forEach((joins) => joins.forEach((join) => (join.invalidatedAt = Number.POSITIVE_INFINITY)));
  }

  beginJoin(line: string): PendingJoin {
    const pending: PendingJoin = { invalidatedAt: -1, downgradedAt: -1 };
    const joins = this.pendingJoins.get(line) ?? new Set();
    this.pendingJoins.set(line, joins.add(pending));
    return pending;
  }

  endJoin(line: string, pending: PendingJoin): void {
    const joins = this.pendingJoins.get(line);
    joins?.delete(pending);
    if (joins?.size === 0) this.pendingJoins.delete(line);
  }

  /**
   * Holder side of a write: drops the line if our copy is older than the write.
   * Returns whether our directory entry is now just the I mark of that write,
   * safe to remove; otherwise it is a newer registration (a join after the
   * write, or one in flight) and must stay.
   */
  invalidate(line: string, epoch: number): boolean {
    const joins = this.pendingJoins.get(line);
    joins?.forEach((join) => (join.invalidatedAt = Math.max(join.invalidatedAt, epoch)));
    const record = this.lines.peek(line);
    const stale = !record || record.epoch < epoch;
    if (record && stale) this.lines.delete(line);
    return stale && !joins;
  }

  /** Another instance's join made our E or M copy shared. */
  downgrade(line: string, epoch: number): void {
    this.pendingJoins.get(line)?.forEach((join) => (join.downgradedAt = Math.max(join.downgradedAt, epoch)));
    const record = this.lines.peek(line);
    // A write of ours after that join (higher epoch) made us M again; the directory agrees.
    if (!record || record.state === 'S' || record.epoch > epoch) return;
    this.o.metrics.transition(record.state, 'S');
    record.state = 'S';
  }

  private weigh(record: LineRecord, delta: number): void {
    record.bytes += delta;
    this.bytes += delta;
    this.o.metrics.bytes.set(this.bytes);
  }

  /** LRU disposal: count the way to I; an eviction also leaves the directory. */
  private gone(record: LineRecord, line: string, reason: LRUCache.DisposeReason): void {
    this.changes += 1;
    this.weigh(record, -record.bytes);
    this.dropDependents(line);
    this.o.onGone?.(line);
    if (reason === 'set') return; // replaced by our own write; `modified` counted it
    this.o.metrics.transition(record.state, 'I');
    if (reason !== 'evict') return;
    // A join of this line still in flight reached the directory before the leave that follows: void it too.
    this.pendingJoins.get(line)?.forEach((join) => (join.invalidatedAt = Number.POSITIVE_INFINITY));
    this.o.onEvict(line, record.serial);
  }
}

/**
 * What an answer weighs: UTF-16 code units of its variant key and of its text
 * (the gateway keeps answers as JSON text), two bytes each. Other values are
 * weighed by their JSON text.
 */
function sizeOf(variant: string, value: unknown): number {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return 2 * (variant.length + text.length) + 64;
}

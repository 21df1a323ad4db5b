import { LRUCache } from 'lru-cache';
import type { LineRecord } from './l1';

/**
 * What one request read through the cache, line by line: the L1 record of
 * every line it was answered from (hit) or filled into (installed miss),
 * dependency lines included. A whole response built from these reads may be
 * kept only while every one of these records is still the line's record in
 * the L1: an invalidation, a write, an eviction or an L1 drop replaces or
 * removes a record, never revives it, so record identity is the line's
 * validity and checking it needs no message.
 */
export class ResponseTrace {
  readonly lines = new Map<string, LineRecord>();
  /** Why the response may not be kept (an uncached part, a bypassed read, a discarded fill); undefined while it may. */
  refusedBy?: string;
  /** Wall-clock epoch ms after which the response is stale whatever the lines say (a time bucket ends). */
  validUntilEpochMs = Number.POSITIVE_INFINITY;

  /** The request read `line` from (or filled it into) `record`. */
  saw(line: string, record: LineRecord | undefined): void {
    if (record === undefined) return this.refuse(`line ${line} is not held`);
    const earlier = this.lines.get(line);
    // Two records of one line in one request: it was invalidated between two reads, the parts disagree.
    if (earlier !== undefined && earlier !== record) return this.refuse(`line ${line} changed during the request`);
    this.lines.set(line, record);
  }

  /** A part of the answer did not come through a held line: the response is answered but never kept. */
  refuse(reason: string): void {
    this.refusedBy ??= reason;
  }

  /** A part of the answer is good only until then (the loans subgraph's one-minute bucket: `overdue` moves with the clock). */
  expiresAt(epochMs: number): void {
    this.validUntilEpochMs = Math.min(this.validUntilEpochMs, epochMs);
  }
}

interface StoredResponse {
  /** The answer as the caller handed it (the gateway keeps the parsed, frozen result, so a hit is neither parsed nor copied). */
  value: unknown;
  /** UTF-16 code units of the answer's JSON text, for the byte bound. */
  units: number;
  /** The member lines and the records the answer was built from. */
  lines: [string, LineRecord][];
  validUntilEpochMs: number;
  /** The L1 generation at which every member record was last seen to be its line's record. */
  checkedAt: number;
}

export interface ResponseStoreOptions {
  maxEntries: number;
  /** Bytes of response text, keys and member line names together. */
  maxBytes: number;
  /** A response dropped because one of its lines went (counted as an invalidation). */
  onInvalidated: () => void;
}

/**
 * The whole responses of one instance, each tied to the L1 records it was built
 * from, with, per line, the responses depending on it: when a line's record
 * goes, they go at once (memory and metrics); a hit re-checks every record
 * anyway, so correctness never rests on that index alone.
 */
export class ResponseStore {
  private readonly entries: LRUCache<string, StoredResponse>;
  private readonly byLine = new Map<string, Set<string>>();

  constructor(private readonly o: ResponseStoreOptions) {
    this.entries = new LRUCache<string, StoredResponse>({
      max: o.maxEntries,
      maxSize: o.maxBytes,
      sizeCalculation: (entry, key) => weigh(key, entry),
      dispose: (entry, key) => this.unindex(key, entry),
    });
  }

  /**
   * The stored answer if every member record is still its line's record and
   * its time has not run out. While the L1's generation has not moved since
   * the last check, no record has gone, so the check stands without walking
   * the lines: a hit costs one map lookup however many lines the answer was
   * built from. A walk (`l1.get`) marks the lines recently used; a hit that
   * skips it does not, so an answer's lines may age out of the L1 under
   * pressure, and the answer with them.
   */
  get(key: string, l1: { get(line: string): LineRecord | undefined; readonly generation: number }, nowEpochMs: number): unknown {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const generation = l1.generation;
    const valid =
      nowEpochMs < entry.validUntilEpochMs && (entry.checkedAt === generation || entry.lines.every(([line, record]) => l1.get(line) === record));
    if (!valid) {
      this.entries.delete(key);
      return undefined;
    }
    entry.checkedAt = generation;
    return entry.value;
  }

  /**
   * Keeps an answer whose trace the caller has checked against the L1 at
   * `generation`; `units` is the length of its JSON text. False if it is
   * larger than the whole bound.
   */
  set(key: string, value: unknown, units: number, trace: ResponseTrace, generation: number): boolean {
    const entry: StoredResponse = { value, units, lines: [...trace.lines], validUntilEpochMs: trace.validUntilEpochMs, checkedAt: generation };
    if (weigh(key, entry) > this.o.maxBytes) return false;
    this.entries.set(key, entry);
    for (const [line] of entry.lines) {
      const keys = this.byLine.get(line) ?? new Set();
      this.byLine.set(line, keys.add(key));
    }
    return true;
  }

  /** A line's record is gone from the L1: every response built from it goes too. */
  lineGone(line: string): void {
    const keys = this.byLine.get(line);
    if (keys === undefined) return;
    this.byLine.delete(line);
    for (const key of keys) {
      if (this.entries.delete(key)) this.o.onInvalidated();
    }
  }

  clear(): void {
    this.entries.clear();
    this.byLine.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private unindex(key: string, entry: StoredResponse): void {
    for (const [line] of entry.lines) {
      const keys = this.byLine.get(line);
      keys?.delete(key);
      if (keys?.size === 0) this.byLine.delete(line);
    }
  }
}

/** UTF-16 code units, two bytes each, of the key, the answer's text and the member line names, plus a little per entry. */
function weigh(key: string, entry: StoredResponse): number {
  let units = key.length + entry.units;
  for (const [line] of entry.lines) units += line.length;
  return 2 * units + 64 + 16 * entry.lines.length;
}

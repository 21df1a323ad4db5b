import { effectiveEnd, type HistoryEntry, type Outcome } from './history';

/**
 * The run's history, and an index of mutations by the entities they may
 * change, so a read-your-writes check can tell whether another write overlapped.
 */
export class Recorder {
  readonly entries: HistoryEntry[] = [];
  private readonly byEntity = new Map<string, HistoryEntry[]>();

  constructor(readonly t0: number) {}

  /** Records an operation as in flight (endMs -1) and indexes it under `entities`. */
  begin(client: number, gateway: number, op: string, args: Record<string, any>, key: string | undefined, entities: string[] = []): HistoryEntry {
    const entry: HistoryEntry = { id: this.entries.length + 1, client, gateway, op, args, key, startMs: Date.now(), endMs: -1, outcome: { kind: 'ambiguous', reason: 'in flight' } };
    this.entries.push(entry);
    this.index(entry, entities);
    return entry;
  }

  finish(entry: HistoryEntry, outcome: Outcome, moreEntities: string[] = []): void {
    entry.endMs = Date.now();
    entry.outcome = outcome;
    this.index(entry, moreEntities);
  }

  /**
   * Other mutations of kinds `ops` on `entity` that may have changed it between
   * `write` starting and `untilMs` (the read's end): then a read cannot be judged against `write` alone.
   */
  overlapping(entity: string, ops: readonly string[], write: HistoryEntry, untilMs: number): HistoryEntry[] {
    return (this.byEntity.get(entity) ?? []).filter((e) => e !== write && ops.includes(e.op) && e.startMs < untilMs && effectiveEnd(e) > write.startMs);
  }

  /** Mutations that may have changed `entity`, in start order. */
  touching(entity: string): HistoryEntry[] {
    return this.byEntity.get(entity) ?? [];
  }

  private index(entry: HistoryEntry, entities: string[]): void {
    for (const entity of entities) {
      const list = this.byEntity.get(entity) ?? [];
      if (!list.includes(entry)) list.push(entry);
      this.byEntity.set(entity, list);
    }
  }
}

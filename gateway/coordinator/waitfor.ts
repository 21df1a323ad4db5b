/**
 * The wait-for graph of transactions waiting on each other's locks (docs/ARCHITECTURE.md §4).
 * An edge waiter → holder is recorded when a participant answers BUSY(holder).
 * A cycle is a deadlock: its youngest transaction that is not yet fully
 * prepared is the victim (a prepared transaction is never a victim).
 */
export interface TxInfo {
  gid: string;
  startedAt: number;
  prepared: boolean;
}

export interface WaitForGraph {
  /** Records that `waiter` waits for `holder`; returns the victim of a cycle through `waiter`, if there is one. */
  wait(waiter: TxInfo, holder: string): Promise<string | undefined>;
  update(tx: TxInfo): Promise<void>;
  /** The transaction finished or stopped waiting. */
  forget(gid: string): Promise<void>;
  edges(): Promise<{ waiter: string; holder: string }[]>;
}

export function findVictim(start: string, edges: Map<string, string>, info: Map<string, TxInfo>): string | undefined {
  const path: string[] = [];
  let at: string | undefined = start;
  const seen = new Set<string>();
  while (at !== undefined && !seen.has(at)) {
    seen.add(at);
    path.push(at);
    at = edges.get(at);
  }
  if (at !== start) return undefined;
  const candidates = path.map((g) => info.get(g)).filter((t): t is TxInfo => t !== undefined && !t.prepared);
  if (candidates.length === 0) return undefined;
  return candidates.reduce((a, b) => (b.startedAt > a.startedAt || (b.startedAt === a.startedAt && b.gid > a.gid) ? b : a)).gid;
}

/** One gateway's graph, in memory. Each waiter waits for one holder at a time. */
export class LocalWaitForGraph implements WaitForGraph {
  private readonly waitsFor = new Map<string, string>();
  private readonly info = new Map<string, TxInfo>();

  async wait(waiter: TxInfo, holder: string): Promise<string | undefined> {
    this.info.set(waiter.gid, waiter);
    this.waitsFor.set(waiter.gid, holder);
    return findVictim(waiter.gid, this.waitsFor, this.info);
  }

  async update(tx: TxInfo): Promise<void> {
    this.info.set(tx.gid, tx);
  }

  async forget(gid: string): Promise<void> {
    this.waitsFor.delete(gid);
    this.info.delete(gid);
  }

  async edges() {
    return [...this.waitsFor].map(([waiter, holder]) => ({ waiter, holder }));
  }
}

/** One operation of the workload as the client saw it, and how an ambiguous one was settled afterwards. */
export type MutationName = 'borrowCopy' | 'returnCopy' | 'renewLoan' | 'transferCopy' | 'moveReader' | 'registerReader' | 'addBook' | 'updateBook';

export type Outcome =
  /** The mutation answered the changed entity (or TX_COMMITTED_READ_FAILED: committed, read-back failed). */
  | { kind: 'ok'; value: Record<string, any> | null; code?: string }
  /** A code that promises nothing changed. */
  | { kind: 'refused'; code: string; message?: string }
  /** Cannot tell: in doubt, network error, timeout, internal error, null data without errors. */
  | { kind: 'ambiguous'; reason: string; gid?: string; code?: string };

export interface Resolution {
  /** How it was found out: the transaction view, or a retry with the same idempotency key. */
  via: 'transaction' | 'retry' | 'connection' | 'unresolved';
  /** applied: the mutation's effect is in the data (exactly once); not-applied: it changed nothing. */
  result: 'applied' | 'not-applied' | 'unknown';
  detail: string;
  /** The retry's answer (its entity fields), when resolved by retry. */
  value?: Record<string, any> | null;
  endMs?: number;
}

export interface HistoryEntry {
  id: number;
  client: number;
  gateway: number;
  /** A mutation name, `read` (plain read) or `ryw:<what>` (read-your-writes check after entry `of`). */
  op: string;
  args: Record<string, any>;
  key?: string;
  startMs: number;
  endMs: number;
  outcome: Outcome;
  resolution?: Resolution;
  /** For read-your-writes reads: the write it checks, and what the read showed. */
  of?: number;
  check?: { verdict: 'pass' | 'stale' | 'error' | 'concurrent'; detail: string };
}

/**
 * Until when a mutation may still change data: its end when the answer is
 * definite, a while longer for BRANCH_UNAVAILABLE (a frozen site may still
 * commit), forever for in-flight and ambiguous ones (a refused connection never arrived).
 */
export function effectiveEnd(e: HistoryEntry): number {
  if (e.endMs < 0) return Infinity;
  if (e.outcome.kind === 'ok') return e.endMs;
  if (e.outcome.kind === 'refused') return e.outcome.code === 'BRANCH_UNAVAILABLE' ? e.endMs + 12_000 : e.endMs;
  return e.outcome.reason.includes('ECONNREFUSED') ? e.endMs : Infinity;
}

/** Codes whose meaning is "refused, nothing changed". */
export const NOTHING_CHANGED = new Set([
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'COPY_NOT_AVAILABLE',
  'LOAN_LIMIT_REACHED',
  'LOAN_CLOSED',
  'LOAN_OVERDUE',
  'SAME_BRANCH',
  'CONFLICT',
  'TX_ABORTED',
  'TX_ABORTED_DEADLOCK',
  'TX_LOCK_TIMEOUT',
  'BRANCH_UNAVAILABLE',
  'UNKNOWN_BRANCH',
  'BAD_USER_INPUT',
]);

export const MUTATIONS: MutationName[] = ['borrowCopy', 'returnCopy', 'renewLoan', 'transferCopy', 'moveReader', 'registerReader', 'addBook', 'updateBook'];

export function isMutation(e: HistoryEntry): boolean {
  return (MUTATIONS as string[]).includes(e.op);
}

/** Whether the mutation's effect is (finally) in the data: true, false, or undefined when nobody can tell. */
export function applied(e: HistoryEntry): boolean | undefined {
  if (e.outcome.kind === 'ok') return true;
  if (e.outcome.kind === 'refused') return false;
  if (e.resolution?.result === 'applied') return true;
  if (e.resolution?.result === 'not-applied') return false;
  return undefined;
}

/** A compact line for reports. */
export function describe(e: HistoryEntry, t0: number): string {
  const o = e.outcome;
  const outcome = o.kind === 'ok' ? `ok ${JSON.stringify(o.value)}${o.code ? ` (${o.code})` : ''}` : o.kind === 'refused' ? `refused ${o.code}` : `ambiguous ${o.reason}${o.gid ? ` gid=${o.gid}` : ''}`;
  const res = e.resolution ? ` → ${e.resolution.result} via ${e.resolution.via} (${e.resolution.detail})` : '';
  const at = `${((e.startMs - t0) / 1000).toFixed(3)}–${((e.endMs - t0) / 1000).toFixed(3)}s`;
  return `#${e.id} c${e.client} gw${e.gateway + 1} ${at} ${e.op}(${JSON.stringify(e.args)})${e.key ? ` key=${e.key}` : ''}: ${outcome}${res}`;
}

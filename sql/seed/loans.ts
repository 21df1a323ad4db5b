import type { Branch, Copy, Loan, Reader } from './model';
import { weightedPicker, type Rng } from './random';

export interface LoanShape {
  openLoanShare: number;
  overdueShareOfOpen: number;
  crossBranchShare: number;
  maxOpenLoansPerReader: number;
  loanPeriodDays: number;
  historyDays: number;
}

export interface LoanOptions {
  branches: Branch[];
  copies: Copy[];
  /** Relative demand per copy (same order as `copies`). */
  copyWeights: number[];
  readers: Reader[];
  loanCount: number;
  now: Date;
  shape: LoanShape;
}

const DAY_MS = 86_400_000;
/** Branches keep Vietnamese hours: open 08:00-20:00 in UTC+7 (no daylight saving). */
const VN_OFFSET_MS = 7 * 3_600_000;
const OPENS_AT_MS = 8 * 3_600_000;
const OPEN_FOR_MS = 12 * 3_600_000;
/** Open overdue loans were borrowed this many days ago at most. */
const OLDEST_OPEN_LOAN_DAYS = 75;

/** A copy's loan before its reader is chosen. Days count back from today (0) in branch local time. */
interface LoanSlot {
  copy: Copy;
  borrowDay: number;
  returnDay: number | null;
}

/**
 * Loans for the whole chain, sorted by borrowedAt, each with its per-site MaPM
 * (`seq`). Each copy's loans follow one another without overlap, so a copy has
 * at most one open loan, always its latest.
 */
export function generateLoans(rng: Rng, options: LoanOptions): Loan[] {
  const slots = planCopyTimelines(rng, options);
  const readerIds = assignReaders(rng, slots, options);
  const today = localDayStart(options.now);
  const loans = slots.map((slot, i) => toLoan(rng, slot, readerIds[i], today, options.shape.loanPeriodDays));
  return numberPerSite(loans, options.branches);
}

/** Picks the copies on loan now, then spreads the returned loans over every copy's history. */
function planCopyTimelines(rng: Rng, options: LoanOptions): LoanSlot[] {
  const { copies, copyWeights, loanCount, shape } = options;
  const openCount = Math.min(copies.length, Math.round(loanCount * shape.openLoanShare));
  const overdueCount = Math.round(openCount * shape.overdueShareOfOpen);
  const openCopies = rng.shuffle(copies.map((_, i) => i)).slice(0, openCount);
  // The window ends yesterday, so every return is before now; it starts a day late so no loan predates now - historyDays.
  const historyStart = -(shape.historyDays - 1);
  const windowEnd = copies.map(() => -1);
  const slots: LoanSlot[] = openCopies.map((c, i) => {
    const borrowDay =
      i < overdueCount
        ? -rng.int(shape.loanPeriodDays + 1, OLDEST_OPEN_LOAN_DAYS) // due date already passed
        : -rng.int(1, shape.loanPeriodDays - 1); // still within the loan period
    windowEnd[c] = borrowDay - 1;
    return { copy: copies[c], borrowDay, returnDay: null };
  });
  const returnedPerCopy = spreadReturnedLoans(rng, loanCount - openCount, copyWeights, (c) =>
    Math.floor((windowEnd[c] - historyStart + 1) / 2),
  );
  returnedPerCopy.forEach((count, c) => {
    slots.push(...layOutReturnedLoans(rng, copies[c], count, historyStart, windowEnd[c]));
  });
  return slots;
}

/** How many returned loans each copy had, drawn by demand, never more than fit in its window. */
function spreadReturnedLoans(rng: Rng, total: number, weights: number[], capacity: (copy: number) => number): number[] {
  const counts = weights.map(() => 0);
  const pick = weightedPicker(rng, weights);
  const room = weights.reduce((sum, _, c) => sum + capacity(c), 0);
  if (total > room) throw new Error(`${total} returned loans do not fit in the copies' histories (room for ${room})`);
  for (let placed = 0; placed < total; ) {
    const c = pick();
    if (counts[c] >= capacity(c)) continue;
    counts[c]++;
    placed++;
  }
  return counts;
}

/**
 * Splits [firstDay, lastDay] into `count` equal stretches and puts one loan in
 * each, borrowed and returned inside it, so a copy's loans never overlap.
 */
function layOutReturnedLoans(rng: Rng, copy: Copy, count: number, firstDay: number, lastDay: number): LoanSlot[] {
  const stretch = Math.floor((lastDay - firstDay + 1) / Math.max(count, 1));
  return Array.from({ length: count }, (_, i) => {
    const start = firstDay + i * stretch;
    const end = i === count - 1 ? lastDay : start + stretch - 1;
    const days = Math.min(loanDurationDays(rng), end - start);
    const borrowDay = start + rng.int(0, end - start - days);
    return { copy, borrowDay, returnDay: borrowDay + days };
  });
}

/** Most readers return within the loan period; about one in five brings the book back late. */
function loanDurationDays(rng: Rng): number {
  const r = rng.next();
  if (r < 0.05) return 1;
  if (r < 0.8) return rng.int(2, 14);
  return rng.int(15, 30);
}

/**
 * Chooses each loan's reader. Every reader first gets one loan at their home
 * branch; then each loan goes to a reader by activity, from the lending branch
 * or, for DEMO_SHAPE.crossBranchShare of loans, from another branch. A reader
 * never holds more than maxOpenLoansPerReader open loans.
 */
function assignReaders(rng: Rng, slots: LoanSlot[], options: LoanOptions): string[] {
  const { branches, readers, shape } = options;
  if (readers.length > slots.length) throw new Error(`${readers.length} readers cannot each borrow from ${slots.length} loans`);
  const order = rng.shuffle(slots.map((_, i) => i));
  const crossCount = branches.length > 1 ? Math.round(slots.length * shape.crossBranchShare) : 0;
  const isCross = new Set(order.slice(0, crossCount));
  const activity = readers.map(() => (rng.chance(0.2) ? 3 + 3 * rng.next() : 0.5 + rng.next()));
  const pickers = new Map(branches.map((b) => [b.id, readerPickers(rng, readers, activity, b.id)]));
  const assigned: (number | undefined)[] = slots.map(() => undefined);
  const openLoans = readers.map(() => 0);
  const give = (slot: number, reader: number) => {
    assigned[slot] = reader;
    if (slots[slot].returnDay === null) openLoans[reader]++;
  };

  giveEveryReaderAHomeLoan(rng, slots, readers, order, isCross, give);
  for (const s of order) {
    if (assigned[s] !== undefined) continue;
    const { home, others } = pickers.get(slots[s].copy.branchId)!;
    // A branch without readers of its own (or a one-branch chain) lends to whoever exists.
    const pick = (isCross.has(s) ? others ?? home : home ?? others)!;
    give(s, slots[s].returnDay === null ? pickWithOpenRoom(pick, openLoans, shape.maxOpenLoansPerReader) : pick());
  }
  return assigned.map((r) => readers[r!].id);
}

function readerPickers(rng: Rng, readers: Reader[], activity: number[], branchId: string) {
  const home = activity.map((a, r) => (readers[r].homeBranchId === branchId ? a : 0));
  const others = activity.map((a, r) => (readers[r].homeBranchId === branchId ? 0 : a));
  const usable = (weights: number[]) => (weights.some((w) => w > 0) ? weightedPicker(rng, weights) : undefined);
  return { home: usable(home), others: usable(others) };
}

/**
 * Coverage pass, so every reader borrows: each reader (in random order) takes an
 * unassigned loan at their home branch, else one of the loans set aside for
 * readers of another branch.
 */
function giveEveryReaderAHomeLoan(
  rng: Rng,
  slots: LoanSlot[],
  readers: Reader[],
  order: number[],
  isCross: Set<number>,
  give: (slot: number, reader: number) => void,
): void {
  const homeQueues = new Map<string, number[]>();
  for (const s of order) {
    if (isCross.has(s)) continue;
    const branchId = slots[s].copy.branchId;
    const queue = homeQueues.get(branchId) ?? [];
    queue.push(s);
    homeQueues.set(branchId, queue);
  }
  const setAside = order.filter((s) => isCross.has(s));
  for (const r of rng.shuffle(readers.map((_, i) => i))) {
    const s = homeQueues.get(readers[r].homeBranchId)?.pop() ?? setAside.pop();
    if (s === undefined) throw new Error(`no loan left for reader ${readers[r].id}`);
    give(s, r);
  }
}

function pickWithOpenRoom(pick: () => number, openLoans: number[], max: number): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = pick();
    if (openLoans[r] < max) return r;
  }
  // Only reachable when nearly every candidate is at the limit: take the least loaded reader.
  const r = openLoans.indexOf(Math.min(...openLoans));
  if (openLoans[r] >= max) throw new Error(`every reader already holds ${max} open loans`);
  return r;
}

/** Midnight in branch local time, as a UTC instant. */
function localDayStart(now: Date): number {
  return Math.floor((now.getTime() + VN_OFFSET_MS) / DAY_MS) * DAY_MS - VN_OFFSET_MS;
}

/** A random instant (ms precision, as timestamp(3) stores) within opening hours of `day`. */
function duringOpeningHours(rng: Rng, today: number, day: number): Date {
  return new Date(today + day * DAY_MS + OPENS_AT_MS + Math.floor(rng.next() * OPEN_FOR_MS));
}

function toLoan(rng: Rng, slot: LoanSlot, readerId: string, today: number, loanPeriodDays: number): Loan {
  const borrowedAt = duringOpeningHours(rng, today, slot.borrowDay);
  return {
    seq: 0,
    readerId,
    copyId: slot.copy.id,
    branchId: slot.copy.branchId,
    borrowedAt,
    dueAt: new Date(borrowedAt.getTime() + loanPeriodDays * DAY_MS),
    returnedAt: slot.returnDay === null ? null : duringOpeningHours(rng, today, slot.returnDay),
  };
}

/** Sorts by borrowedAt and numbers each site's loans 1..n: the MaPM each gets when inserted in this order. */
function numberPerSite(loans: Loan[], branches: Branch[]): Loan[] {
  const branchOrder = new Map(branches.map((b, i) => [b.id, i]));
  const sorted = [...loans].sort(
    (a, b) =>
      a.borrowedAt.getTime() - b.borrowedAt.getTime() ||
      branchOrder.get(a.branchId)! - branchOrder.get(b.branchId)! ||
      (a.copyId < b.copyId ? -1 : a.copyId > b.copyId ? 1 : 0),
  );
  const next = new Map<string, number>();
  return sorted.map((loan) => {
    const seq = (next.get(loan.branchId) ?? 0) + 1;
    next.set(loan.branchId, seq);
    return { ...loan, seq };
  });
}

import type { DemoData } from '../sql/seed';
import { applied, effectiveEnd, isMutation, type HistoryEntry } from './history';
import type { LoanRow, Snapshot } from './snapshot';
import type { Violation } from './violation';

/**
 * Invariants c and f: the history against the data. Effects are found by what
 * identifies them: a loan by reader, copy and the instant it was made (the
 * gateway's clock, inside the call's window); a reader or book by the name or
 * ISBN unique to its attempt; a transfer or move by where the entity ended.
 */
const LOAN_MS = 14 * 86_400_000;
const SLACK_MS = 50;

const windowOf = (e: HistoryEntry): [number, number] => [e.startMs - SLACK_MS, Math.max(e.endMs, e.resolution?.endMs ?? 0) + SLACK_MS];
const within = (e: HistoryEntry, t: Date) => {
  const [a, b] = windowOf(e);
  return t.getTime() >= a && t.getTime() <= b;
};
const finalEnd = (e: HistoryEntry) => Math.max(e.endMs, e.resolution?.endMs ?? 0);
const valueOf = (e: HistoryEntry) => (e.outcome.kind === 'ok' ? e.outcome.value : e.resolution?.value) ?? null;
/** A refusal kind: direct, or a retry with the same key that said "not applied" although the data shows it was. */
const blame = (culprits: HistoryEntry[], what: string) => (culprits.every((e) => e.outcome.kind === 'ambiguous') ? `idempotency-${what}` : `refused-${what}-took-effect`);

export function checkHistory(entries: HistoryEntry[], snapshot: Snapshot, data: DemoData, t0: number): Violation[] {
  const out: Violation[] = [];
  const add = (kind: string, message: string, es: HistoryEntry[]) => out.push({ invariant: 'c', kind, message, entries: es.map((e) => e.id) });
  const muts = entries.filter(isMutation);
  const of = (op: string, pred: (e: HistoryEntry) => boolean = () => true) => muts.filter((e) => e.op === op && pred(e));
  const sites = [...snapshot.values()];
  const loans = sites.flatMap((s) => s.loans);
  const loanById = new Map(loans.map((l) => [l.id, l]));

  for (const e of muts) if (applied(e) === undefined) add('ambiguous-unresolved', `${e.op} ${e.key} stayed ambiguous: ${e.resolution?.detail ?? 'not resolved'}`, [e]);

  // Loans made during the run, each made by some borrow that did not say "nothing changed".
  const attribute = (what: string, rows: LoanRow[], at: (l: LoanRow) => Date, candidates: (l: LoanRow) => HistoryEntry[]) => {
    for (const l of rows) {
      const c = candidates(l).filter((e) => within(e, at(l)));
      if (c.some((e) => applied(e) !== false)) continue;
      if (c.length) add(blame(c, what), `${what} of loan ${l.id} (reader ${l.readerId}, copy ${l.copyId}) at ${at(l).toISOString()} is in the data, but its call was refused`, c);
      else add(`${what}-from-nowhere`, `${what} of loan ${l.id} (reader ${l.readerId}, copy ${l.copyId}) at ${at(l).toISOString()} matches no call`, []);
    }
  };
  attribute('borrow', loans.filter((l) => l.borrowedAt.getTime() >= t0 - 1000), (l) => l.borrowedAt, (l) => of('borrowCopy', (e) => e.args.readerId === l.readerId && e.args.copyId === l.copyId));
  attribute('return', loans.filter((l) => l.returnedAt && l.returnedAt.getTime() >= t0 - 1000), (l) => l.returnedAt!, (l) => of('returnCopy', (e) => e.args.loanId === l.id));
  attribute(
    'renewal',
    loans.filter((l) => l.dueAt.getTime() - LOAN_MS >= t0 - 1000 && l.dueAt.getTime() - LOAN_MS !== l.borrowedAt.getTime()),
    (l) => new Date(l.dueAt.getTime() - LOAN_MS),
    (l) => of('renewLoan', (e) => e.args.loanId === l.id),
  );
  for (const e of of('borrowCopy', (x) => applied(x) === true)) {
    const id = valueOf(e)?.id;
    const l = id ? loanById.get(id) : loans.find((x) => x.readerId === e.args.readerId && x.copyId === e.args.copyId && within(e, x.borrowedAt));
    if (!l || l.readerId !== e.args.readerId || l.copyId !== e.args.copyId) add('acknowledged-borrow-lost', `borrow ${id ?? ''} of ${e.args.copyId} by ${e.args.readerId} was acknowledged; the data has ${l ? JSON.stringify(l) : 'no such loan'}`, [e]);
  }
  for (const e of of('returnCopy', (x) => applied(x) === true)) {
    const l = loanById.get(e.args.loanId);
    if (!l?.returnedAt) add('acknowledged-return-lost', `return of ${e.args.loanId} was acknowledged; the loan is ${l ? 'open' : 'missing'}`, [e]);
  }
  for (const e of of('renewLoan', (x) => applied(x) === true)) {
    const l = loanById.get(e.args.loanId);
    const due = valueOf(e)?.dueAt;
    if (l && due && l.dueAt.getTime() < new Date(due).getTime()) {
      const racing = of('renewLoan', (x) => x !== e && x.args.loanId === e.args.loanId && applied(x) !== false && effectiveEnd(x) > e.startMs);
      if (!racing.length) add('acknowledged-renewal-lost', `renewal of ${e.args.loanId} answered due ${due}; the data says ${l.dueAt.toISOString()}`, [e]);
    }
  }

  // Transfers and moves: where the entity ended up.
  const placement = (op: 'transferCopy' | 'moveReader', idArg: 'copyId' | 'readerId', final: Map<string, string>, initial: Map<string, string>) => {
    for (const id of new Set(of(op).map((e) => e.args[idArg] as string))) {
      const es = of(op, (e) => e.args[idArg] === id);
      const at = final.get(id);
      if (!at) continue; // invariant a reports it
      const possible = new Set([initial.get(id), ...es.filter((e) => applied(e) !== false).map((e) => e.args.toBranchId)]);
      if (!possible.has(at)) add(blame(es.filter((e) => e.args.toBranchId === at), op), `${id} is at ${at}, where only refused ${op} calls sent it`, es.filter((e) => e.args.toBranchId === at));
      const acked = es.filter((e) => applied(e) === true).sort((x, y) => finalEnd(x) - finalEnd(y));
      const last = acked[acked.length - 1];
      if (!last) continue;
      const later = es.filter((e) => e !== last && applied(e) !== false && effectiveEnd(e) > last.startMs);
      if (!later.length && at !== last.args.toBranchId) add(`acknowledged-${op}-lost`, `${op} of ${id} to ${last.args.toBranchId} was the last acknowledged one; ${id} is at ${at}`, [last]);
    }
  };
  placement('transferCopy', 'copyId', new Map(sites.flatMap((s) => s.copies).map((c) => [c.id, c.site])), new Map(data.copies.map((c) => [c.id, c.branchId])));
  placement('moveReader', 'readerId', new Map(sites.flatMap((s) => s.readers).map((r) => [r.id, r.site])), new Map(data.readers.map((r) => [r.id, r.homeBranchId])));

  // Registrations: one reader per applied attempt, none per refused one.
  const readersByName = new Map<string, string[]>();
  for (const r of sites.flatMap((s) => s.readers)) readersByName.set(r.name, [...(readersByName.get(r.name) ?? []), r.id]);
  for (const e of of('registerReader')) {
    const found = readersByName.get(e.args.name) ?? [];
    const a = applied(e);
    if (a === true && found.length === 0) add('acknowledged-register-lost', `reader "${e.args.name}" (${valueOf(e)?.id}) was acknowledged; no site has it`, [e]);
    if (a === false && found.length > 0) add(blame([e], 'register'), `reader "${e.args.name}" exists (${found.join(', ')}) although registering it was refused`, [e]);
    if (found.length > 1) add('duplicate-register', `one registerReader attempt made ${found.length} readers: ${found.join(', ')}`, [e]);
  }

  // Books: presence, then the version count and title against the updates.
  const books = new Map(sites[0].books.map((b) => [b.isbn, b]));
  for (const e of of('addBook')) {
    const a = applied(e);
    if (a === true && !books.has(e.args.isbn)) add('acknowledged-addBook-lost', `book ${e.args.isbn} was acknowledged; ${[...snapshot.keys()][0]} lacks it`, [e]);
    if (a === false && books.has(e.args.isbn)) add(blame([e], 'addBook'), `book ${e.args.isbn} exists although adding it was refused`, [e]);
  }
  const initialTitle = new Map(data.books.map((b) => [b.isbn, b.title]));
  for (const isbn of new Set(of('updateBook').map((e) => e.args.isbn as string))) {
    const b = books.get(isbn);
    if (!b) continue;
    const es = of('updateBook', (e) => e.args.isbn === isbn);
    const ok = es.filter((e) => applied(e) === true);
    const maybe = es.filter((e) => applied(e) === undefined);
    if (b.version < ok.length + 1) add('acknowledged-updateBook-lost', `book ${isbn} is at version ${b.version} after ${ok.length} acknowledged updates`, ok);
    if (b.version > ok.length + maybe.length + 1) add(blame(es.filter((e) => applied(e) === false), 'updateBook'), `book ${isbn} is at version ${b.version}: more than its ${ok.length} acknowledged and ${maybe.length} unknown updates`, es.filter((e) => applied(e) === false));
    const titles = new Set([initialTitle.get(isbn), ...of('addBook', (e) => e.args.isbn === isbn).map((e) => e.args.title), ...es.filter((e) => applied(e) !== false).map((e) => e.args.title)]);
    if (!titles.has(b.title)) add(blame(es.filter((e) => e.args.title === b.title), 'updateBook'), `book ${isbn} is titled "${b.title}", which only a refused update wrote`, es.filter((e) => e.args.title === b.title));
    const last = ok.sort((x, y) => finalEnd(x) - finalEnd(y))[ok.length - 1];
    if (last && !es.some((e) => e !== last && applied(e) !== false && effectiveEnd(e) > last.startMs) && b.title !== last.args.title) {
      add('acknowledged-updateBook-lost', `the last acknowledged update of ${isbn} set "${last.args.title}"; it is titled "${b.title}"`, [last]);
    }
  }

  // f. Stale reads after acknowledged writes.
  const byId = new Map(entries.map((e) => [e.id, e]));
  for (const r of entries) {
    if (r.check?.verdict !== 'stale') continue;
    out.push({ invariant: 'f', kind: `stale-${r.op.slice(4)}`, message: `${r.check.detail} (read through gateway-${r.gateway + 1}, write through gateway-${byId.get(r.of!)!.gateway + 1})`, entries: [r.of!, r.id] });
  }
  return out;
}

import { COPY_STATUS } from '../sql';
import type { DemoData } from '../sql/seed';
import type { Snapshot } from './snapshot';
import type { Violation } from './violation';

/**
 * Invariants a, b, d, e: what the site databases must satisfy on their own
 * once the faults have stopped and recovery has run.
 */
const LOCK_TABLES: Record<string, string> = { QUYENSACH: 'Copy', DOCGIA: 'Reader', PHIEUMUON: 'Loan', SACH: 'Book' };

/** The entity a lock row names (`QUYENSACH:Q1-QS00001` → `Copy:Q1-QS00001`). */
function lockEntity(resource: string): string {
  const [table, ...rest] = resource.split(':');
  return `${LOCK_TABLES[table] ?? table}:${rest.join(':')}`;
}

export function checkState(snapshot: Snapshot, data: DemoData, siteIds: string[], entriesFor: (entity: string) => number[]): Violation[] {
  const out: Violation[] = [];
  const sites = [...snapshot.values()];
  const birth = (id: string) => siteIds.find((s) => id.startsWith(`${s}-`));

  // a. Every copy and reader at exactly one site; the birth site's location row agrees.
  const placement = (entity: 'Copy' | 'Reader', rows: { id: string; site: string }[], known: string[]) => {
    const where = new Map<string, string[]>();
    for (const r of rows) where.set(r.id, [...(where.get(r.id) ?? []), r.site]);
    for (const id of new Set([...known, ...where.keys()])) {
      const at = where.get(id) ?? [];
      if (at.length !== 1) {
        out.push({ invariant: 'a', kind: `${entity.toLowerCase()}-not-at-one-site`, message: `${entity} ${id} is at ${at.length} sites (${at.join(', ') || 'none'})`, entries: entriesFor(`${entity}:${id}`) });
        continue;
      }
      const born = birth(id);
      if (!born) continue;
      const pointer = snapshot.get(born)!.locations.find((l) => l.entity === entity && l.id === id);
      if (at[0] !== born && pointer?.site !== at[0]) {
        out.push({ invariant: 'a', kind: `${entity.toLowerCase()}-location-wrong`, message: `${entity} ${id} is at ${at[0]} but its birth site ${born} points at ${pointer?.site ?? 'nothing'}`, entries: entriesFor(`${entity}:${id}`) });
      }
      if (at[0] === born && pointer && pointer.site !== born) {
        out.push({ invariant: 'a', kind: `${entity.toLowerCase()}-location-wrong`, message: `${entity} ${id} is back at ${born} but ${born} still points at ${pointer.site}`, entries: entriesFor(`${entity}:${id}`) });
      }
    }
  };
  placement('Copy', sites.flatMap((s) => s.copies), data.copies.map((c) => c.id));
  placement('Reader', sites.flatMap((s) => s.readers), data.readers.map((r) => r.id));

  // b. Copy status and open loans; reader counters.
  const loans = sites.flatMap((s) => s.loans);
  const openByCopy = new Map<string, string[]>();
  const openByReader = new Map<string, string[]>();
  for (const l of loans) {
    if (l.returnedAt !== null) continue;
    openByCopy.set(l.copyId, [...(openByCopy.get(l.copyId) ?? []), l.id]);
    openByReader.set(l.readerId, [...(openByReader.get(l.readerId) ?? []), l.id]);
  }
  for (const c of sites.flatMap((s) => s.copies)) {
    const open = openByCopy.get(c.id) ?? [];
    const onLoan = c.status === COPY_STATUS.ON_LOAN;
    if (open.length > 1 || onLoan !== (open.length === 1)) {
      out.push({ invariant: 'b', kind: open.length > 1 ? 'copy-lent-twice' : 'copy-status-vs-loans', message: `copy ${c.id} at ${c.site} is "${c.status}" with ${open.length} open loans (${open.join(', ')})`, entries: entriesFor(`Copy:${c.id}`) });
    }
  }
  for (const r of sites.flatMap((s) => s.readers)) {
    const open = openByReader.get(r.id) ?? [];
    if (r.openLoans !== open.length || r.openLoans > 5) {
      out.push({ invariant: 'b', kind: r.openLoans > 5 ? 'reader-over-limit' : 'reader-counter-wrong', message: `reader ${r.id} at ${r.site} counts ${r.openLoans} open loans, the sites hold ${open.length} (${open.join(', ')})`, entries: entriesFor(`Reader:${r.id}`) });
    }
  }

  // d. Replicated tables equal everywhere.
  const [first, ...rest] = [...snapshot.entries()];
  for (const [site, s] of rest) {
    for (const [table, key, a, b] of [
      ['SACH', 'isbn', first[1].books, s.books],
      ['CHINHANH', 'id', first[1].branches, s.branches],
    ] as const) {
      const index = (rows: readonly Record<string, any>[]) => new Map(rows.map((r) => [String(r[key]), JSON.stringify(r)]));
      const [x, y] = [index(a), index(b)];
      const differing = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k));
      for (const k of differing.slice(0, 10)) {
        out.push({ invariant: 'd', kind: `${table.toLowerCase()}-differs`, message: `${table} ${k}: ${first[0]} has ${x.get(k) ?? 'no row'}, ${site} has ${y.get(k) ?? 'no row'}`, entries: table === 'SACH' ? entriesFor(`Book:${k}`) : [] });
      }
    }
  }

  // e. Nothing left locked or prepared.
  for (const [site, s] of snapshot) {
    for (const l of s.locks) out.push({ invariant: 'e', kind: 'orphan-lock', message: `${site} still has lock ${l.resource} held by ${l.gid}`, entries: entriesFor(lockEntity(l.resource)) });
    for (const t of s.preparedTx) out.push({ invariant: 'e', kind: 'prepared-left', message: `${site} still has ${t.gid} PREPARED (commit site ${t.commitSite})`, entries: [] });
  }
  return out;
}

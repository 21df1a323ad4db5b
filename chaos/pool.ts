import type { SitesConfig } from '../schema';
import { COPY_STATUS } from '../sql';
import { generateDemoData, type DemoData } from '../sql/seed';
import { loanId } from '../contracts';
import { mulberry32, subSeed } from './rng';

/**
 * The few entities the workload fights over, chosen from the demo data by the
 * seed: a small set so mutations conflict. Also the shared, best-effort view of
 * which loans are open, so returns and renewals mostly name real open loans.
 */
export interface LoanInfo {
  copyId: string;
  readerId: string;
}

export interface Pool {
  data: DemoData;
  siteIds: string[];
  copies: string[];
  readers: string[];
  books: string[];
  /** Every loan id the run knows of (demo and made by the workload) → its copy and reader. */
  loans: Map<string, LoanInfo>;
  /** Loans believed open (demo loans on pool copies or of pool readers, then borrows and returns). */
  openLoans: Set<string>;
  closedLoans: string[];
  /** Books added by acknowledged addBook calls (updateBook may target them). */
  addedBooks: string[];
}

export const POOL_COPIES = 30;
export const POOL_READERS = 40;
export const POOL_BOOKS = 6;

export function demoDataFor(config: SitesConfig, demoNow: Date): DemoData {
  return generateDemoData({ branches: config.sites.map((s) => ({ id: s.id, name: s.name, address: s.address })), now: demoNow });
}

function sample<T>(items: T[], n: number, rnd: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
}

export function choosePool(config: SitesConfig, data: DemoData, seed: number): Pool {
  const rng = mulberry32(subSeed(seed, 1000));
  const siteIds = config.sites.map((s) => s.id);
  const open = (readerId: string) => data.loans.filter((l) => l.readerId === readerId && l.returnedAt === null).length;
  const perSite = (n: number) => Math.ceil(n / siteIds.length);
  const copies = siteIds.flatMap((site) => {
    const born = data.copies.filter((c) => c.id.startsWith(`${site}-`));
    const available = born.filter((c) => c.status === COPY_STATUS.AVAILABLE);
    const lent = born.filter((c) => c.status === COPY_STATUS.ON_LOAN);
    const n = perSite(POOL_COPIES);
    return [...sample(available, n - Math.floor(n / 3), rng.next), ...sample(lent, Math.floor(n / 3), rng.next)].map((c) => c.id);
  }).slice(0, POOL_COPIES);
  const readers = siteIds
    .flatMap((site) => sample(data.readers.filter((r) => r.id.startsWith(`${site}-`) && open(r.id) <= 3), perSite(POOL_READERS), rng.next).map((r) => r.id))
    .slice(0, POOL_READERS);
  const loans = new Map<string, LoanInfo>();
  const openLoans = new Set<string>();
  const closedLoans: string[] = [];
  const copySet = new Set(copies);
  const readerSet = new Set(readers);
  for (const l of data.loans) {
    const id = loanId(l.branchId, l.seq);
    loans.set(id, { copyId: l.copyId, readerId: l.readerId });
    if (!copySet.has(l.copyId) && !readerSet.has(l.readerId)) continue;
    if (l.returnedAt === null) openLoans.add(id);
    else if (closedLoans.length < 20) closedLoans.push(id);
  }
  return { data, siteIds, copies, readers, books: data.books.slice(0, POOL_BOOKS).map((b) => b.isbn), loans, openLoans, closedLoans, addedBooks: [] };
}

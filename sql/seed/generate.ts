import { SITE_ID } from '../../schema';
import { COPY_STATUS } from '../migrations';
import { CATALOGUE, ISBN_PREFIXES } from './books';
import { copyId, ID_WIDTH, legacyCopyId, legacyReaderId, readerId, sequenceWidth } from './ids';
import { makeIsbn13 } from './isbn';
import { applyMoves } from './moves';
import { generateLoans } from './loans';
import type { Book, Branch, Copy, DemoData, Loan, Reader } from './model';
import { createRng, evenSplit, weightedPicker, type Rng } from './random';

export interface DemoDataOptions {
  /** The chain's branches (CHINHANH); each is also a site. */
  branches: Branch[];
  /** Loans are dated in the year before this instant; open loans are overdue or not relative to it. */
  now: Date;
  /** Same seed, same data. Default DEFAULT_SEED. */
  seed?: number;
  /** Multiplies books, copies, readers and loans. Default 1. */
  scale?: number;
}

export const DEFAULT_SEED = 20240901;

/** Rows for the whole chain at scale 1, and the shape of the data. Tests assert these. */
export const DEMO_SHAPE = {
  books: 200,
  copies: 2000,
  readers: 300,
  loans: 3000,
  /** Readers and copies carried over from the pre-LibFed database, with unprefixed ids. */
  legacyShare: 0.02,
  openLoanShare: 0.1,
  overdueShareOfOpen: 0.4,
  /** Loans whose reader is registered at another branch than the lending one. */
  crossBranchShare: 0.3,
  maxOpenLoansPerReader: 5,
  loanPeriodDays: 14,
  historyDays: 365,
} as const;

interface ResolvedOptions {
  branches: Branch[];
  now: Date;
  seed: number;
  scale: number;
}

/** Deterministic demo data for the whole chain, in memory. Same options, same output. */
export function generateDemoData(options: DemoDataOptions): DemoData {
  const { branches, now, seed, scale } = resolveOptions(options);
  const rng = createRng(seed);
  // Every branch gets at least one row of each kind, however small the scale.
  const count = (perScaleOne: number) => Math.max(branches.length, Math.round(perScaleOne * scale));
  const books = generateBooks(rng, count(DEMO_SHAPE.books));
  const popularity = bookPopularity(rng, books.length);
  const copies = generateCopies(rng, books, popularity, branches, count(DEMO_SHAPE.copies));
  const readers = generateReaders(rng, branches, count(DEMO_SHAPE.readers));
  const bookIndex = new Map(books.map((book, i) => [book.isbn, i]));
  const loans = generateLoans(rng, {
    branches,
    copies,
    copyWeights: copies.map((copy) => popularity[bookIndex.get(copy.isbn)!] * (0.5 + rng.next())),
    readers,
    loanCount: count(DEMO_SHAPE.loans),
    now,
    shape: DEMO_SHAPE,
  });
  // Drawn last, so the rest of the data does not depend on it.
  const moved = applyMoves(rng, branches, withLoanStatus(copies, loans), readers);
  return { branches: branches.map(({ id, name, address }) => ({ id, name, address })), books, loans, ...moved };
}

function resolveOptions(options: DemoDataOptions): ResolvedOptions {
  const { branches, now, seed = DEFAULT_SEED, scale = 1 } = options;
  if (branches.length === 0) throw new Error('generateDemoData needs at least one branch');
  const ids = new Set<string>();
  for (const branch of branches) {
    if (!SITE_ID.test(branch.id)) throw new Error(`branch id must match ${SITE_ID}, got "${branch.id}"`);
    if (ids.has(branch.id)) throw new Error(`duplicate branch id "${branch.id}"`);
    ids.add(branch.id);
  }
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new Error(`now must be a valid Date, got ${String(now)}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  if (!(scale > 0 && Number.isFinite(scale))) throw new Error(`scale must be a positive number, got ${scale}`);
  return { branches, now, seed, scale };
}

/**
 * `count` distinct titles: catalogue works in random order (so every scale mixes
 * Vietnamese and world titles), each tập its own title, then reprints of them
 * as long as more are needed.
 */
export function bookTitles(rng: Rng, count: number): { title: string; author: string }[] {
  const firstEditions = rng.shuffle(CATALOGUE).flatMap((entry) =>
    entry.volumes
      ? Array.from({ length: entry.volumes }, (_, v) => ({ title: `${entry.title} - Tập ${v + 1}`, author: entry.author }))
      : [{ title: entry.title, author: entry.author }],
  );
  const titles = firstEditions.slice(0, count);
  for (let reprint = 2; titles.length < count; reprint++) {
    for (const book of firstEditions.slice(0, count - titles.length)) {
      titles.push({ title: `${book.title} (tái bản lần ${reprint})`, author: book.author });
    }
  }
  return titles;
}

function generateBooks(rng: Rng, count: number): Book[] {
  const used = new Set<string>();
  return bookTitles(rng, count).map(({ title, author }) => ({ isbn: uniqueIsbn(rng, used), title, author }));
}

function uniqueIsbn(rng: Rng, used: Set<string>): string {
  // The registrant blocks hold ~340,000 numbers; collisions only slow down far beyond any demo scale.
  for (let attempt = 0; attempt < 1000; attempt++) {
    const prefix = rng.pick(ISBN_PREFIXES);
    const isbn = makeIsbn13(prefix, rng.int(0, 10 ** (12 - prefix.length) - 1));
    if (!used.has(isbn)) {
      used.add(isbn);
      return isbn;
    }
  }
  throw new Error(`ran out of ISBNs after ${used.size} books`);
}

/** Zipf-like demand over a random ranking: a few titles are borrowed far more than the rest. */
function bookPopularity(rng: Rng, count: number): number[] {
  const ranks = rng.shuffle(Array.from({ length: count }, (_, i) => i));
  return ranks.map((rank) => 1 / (rank + 5));
}

/** Every book gets a copy somewhere; popular books get more. Copies of one title are catalogued together. */
function generateCopies(rng: Rng, books: Book[], popularity: number[], branches: Branch[], count: number): Copy[] {
  const pickBook = weightedPicker(rng, popularity);
  const perSite = evenSplit(count, branches.length);
  const holdings = branches.map((_, s) => {
    const guaranteed = books.map((_, b) => b).filter((b) => b % branches.length === s);
    const shelf = guaranteed.slice(0, perSite[s]);
    while (shelf.length < perSite[s]) shelf.push(pickBook());
    return shelf.sort((a, b) => a - b);
  });
  const ids = siteIdsWithLegacy(rng, branches, perSite, {
    width: ID_WIDTH.copy,
    legacyWidth: ID_WIDTH.legacyCopy,
    prefixed: copyId,
    legacy: legacyCopyId,
  });
  return branches.flatMap((branch, s) =>
    holdings[s].map((b, i) => ({ id: ids[s][i], isbn: books[b].isbn, branchId: branch.id, status: COPY_STATUS.AVAILABLE })),
  );
}

function generateReaders(rng: Rng, branches: Branch[], count: number): Reader[] {
  const perSite = evenSplit(count, branches.length);
  const ids = siteIdsWithLegacy(rng, branches, perSite, {
    width: ID_WIDTH.reader,
    legacyWidth: ID_WIDTH.legacyReader,
    prefixed: readerId,
    legacy: legacyReaderId,
  });
  return branches.flatMap((branch, s) =>
    ids[s].map((id) => ({ id, name: rng.personName(), homeBranchId: branch.id })),
  );
}

interface IdScheme {
  width: number;
  legacyWidth: number;
  prefixed(siteId: string, seq: number, width: number): string;
  legacy(seq: number, width: number): string;
}

/**
 * Ids for each site's rows. About DEMO_SHAPE.legacyShare of them are legacy:
 * numbered once across the whole chain (the old database had no sites) and
 * scattered over the sites; the rest are `<site>-...` numbered 1..n per site.
 */
function siteIdsWithLegacy(rng: Rng, branches: Branch[], perSite: number[], scheme: IdScheme): string[][] {
  const legacyPerSite = perSite.map((n) => Math.round(n * DEMO_SHAPE.legacyShare));
  const legacyNumbers = rng.shuffle(legacySequence(rng, legacyPerSite.reduce((a, b) => a + b, 0)));
  const legacyWidth = sequenceWidth(scheme.legacyWidth, Math.max(0, ...legacyNumbers));
  let nextLegacy = 0;
  return branches.map((branch, s) => {
    const legacyRows = new Set(rng.shuffle(Array.from({ length: perSite[s] }, (_, i) => i)).slice(0, legacyPerSite[s]));
    const width = sequenceWidth(scheme.width, perSite[s] - legacyPerSite[s]);
    let seq = 0;
    return Array.from({ length: perSite[s] }, (_, i) =>
      legacyRows.has(i)
        ? scheme.legacy(legacyNumbers[nextLegacy++], legacyWidth)
        : scheme.prefixed(branch.id, ++seq, width),
    );
  });
}

/** Ascending numbers with small gaps, like ids left behind by deletions in an old table. */
function legacySequence(rng: Rng, count: number): number[] {
  const numbers: number[] = [];
  let n = rng.int(1, 400);
  for (let i = 0; i < count; i++) {
    numbers.push(n);
    n += rng.int(1, 40);
  }
  return numbers;
}

/** TinhTrang follows the loans: on loan exactly when the copy has an open loan. */
function withLoanStatus(copies: Copy[], loans: Loan[]): Copy[] {
  const onLoan = new Set(loans.filter((loan) => loan.returnedAt === null).map((loan) => loan.copyId));
  return copies.map((copy) => ({ ...copy, status: onLoan.has(copy.id) ? COPY_STATUS.ON_LOAN : COPY_STATUS.AVAILABLE }));
}

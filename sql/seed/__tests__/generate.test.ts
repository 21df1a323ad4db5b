import { vi } from '@faker-js/faker';
import { COPY_STATUS } from '../../migrations';
import { DEMO_SHAPE, generateDemoData, isbn13CheckDigit, isValidIsbn13, siteFragment, type DemoData, type Loan } from '..';
import { copyId, legacyReaderId, readerId, sequenceWidth } from '../ids';

const BRANCHES = [
  { id: 'Q1', name: 'Chi nhánh Quận 1', address: '12 Lê Lợi, Quận 1' },
  { id: 'Q3', name: 'Chi nhánh Quận 3', address: '285 Cách Mạng Tháng Tám, Quận 3' },
  { id: 'Q5', name: 'Chi nhánh Quận 5', address: '105 Trần Hưng Đạo, Quận 5' },
];
const SITES = BRANCHES.map((b) => b.id);
const NOW = new Date('2026-03-15T03:00:00.000Z');
const DAY_MS = 86_400_000;

const isOpen = (loan: Loan) => loan.returnedAt === null;
const countBy = <T>(items: T[], key: (item: T) => string) => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
};

/** The data as it was before the recorded moves: every prefixed row at the site its id names. */
function atBirth(d: DemoData): DemoData {
  const born = new Map(d.locations.map((l) => [l.id, l.id.slice(0, l.id.indexOf('-'))]));
  return {
    ...d,
    copies: d.copies.map((c) => (born.has(c.id) ? { ...c, branchId: born.get(c.id)! } : c)),
    readers: d.readers.map((r) => (born.has(r.id) ? { ...r, homeBranchId: born.get(r.id)! } : r)),
  };
}

let data: DemoData;
let born: DemoData;
beforeAll(() => {
  data = generateDemoData({ branches: BRANCHES, now: NOW, seed: 7 });
  born = atBirth(data);
});

describe('determinism', () => {
  it('gives deep-equal output for the same options', () => {
    expect(generateDemoData({ branches: BRANCHES, now: NOW, seed: 7 })).toEqual(data);
  });

  it('gives different output for a different seed', () => {
    const other = generateDemoData({ branches: BRANCHES, now: NOW, seed: 8 });
    expect(other.readers.map((r) => r.name)).not.toEqual(data.readers.map((r) => r.name));
    expect(other.books.map((b) => b.isbn)).not.toEqual(data.books.map((b) => b.isbn));
    expect(other.loans).not.toEqual(data.loans);
  });
});

describe('counts', () => {
  it('has the scale-1 sizes, spread evenly over the sites', () => {
    expect(data.branches).toEqual(BRANCHES);
    expect(data.books).toHaveLength(200);
    expect(data.copies).toHaveLength(2000);
    expect(data.readers).toHaveLength(300);
    expect(data.loans).toHaveLength(3000);
    for (const site of SITES) {
      const f = siteFragment(born, site);
      expect(Math.abs(f.copies.length - 2000 / 3)).toBeLessThanOrEqual(1);
      expect(Math.abs(f.readers.length - 100)).toBeLessThanOrEqual(1);
      expect(Math.abs(f.loans.length - 1000)).toBeLessThan(200);
    }
  });

  it('multiplies books, copies, readers and loans by the scale', () => {
    const doubled = generateDemoData({ branches: BRANCHES, now: NOW, seed: 7, scale: 2 });
    expect(doubled.books).toHaveLength(400);
    expect(doubled.copies).toHaveLength(4000);
    expect(doubled.readers).toHaveLength(600);
    expect(doubled.loans).toHaveLength(6000);
    expect(new Set(doubled.books.map((b) => b.title)).size).toBe(400);
  });
});

describe('catalogue', () => {
  it('has unique, valid ISBN-13s and unique titles', () => {
    expect(new Set(data.books.map((b) => b.isbn)).size).toBe(data.books.length);
    expect(new Set(data.books.map((b) => b.title)).size).toBe(data.books.length);
    const bad = data.books.filter((b) => !/^978604\d{7}$/.test(b.isbn) || !isValidIsbn13(b.isbn) || !b.title || !b.author);
    expect(bad).toEqual([]);
  });

  it('computes the ISBN-13 check digit', () => {
    expect(isbn13CheckDigit('978030640615')).toBe(7);
    expect(isValidIsbn13('9780306406157')).toBe(true);
    expect(isValidIsbn13('9780306406158')).toBe(false);
  });

  it('gives every book a copy somewhere', () => {
    const held = new Set(data.copies.map((c) => c.isbn));
    expect(data.books.every((b) => held.has(b.isbn))).toBe(true);
  });
});

/** Unique ids; prefixed ones start with their own site; 1-3% legacy ones, unprefixed, at every site. */
function expectIdContract(rows: { id: string; site: string }[], prefixed: RegExp, legacy: RegExp): void {
  expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length);
  const legacyRows = rows.filter((row) => legacy.test(row.id));
  const misnamed = rows.filter((row) =>
    legacy.test(row.id)
      ? SITES.some((site) => row.id.startsWith(`${site}-`))
      : !prefixed.test(row.id) || !row.id.startsWith(`${row.site}-`),
  );
  expect(misnamed).toEqual([]);
  expect(legacyRows.length / rows.length).toBeGreaterThanOrEqual(0.01);
  expect(legacyRows.length / rows.length).toBeLessThanOrEqual(0.03);
  expect(new Set(legacyRows.map((row) => row.site)).size).toBe(SITES.length);
}

describe('ids', () => {
  it('of copies are Q1-QS00001 or legacy QS000123', () => {
    expectIdContract(born.copies.map((c) => ({ id: c.id, site: c.branchId })), /^(Q1|Q3|Q5)-QS\d{5}$/, /^QS\d{6}$/);
  });

  it('of readers are Q3-DG0042 or legacy DG00385', () => {
    expectIdContract(born.readers.map((r) => ({ id: r.id, site: r.homeBranchId })), /^(Q1|Q3|Q5)-DG\d{4}$/, /^DG\d{5}$/);
  });

  it('numbers each site from 1 and widens the number when needed', () => {
    expect(born.copies.find((c) => c.branchId === 'Q3' && !c.id.startsWith('QS'))!.id).toBe('Q3-QS00001');
    expect(data.readers.some((r) => r.id === 'Q5-DG0001')).toBe(true);
    expect(copyId('Q1', 123_456, sequenceWidth(5, 150_000))).toBe('Q1-QS123456');
    expect(readerId('Q3', 42, sequenceWidth(4, 99))).toBe('Q3-DG0042');
    expect(legacyReaderId(385, 5)).toBe('DG00385');
    expect(() => copyId('ABCDEFGH', 1, 12)).toThrow(/longer than 20/);
  });
});

describe('moves', () => {
  it('record about 1% of prefixed copies and readers as living away from their birth site', () => {
    const copies = data.locations.filter((l) => l.entity === 'Copy');
    const readers = data.locations.filter((l) => l.entity === 'Reader');
    expect(copies.length).toBeGreaterThanOrEqual(5);
    expect(readers.length).toBeGreaterThanOrEqual(1);
    const copyAt = new Map(data.copies.map((c) => [c.id, c]));
    const readerAt = new Map(data.readers.map((r) => [r.id, r.homeBranchId]));
    for (const l of data.locations) {
      expect(l.site).not.toBe(l.id.slice(0, l.id.indexOf('-')));
      expect(l.entity === 'Copy' ? copyAt.get(l.id)?.branchId : readerAt.get(l.id)).toBe(l.site);
    }
    // Only copies on the shelf are transferred.
    expect(copies.every((l) => copyAt.get(l.id)!.status === COPY_STATUS.AVAILABLE)).toBe(true);
  });
});

describe('readers', () => {
  it('have Vietnamese names, family name first', () => {
    const familyNames = new Set(vi.person!.last_name!.generic!);
    const odd = data.readers.filter((r) => r.name.split(' ').length < 2 || !familyNames.has(r.name.split(' ')[0]));
    expect(odd).toEqual([]);
  });
});

describe('loans', () => {
  it('reference existing readers and copies and are made at the copy branch', () => {
    // Where the copy was when lent: transfers happen after the copy's loans.
    const copyBranch = new Map(born.copies.map((c) => [c.id, c.branchId]));
    const readerIds = new Set(data.readers.map((r) => r.id));
    const bad = data.loans.filter((l) => !readerIds.has(l.readerId) || copyBranch.get(l.copyId) !== l.branchId);
    expect(bad).toEqual([]);
  });

  it('mark a copy on loan exactly when it has one open loan', () => {
    const open = countBy(data.loans.filter(isOpen), (l) => l.copyId);
    expect(Math.max(...open.values())).toBe(1);
    const wrong = data.copies.filter((c) => c.status !== (open.has(c.id) ? COPY_STATUS.ON_LOAN : COPY_STATUS.AVAILABLE));
    expect(wrong).toEqual([]);
    expect(data.copies.filter((c) => c.status === COPY_STATUS.ON_LOAN)).toHaveLength(open.size);
  });

  it("never overlap on one copy, and a copy's open loan is its latest", () => {
    const byCopy = new Map<string, Loan[]>();
    for (const loan of data.loans) byCopy.set(loan.copyId, [...(byCopy.get(loan.copyId) ?? []), loan]);
    const overlapping = [...byCopy.values()].filter((loans) =>
      loans.some((loan, i) => i > 0 && !(loans[i - 1].returnedAt && loans[i - 1].returnedAt! < loan.borrowedAt)),
    );
    expect(overlapping).toEqual([]);
  });

  it('leave no reader with more than 5 open loans', () => {
    const open = countBy(data.loans.filter(isOpen), (l) => l.readerId);
    expect(Math.max(...open.values())).toBeLessThanOrEqual(DEMO_SHAPE.maxOpenLoansPerReader);
  });

  it('are dated in the year before now with a 14-day loan period', () => {
    const now = NOW.getTime();
    const misdated = data.loans.filter(
      ({ borrowedAt, dueAt, returnedAt }) =>
        !(borrowedAt instanceof Date && dueAt instanceof Date) ||
        borrowedAt.getTime() < now - 365 * DAY_MS ||
        borrowedAt.getTime() > now ||
        dueAt.getTime() - borrowedAt.getTime() !== 14 * DAY_MS ||
        (returnedAt !== null && (returnedAt <= borrowedAt || returnedAt.getTime() > now)),
    );
    expect(misdated).toEqual([]);
    const months = new Set(data.loans.map((l) => l.borrowedAt.toISOString().slice(0, 7)));
    expect(months.size).toBeGreaterThanOrEqual(12);
  });

  it('are 8-12% open, some overdue and some within the loan period', () => {
    const open = data.loans.filter(isOpen);
    expect(open.length / data.loans.length).toBeGreaterThanOrEqual(0.08);
    expect(open.length / data.loans.length).toBeLessThanOrEqual(0.12);
    const overdue = open.filter((l) => l.dueAt < NOW);
    const current = open.filter((l) => l.dueAt >= NOW);
    expect(overdue.length).toBeGreaterThan(0);
    expect(current.length).toBeGreaterThan(0);
    expect(current.filter((l) => NOW.getTime() - l.borrowedAt.getTime() >= 14 * DAY_MS)).toEqual([]);
  });

  it('cross branches for at least a quarter of loans; every reader borrows, many at several branches', () => {
    const home = new Map(data.readers.map((r) => [r.id, r.homeBranchId]));
    const cross = data.loans.filter((l) => home.get(l.readerId) !== l.branchId);
    expect(cross.length / data.loans.length).toBeGreaterThanOrEqual(0.25);
    const branchesPerReader = new Map<string, Set<string>>();
    for (const loan of data.loans) {
      branchesPerReader.set(loan.readerId, (branchesPerReader.get(loan.readerId) ?? new Set()).add(loan.branchId));
    }
    expect(branchesPerReader.size).toBe(data.readers.length);
    const multiBranch = [...branchesPerReader.values()].filter((s) => s.size >= 2).length;
    expect(multiBranch / data.readers.length).toBeGreaterThanOrEqual(0.5);
  });

  it('are sorted by borrowedAt and numbered 1..n per site in that order', () => {
    const outOfOrder = data.loans.filter((loan, i) => i > 0 && loan.borrowedAt < data.loans[i - 1].borrowedAt);
    expect(outOfOrder).toEqual([]);
    for (const site of SITES) {
      const seqs = siteFragment(data, site).loans.map((l) => l.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
  });
});

describe('options', () => {
  it('rejects what it cannot generate', () => {
    expect(() => generateDemoData({ branches: [], now: NOW })).toThrow(/at least one branch/);
    expect(() => generateDemoData({ branches: BRANCHES, now: NOW, scale: 0 })).toThrow(/scale/);
    expect(() => generateDemoData({ branches: [BRANCHES[0], BRANCHES[0]], now: NOW })).toThrow(/duplicate/);
    expect(() => generateDemoData({ branches: [{ ...BRANCHES[0], id: 'q1' }], now: NOW })).toThrow(/branch id/);
  });

  it('serves a single branch without cross-branch loans', () => {
    const single = generateDemoData({ branches: [BRANCHES[0]], now: NOW, scale: 0.1 });
    expect(single.loans.every((l) => l.branchId === 'Q1')).toBe(true);
    expect(new Set(single.loans.map((l) => l.readerId)).size).toBe(single.readers.length);
  });
});

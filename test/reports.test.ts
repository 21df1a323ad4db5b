import fc from 'fast-check';
import { reportBytes } from '../bench/report-bytes';
import { BACKENDS, startTestChain, type TestChain } from './harness';

/**
 * The reports against an oracle: every figure is computed again here from the
 * union of all sites' raw rows, read straight from each site (signed site
 * fetches of its plain lists, never the report path), for random periods and
 * groupings — periods cutting through days, and empty ones.
 */

interface RawLoan { id: string; reader: string; copy: string; branch: string; borrowedAt: number; dueAt: number; returnedAt: number | null }
interface Raw {
  branches: { id: string; name: string }[];
  titles: Map<string, string>;
  copies: { id: string; isbn: string; branch: string; available: boolean }[];
  readers: Map<string, string>;
  loans: RawLoan[];
}

const DAY = 86_400_000;

async function site(chain: TestChain, id: string, subgraph: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const response = await chain.siteFetch(`${chain.sites.get(id)!.url}/${subgraph}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (!body.data || body.errors) throw new Error(`${id}/${subgraph}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function pages<T>(fetchPage: (after: string | null) => Promise<{ edges: { node: T }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }>): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await fetchPage(after);
    out.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

async function readRaw(chain: TestChain): Promise<Raw> {
  const ids = chain.config.sites.map((s) => s.id);
  const first = ids[0];
  const branches = (await site(chain, first, 'catalog', '{ branches { id name } }')).branches;
  const books = await pages<{ isbn: string; title: string }>(async (after) => (await site(chain, first, 'catalog', 'query($a: String) { books(first: 100, after: $a) { pageInfo { hasNextPage endCursor } edges { node { isbn title } } } }', { a: after })).books);
  const reps = books.map((b) => ({ __typename: 'Book', isbn: b.isbn }));
  const perSite = await Promise.all(
    ids.map(async (id) => {
      const copies = (await site(chain, id, 'inventory', 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Book { isbn copies { id status branch { id } } } } }', { r: reps }))._entities.flatMap((b: any) =>
        b.copies.map((c: any) => ({ id: c.id, isbn: b.isbn, branch: c.branch.id, available: c.status === 'AVAILABLE' })),
      );
      const readers = await pages<{ id: string; homeBranch: { id: string } }>(async (after) => (await site(chain, id, 'readers', 'query($a: String) { readers(first: 100, after: $a) { pageInfo { hasNextPage endCursor } edges { node { id homeBranch { id } } } } }', { a: after })).readers);
      const loans = await pages<any>(async (after) =>
        (await site(chain, id, 'loans', 'query($a: String) { loans(first: 100, after: $a) { pageInfo { hasNextPage endCursor } edges { node { id reader { id } copy { id } branch { id } borrowedAt dueAt returnedAt } } } }', { a: after })).loans,
      );
      return { copies, readers, loans };
    }),
  );
  return {
    branches,
    titles: new Map(books.map((b) => [b.isbn, b.title])),
    copies: perSite.flatMap((s) => s.copies),
    readers: new Map(perSite.flatMap((s) => s.readers.map((r) => [r.id, r.homeBranch.id] as [string, string]))),
    loans: perSite.flatMap((s) =>
      s.loans.map((l: any) => ({ id: l.id, reader: l.reader.id, copy: l.copy.id, branch: l.branch.id, borrowedAt: Date.parse(l.borrowedAt), dueAt: Date.parse(l.dueAt), returnedAt: l.returnedAt ? Date.parse(l.returnedAt) : null })),
    ),
  };
}

const codePoints = (a: string, b: string) => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
};
const month = (t: number) => new Date(t).toISOString().slice(0, 7);

type Grouping = 'BRANCH' | 'BOOK' | 'MONTH' | 'HOME_BRANCH';

/** The oracle: what each report must answer, from raw rows (`down`: sites whose rows and readers are missing). */
function oracle(raw: Raw, down: string[] = []) {
  const isbnOf = new Map(raw.copies.map((c) => [c.id, c.isbn]));
  const names = new Map(raw.branches.map((b) => [b.id, b.name]));
  const home = (reader: string) => {
    const h = raw.readers.get(reader);
    return h && !down.includes(h) ? h : undefined;
  };
  const loans = raw.loans.filter((l) => !down.includes(l.branch));
  const inside = (t: number | null, from: number, to: number) => t !== null && t >= from && t < to;
  return {
    circulation(from: number, to: number, groupBy: Grouping) {
      const rows = new Map<string, { key: string; label: string | null; opened: number; returned: number }>();
      const add = (key: string | undefined, field: 'opened' | 'returned') => {
        if (!key) return;
        const label = groupBy === 'BOOK' ? raw.titles.get(key)! : groupBy === 'MONTH' ? key : names.get(key)!;
        const row = rows.get(key) ?? { key, label, opened: 0, returned: 0 };
        row[field]++;
        rows.set(key, row);
      };
      for (const l of loans) {
        const key = (at: number) => (groupBy === 'BRANCH' ? l.branch : groupBy === 'BOOK' ? isbnOf.get(l.copy) : groupBy === 'MONTH' ? month(at) : home(l.reader));
        if (inside(l.borrowedAt, from, to)) add(key(l.borrowedAt), 'opened');
        if (inside(l.returnedAt, from, to)) add(key(l.returnedAt!), 'returned');
      }
      return [...rows.values()].sort((a, b) => codePoints(a.key, b.key));
    },
    topBooks(first: number, from?: number, to?: number) {
      const counts = new Map<string, number>();
      for (const l of loans) if (inside(l.borrowedAt, from ?? -Infinity, to ?? Infinity)) counts.set(isbnOf.get(l.copy)!, (counts.get(isbnOf.get(l.copy)!) ?? 0) + 1);
      return [...counts].sort((a, b) => b[1] - a[1] || codePoints(a[0], b[0])).slice(0, first);
    },
    matrix(from: number, to: number) {
      const cells = new Map<string, [string, string, number]>();
      for (const l of loans) {
        const h = home(l.reader);
        if (!h || !inside(l.borrowedAt, from, to)) continue;
        const cell = cells.get(`${h}|${l.branch}`) ?? [h, l.branch, 0];
        cell[2]++;
        cells.set(`${h}|${l.branch}`, cell);
      }
      return [...cells.values()].sort((a, b) => codePoints(a[0], b[0]) || codePoints(a[1], b[1]));
    },
    stats(now: number) {
      const live = raw.branches.filter((b) => !down.includes(b.id));
      const perBranch = live.map((b) => {
        const copies = raw.copies.filter((c) => c.branch === b.id);
        const open = loans.filter((l) => l.branch === b.id && l.returnedAt === null);
        return {
          branch: { id: b.id },
          books: new Set(copies.map((c) => c.isbn)).size,
          copies: copies.length,
          availableCopies: copies.filter((c) => c.available).length,
          readers: [...raw.readers.values()].filter((h) => h === b.id).length,
          openLoans: open.length,
          overdueLoans: open.filter((l) => l.dueAt < now).length,
        };
      });
      const sum = (k: 'copies' | 'availableCopies' | 'readers' | 'openLoans' | 'overdueLoans') => perBranch.reduce((n, b) => n + b[k], 0);
      const totals = { branch: null, books: raw.titles.size, copies: sum('copies'), availableCopies: sum('availableCopies'), readers: sum('readers'), openLoans: sum('openLoans'), overdueLoans: sum('overdueLoans') };
      return { totals, perBranch };
    },
    overdue(now: number) {
      return loans
        .filter((l) => l.returnedAt === null && l.dueAt < now)
        .sort((a, b) => a.dueAt - b.dueAt || codePoints(a.id, b.id))
        .map((l) => [l.id, Math.floor((now - l.dueAt) / DAY)]);
    },
  };
}

const STATS = '{ systemStats { totals { branch { id } books copies availableCopies readers openLoans overdueLoans } perBranch { branch { id } books copies availableCopies readers openLoans overdueLoans } } }';
const CIRCULATION = 'query($from: DateTime!, $to: DateTime!, $g: CirculationGrouping!) { circulation(from: $from, to: $to, groupBy: $g) { key label opened returned } }';
const TOP = 'query($first: Int, $from: DateTime, $to: DateTime) { topBooks(first: $first, from: $from, to: $to) { book { isbn } loans } }';
const MATRIX = 'query($from: DateTime!, $to: DateTime!) { borrowingMatrix(from: $from, to: $to) { homeBranch { id } lendingBranch { id } loans } }';
const OVERDUE = 'query($first: Int, $after: String) { overdueReport(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { daysOverdue loan { id } } } } }';

describe.each(BACKENDS)('reports over %s', (backend) => {
  let chain: TestChain;
  let raw: Raw;
  let span: [number, number];

  beforeAll(async () => {
    chain = await startTestChain(backend);
    raw = await readRaw(chain);
    const times = raw.loans.flatMap((l) => [l.borrowedAt, l.returnedAt ?? l.borrowedAt]);
    span = [Math.min(...times) - 20 * DAY, Math.max(...times) + 20 * DAY];
  }, 240_000);
  afterAll(() => chain?.close());

  /** A period: from anywhere in the data's span, lasting from a millisecond to past the whole span (so some are empty, most cut through a day). */
  const periods = () =>
    fc.tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.oneof(fc.integer({ min: 1, max: DAY * 3 }), fc.integer({ min: 1, max: 400 * DAY }))).map(([f, length]) => {
      const from = span[0] + Math.floor(((span[1] - span[0]) * f) / 1_000_000);
      return { from, to: from + length };
    });
  const iso = (t: number) => new Date(t).toISOString();

  it('circulation, topBooks and the matrix equal the oracle for random periods and groupings', async () => {
    const o = oracle(raw);
    let empty = 0;
    await fc.assert(
      fc.asyncProperty(periods(), fc.constantFrom<Grouping>('BRANCH', 'BOOK', 'MONTH', 'HOME_BRANCH'), fc.integer({ min: 0, max: 100 }), async ({ from, to }, g, first) => {
        const vars = { from: iso(from), to: iso(to) };
        const [circ, top, matrix] = await Promise.all([
          chain.query(CIRCULATION, { ...vars, g }),
          chain.query(TOP, { ...vars, first }),
          chain.query(MATRIX, vars),
        ]);
        expect([circ.errors, top.errors, matrix.errors]).toEqual([undefined, undefined, undefined]);
        const expected = o.circulation(from, to, g);
        if (!expected.length) empty++;
        expect(circ.data.circulation).toEqual(expected);
        expect(top.data.topBooks.map((t: any) => [t.book.isbn, t.loans])).toEqual(o.topBooks(first, from, to));
        expect(matrix.data.borrowingMatrix.map((c: any) => [c.homeBranch.id, c.lendingBranch.id, c.loans])).toEqual(o.matrix(from, to));
      }),
      { numRuns: 30 },
    );
    // The generator reaches empty periods too (short ones before or between loans).
    expect(empty).toBeGreaterThan(0);
  }, 300_000);

  it('an empty period and a period of one millisecond that holds a loan', async () => {
    const o = oracle(raw);
    const loan = raw.loans[7];
    for (const [from, to] of [[span[0] - 10 * DAY, span[0] - 9 * DAY], [loan.borrowedAt, loan.borrowedAt + 1]]) {
      for (const g of ['BRANCH', 'BOOK', 'MONTH', 'HOME_BRANCH'] as const) {
        const res = await chain.query(CIRCULATION, { from: iso(from), to: iso(to), g });
        expect(res.data.circulation).toEqual(o.circulation(from, to, g));
      }
    }
    expect(o.circulation(loan.borrowedAt, loan.borrowedAt + 1, 'BRANCH').reduce((n, r) => n + r.opened, 0)).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('topBooks without a period and its default page stay as they were', async () => {
    const o = oracle(raw);
    const res = await chain.query('{ topBooks { book { isbn } loans } }');
    expect(res.data.topBooks.map((t: any) => [t.book.isbn, t.loans])).toEqual(o.topBooks(10));
  });

  it('systemStats and every page of overdueReport equal the oracle', async () => {
    const now = Date.now();
    const o = oracle(raw);
    const stats = await chain.query(STATS);
    expect(stats.errors).toBeUndefined();
    expect(stats.data.systemStats).toEqual(o.stats(now));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100 }), async (first) => {
        const seen: unknown[] = [];
        let after: string | null = null;
        let total = 0;
        for (;;) {
          const res: any = await chain.query(OVERDUE, { first, after });
          expect(res.errors).toBeUndefined();
          total = res.data.overdueReport.totalCount;
          seen.push(...res.data.overdueReport.edges.map((e: any) => [e.node.loan.id, e.node.daysOverdue]));
          if (!res.data.overdueReport.pageInfo.hasNextPage) break;
          after = res.data.overdueReport.pageInfo.endCursor;
        }
        const expected = o.overdue(now);
        expect(seen).toEqual(expected);
        expect(total).toBe(expected.length);
      }),
      { numRuns: 3 },
    );
  }, 180_000);

  it('SQL statements per site per report do not grow with the data, and a site sends one item per group', async () => {
    const loansStatements = (id: string) => chain.metric(chain.sites.get(id)!.url, 'libfed_site_sql_statements_total', { subgraph: 'loans' });
    const ids = chain.config.sites.map((s) => s.id);
    const count = async (query: string, variables: Record<string, unknown>) => {
      const before = await Promise.all(ids.map(loansStatements));
      const res = await chain.query(query, variables);
      expect(res.errors).toBeUndefined();
      const after = await Promise.all(ids.map(loansStatements));
      return after.map((n, i) => n - before[i]);
    };
    // A day and the whole span (3,000 loans): different periods each time, so no cached answer hides a statement.
    const day = { from: iso(span[0] + 100 * DAY), to: iso(span[0] + 101 * DAY) };
    const all = { from: iso(span[0]), to: iso(span[1]) };
    for (const [query, extra, perSite] of [
      [CIRCULATION, { g: 'BRANCH' }, 1],
      [CIRCULATION, { g: 'MONTH' }, 1],
      [TOP, { first: 5 }, 1],
    ] as const) {
      expect(await count(query, { ...day, ...extra })).toEqual(ids.map(() => perSite));
      expect(await count(query, { ...all, ...extra })).toEqual(ids.map(() => perSite));
    }
    // Placing other branches' readers costs one more statement per site, however many readers.
    expect(await count(CIRCULATION, { ...all, g: 'HOME_BRANCH' })).toEqual(ids.map(() => 2));
    expect(await count(MATRIX, all)).toEqual(ids.map(() => 2));

    const bytes = await reportBytes(chain.siteFetch, chain.sites.get(ids[0])!.url, all);
    const items = Object.fromEntries(bytes.map((b) => [b.report, b.items]));
    expect(items.circulationByBranch).toBe(1);
    expect(items.systemStats).toBe(1);
    expect(items.circulationByMonth).toBeLessThanOrEqual(14);
    expect(items.circulationByBook).toBeLessThanOrEqual(raw.titles.size);
    expect(items.borrowingMatrix).toBeLessThanOrEqual(raw.readers.size + ids.length);
  }, 120_000);

  it('bad arguments are coded, and librarians read their own branch only', async () => {
    const codes = async (query: string, variables: Record<string, unknown>, as: string | null = 'quanly') => (await chain.query(query, variables, undefined, as)).errors?.map((e: any) => e.extensions.code);
    expect(await codes(CIRCULATION, { from: '2026-02-01T00:00:00Z', to: '2026-02-01T00:00:00Z', g: 'BRANCH' })).toEqual(['INVALID_PERIOD']);
    expect(await codes(CIRCULATION, { from: '2026-03-01T00:00:00Z', to: '2026-02-01T00:00:00Z', g: 'MONTH' })).toEqual(['INVALID_PERIOD']);
    expect(await codes(MATRIX, { from: '1 March 2026', to: '2026-04-01T00:00:00Z' })).toEqual(['INVALID_PERIOD']);
    expect(await codes(TOP, { first: 101 })).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
    expect(await codes(OVERDUE, { first: -1 })).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
    expect(await codes('{ systemStats(branchId: "Q9") { totals { copies } } }', {})).toEqual(['UNKNOWN_BRANCH']);
    expect(await codes(OVERDUE, { first: 5, after: 'not-a-cursor' })).toContain('INVALID_CURSOR');
    expect(await codes(STATS, {}, null)).toEqual(['UNAUTHENTICATED']);
    expect(await codes(STATS, {}, 'thuthu_q1')).toEqual(['FORBIDDEN']);
    expect(await codes('{ systemStats(branchId: "Q3") { totals { copies } } }', {}, 'thuthu_q1')).toEqual(['FORBIDDEN']);
    expect(await codes('query($b: ID) { overdueReport(branchId: $b) { totalCount } }', { b: 'Q3' }, 'thuthu_q1')).toEqual(['FORBIDDEN']);
    const own = await chain.query('{ systemStats(branchId: "Q1") { totals { copies } perBranch { branch { id } } } }', {}, undefined, 'thuthu_q1');
    expect(own.errors).toBeUndefined();
    expect(own.data.systemStats.perBranch).toEqual([{ branch: { id: 'Q1' } }]);
    expect(own.data.systemStats.totals.copies).toBe(raw.copies.filter((c) => c.branch === 'Q1').length);
    const mine = await chain.query('query($f: DateTime!, $t: DateTime!) { circulation(from: $f, to: $t, groupBy: BRANCH, branchId: "Q1") { key opened } }', { f: iso(span[0]), t: iso(span[1]) }, undefined, 'thuthu_q1');
    expect(mine.data.circulation.map((r: any) => r.key)).toEqual(['Q1']);
  }, 60_000);

  it('with one site down, every report answers the other sites\' figures and BRANCH_UNAVAILABLE naming it', async () => {
    const down = chain.config.sites[chain.config.sites.length - 1].id;
    await chain.sites.get(down)!.stop();
    try {
      const o = oracle(raw, [down]);
      const all = { from: iso(span[0] + DAY), to: iso(span[1] - DAY) };
      const [from, to] = [Date.parse(all.from), Date.parse(all.to)];
      const unavailable = (res: any) => res.errors?.filter((e: any) => e.extensions.code === 'BRANCH_UNAVAILABLE').map((e: any) => e.extensions.site);
      for (const g of ['BRANCH', 'BOOK', 'MONTH', 'HOME_BRANCH'] as const) {
        const res = await chain.query(CIRCULATION, { ...all, g });
        expect(unavailable(res)).toEqual([down]);
        expect(res.data.circulation).toEqual(o.circulation(from, to, g));
      }
      const matrix = await chain.query(MATRIX, all);
      expect(unavailable(matrix)).toEqual([down]);
      expect(matrix.data.borrowingMatrix.map((c: any) => [c.homeBranch.id, c.lendingBranch.id, c.loans])).toEqual(o.matrix(from, to));
      const top = await chain.query(TOP, { ...all, first: 20 });
      expect(unavailable(top)).toEqual([down]);
      expect(top.data.topBooks.map((t: any) => [t.book.isbn, t.loans])).toEqual(o.topBooks(20, from, to));
      // Under another response key: the complete answer cached before the site went down is another variant.
      const now = Date.now();
      const stats = await chain.query(STATS.replace('systemStats', 'withoutOne: systemStats'));
      expect(unavailable(stats)).toEqual([down]);
      expect(stats.data.withoutOne).toEqual(o.stats(now));
      const overdue = await chain.query(OVERDUE, { first: 100 });
      expect(unavailable(overdue)).toEqual([down]);
      expect(overdue.data.overdueReport.totalCount).toBe(o.overdue(now).length);
    } finally {
      await chain.restartSite(down);
    }
  }, 120_000);
});

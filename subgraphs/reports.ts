import { LOAN_ID, loanId, localLoanSeq } from '../contracts';
import { libfedError, parsePeriod } from '../schema';
import { COPY_STATUS, sql, type Sql } from '../sql';
import type { SiteContext } from './context';
import { connection, cursorScope, decodeCursor, emptyConnection, pageSize } from './paging';

/**
 * The managers' reports, each computed here as SQL aggregation over this
 * site's own fragment, one statement per report whatever the data size; the
 * gateway merges the sites' groups (docs/ARCHITECTURE.md §3 rule 1: SUM,
 * TOPK, GROUPS). What a site sends is one item per group it holds, never a row
 * per loan.
 */

/** [from, to) as instants, or the INVALID_PERIOD error thrown. */
export function period(from: unknown, to: unknown): { from?: Date; to?: Date } {
  const parsed = parsePeriod(from, to);
  if ('message' in parsed) throw libfedError('INVALID_PERIOD', parsed.message, { argument: parsed.extensions.argument });
  return parsed;
}

function required(from: unknown, to: unknown): { from: Date; to: Date } {
  const p = period(from, to);
  if (!p.from || !p.to) throw libfedError('INVALID_PERIOD', 'from and to are both required', { argument: p.from ? 'to' : 'from' });
  return { from: p.from, to: p.to };
}

const otherBranch = (ctx: SiteContext, branchId: string | null | undefined) => Boolean(branchId) && branchId !== ctx.siteId;
const branchRef = (id: string | null) => ({ __typename: 'Branch', id: id ?? '' });

interface StatsRow { books_held: number; catalogue: number; copies: number; available: number; readers: number; open_loans: number; overdue: number }

/** This branch's figures; `totals` is the same row, except that a chain-wide `books` counts the catalogue (the gateway takes it once). */
async function systemStats(ctx: SiteContext, args: { branchId?: string | null }) {
  if (otherBranch(ctx, args.branchId)) return { totals: emptyStats(), perBranch: [] };
  const [row] = await ctx.db.query<StatsRow>(sql`SELECT
    (SELECT COUNT(DISTINCT ISBN) FROM QUYENSACH) AS books_held,
    (SELECT COUNT(*) FROM SACH) AS catalogue,
    (SELECT COUNT(*) FROM QUYENSACH) AS copies,
    (SELECT COUNT(*) FROM QUYENSACH WHERE TinhTrang = ${COPY_STATUS.AVAILABLE}) AS available,
    (SELECT COUNT(*) FROM DOCGIA) AS readers,
    (SELECT COUNT(*) FROM PHIEUMUON WHERE NgayTra IS NULL) AS open_loans,
    (SELECT COUNT(*) FROM PHIEUMUON WHERE NgayTra IS NULL AND HanTra < ${ctx.now}) AS overdue`);
  const figures = {
    copies: Number(row.copies),
    availableCopies: Number(row.available),
    readers: Number(row.readers),
    openLoans: Number(row.open_loans),
    overdueLoans: Number(row.overdue),
  };
  const branch = { branch: branchRef(ctx.siteId), books: Number(row.books_held), ...figures };
  return { totals: { ...branch, branch: null, books: args.branchId ? branch.books : Number(row.catalogue) }, perBranch: [branch] };
}

function emptyStats() {
  return { branch: null, books: 0, copies: 0, availableCopies: 0, readers: 0, openLoans: 0, overdueLoans: 0 };
}

type Grouping = 'BRANCH' | 'BOOK' | 'MONTH' | 'HOME_BRANCH';

/** Per grouping: the key of an opened and of a returned loan, the joins they need, and where the label comes from. */
function grouping(ctx: SiteContext, groupBy: Grouping) {
  const d = ctx.db.dialect;
  const none = sql`CAST(NULL AS ${d.types.varchar(20)})`;
  switch (groupBy) {
    case 'BRANCH':
      return { opened: sql`p.MaCN`, returned: sql`p.MaCN`, reader: none, joins: sql``, labelJoin: sql`LEFT JOIN CHINHANH c ON c.MaCN = t.k`, label: sql`MAX(c.TenCN)` };
    case 'BOOK':
      // Slips written before LibFed carry no ISBN: their copy, still held here, tells it (as topBooks).
      return {
        opened: sql`COALESCE(p.ISBN, q.ISBN)`,
        returned: sql`COALESCE(p.ISBN, q.ISBN)`,
        reader: none,
        joins: sql`LEFT JOIN QUYENSACH q ON q.MaQuyenSach = p.MaQuyenSach`,
        labelJoin: sql`LEFT JOIN SACH s ON s.ISBN = t.k`,
        label: sql`MAX(s.TenSach)`,
      };
    case 'MONTH':
      return { opened: d.utcMonth(sql`p.NgayMuon`), returned: d.utcMonth(sql`p.NgayTra`), reader: none, joins: sql``, labelJoin: sql``, label: sql`MAX(t.k)` };
    case 'HOME_BRANCH':
      // Readers of this branch are placed here; any other reader is named once, for the gateway to place.
      return {
        opened: sql`d.MaCN_DangKy`,
        returned: sql`d.MaCN_DangKy`,
        reader: sql`CASE WHEN d.MaDG IS NULL THEN p.MaDG ELSE NULL END`,
        joins: sql`LEFT JOIN DOCGIA d ON d.MaDG = p.MaDG`,
        labelJoin: sql`LEFT JOIN CHINHANH c ON c.MaCN = t.k`,
        label: sql`MAX(c.TenCN)`,
      };
  }
}

interface CirculationArgs { from: string; to: string; groupBy: Grouping; branchId?: string | null }

/** Loans opened in [from, to) and loans returned in [from, to), per group, in one statement. */
async function circulation(ctx: SiteContext, args: CirculationArgs) {
  const { from, to } = required(args.from, args.to);
  if (otherBranch(ctx, args.branchId)) return [];
  const g = grouping(ctx, args.groupBy);
  const rows = await ctx.db.query<{ gkey: string | null; reader_id: string | null; label: string | null; opened: number; returned: number }>(sql`
    SELECT t.k AS gkey, t.rdr AS reader_id, ${g.label} AS label, SUM(t.o) AS opened, SUM(t.r) AS returned
    FROM (SELECT ${g.opened} AS k, ${g.reader} AS rdr, 1 AS o, 0 AS r FROM PHIEUMUON p ${g.joins}
          WHERE p.NgayMuon >= ${from} AND p.NgayMuon < ${to}
          UNION ALL
          SELECT ${g.returned} AS k, ${g.reader} AS rdr, 0 AS o, 1 AS r FROM PHIEUMUON p ${g.joins}
          WHERE p.NgayTra >= ${from} AND p.NgayTra < ${to}) t ${g.labelJoin}
    WHERE t.k IS NOT NULL OR t.rdr IS NOT NULL
    GROUP BY t.k, t.rdr`);
  return rows.map((row) => ({
    key: row.gkey ?? '',
    label: row.reader_id ? null : row.label,
    opened: Number(row.opened),
    returned: Number(row.returned),
    unresolvedReader: row.reader_id,
  }));
}

/** Loans made here in [from, to), by the reader's home branch (placed here for this branch's readers, else by the gateway). */
async function borrowingMatrix(ctx: SiteContext, args: { from: string; to: string; branchId?: string | null }) {
  const { from, to } = required(args.from, args.to);
  if (otherBranch(ctx, args.branchId)) return [];
  const rows = await ctx.db.query<{ lending: string; home: string | null; reader_id: string | null; loans: number }>(sql`
    SELECT t.lending AS lending, t.home AS home, t.rdr AS reader_id, COUNT(*) AS loans
    FROM (SELECT p.MaCN AS lending, d.MaCN_DangKy AS home, CASE WHEN d.MaDG IS NULL THEN p.MaDG ELSE NULL END AS rdr
          FROM PHIEUMUON p LEFT JOIN DOCGIA d ON d.MaDG = p.MaDG
          WHERE p.NgayMuon >= ${from} AND p.NgayMuon < ${to}) t
    GROUP BY t.lending, t.home, t.rdr`);
  return rows.map((row) => ({ homeBranch: branchRef(row.home), lendingBranch: branchRef(row.lending), loans: Number(row.loans), unresolvedReader: row.reader_id }));
}

/** Between the gateway and a site: which of `ids` are registered here, with their branch's name. One statement for any number of ids. */
async function readerHomes(ctx: SiteContext, args: { ids: string[] }) {
  if (!args.ids.length) return [];
  const rows = await ctx.db.query<{ reader: string; branch: string; branch_name: string }>(sql`
    SELECT d.MaDG AS reader, d.MaCN_DangKy AS branch, c.TenCN AS branch_name
    FROM DOCGIA d JOIN CHINHANH c ON c.MaCN = d.MaCN_DangKy
    WHERE d.MaDG IN ${ctx.db.dialect.jsonStrings(JSON.stringify(args.ids))}`);
  return rows.map((row) => ({ reader: row.reader, branch: row.branch, branchName: row.branch_name }));
}

interface OverdueRow { seq: number; reader_id: string; copy_id: string; branch_id: string; borrowed_at: Date; due_at: Date; returned_at: Date | null }

const DAY_MS = 24 * 60 * 60 * 1000;

/** Keyset condition "sorts after (dueAt, id)" in (dueAt ASC, id ASC) order, for this site's ids (as loans' afterCursor, ascending). */
function afterOverdue(ctx: SiteContext, cursor: string, scope: string): Sql {
  const [t, id] = decodeCursor(cursor, ['string', 'string'], scope) as [string, string];
  const at = new Date(t);
  const year = at.getUTCFullYear();
  const siteOf = LOAN_ID.exec(id)?.[1];
  if (Number.isNaN(at.getTime()) || year < 1 || year > 9999 || !siteOf || localLoanSeq(siteOf, id) === null) {
    throw libfedError('INVALID_CURSOR', `after must be a cursor returned by overdueReport with the same branchId (pageInfo.endCursor), got "${cursor.slice(0, 80)}"`);
  }
  const prefix = `${ctx.siteId}-`;
  const seq = localLoanSeq(ctx.siteId, id);
  // This site's ids sort as one block against an id of another site.
  const idAfter = seq !== null ? sql`MaPM > ${seq}` : prefix > id.slice(0, prefix.length) ? sql`1 = 1` : sql`1 = 0`;
  return sql`(HanTra > ${at} OR (HanTra = ${at} AND ${idAfter}))`;
}

/** Open loans past due here, most overdue (earliest due) first, ties by loan id. */
async function overdueReport(ctx: SiteContext, args: { branchId?: string | null; first?: number | null; after?: string | null }) {
  const first = pageSize(args.first);
  const scope = cursorScope('overdueReport', { branchId: args.branchId });
  if (otherBranch(ctx, args.branchId)) return emptyConnection(args.after);
  const overdue = sql`NgayTra IS NULL AND HanTra < ${ctx.now}`;
  const after = args.after ? afterOverdue(ctx, args.after, scope) : sql`1 = 1`;
  const rows = await ctx.db.query<OverdueRow>(sql`SELECT MaPM AS seq, MaDG AS reader_id, MaQuyenSach AS copy_id, MaCN AS branch_id,
      NgayMuon AS borrowed_at, HanTra AS due_at, NgayTra AS returned_at
    FROM PHIEUMUON WHERE ${overdue} AND ${after} ORDER BY HanTra ASC, MaPM ASC ${ctx.db.dialect.limit(first + 1)}`);
  const page = connection(
    rows,
    first,
    scope,
    (row) => [row.due_at.toISOString(), loanId(row.branch_id, row.seq)],
    async () => {
      const [row] = await ctx.db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM PHIEUMUON WHERE ${overdue}`);
      return Number(row.n);
    },
    args.after,
  );
  const now = ctx.now.getTime();
  return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: { loan: e.node, daysOverdue: Math.floor((now - e.node.due_at.getTime()) / DAY_MS) } })) };
}

/** `topBooks`' period: none, or [from, to) (either end may be open). */
export function loanPeriod(args: { from?: string | null; to?: string | null }): Sql {
  const { from, to } = period(args.from, args.to);
  const parts = [sql`1 = 1`];
  if (from) parts.push(sql`p.NgayMuon >= ${from}`);
  if (to) parts.push(sql`p.NgayMuon < ${to}`);
  return parts.reduce((a, b) => sql`${a} AND ${b}`);
}

export const reportResolvers = {
  Query: {
    systemStats: (_: unknown, args: { branchId?: string | null }, ctx: SiteContext) => systemStats(ctx, args),
    circulation: (_: unknown, args: CirculationArgs, ctx: SiteContext) => circulation(ctx, args),
    borrowingMatrix: (_: unknown, args: { from: string; to: string; branchId?: string | null }, ctx: SiteContext) => borrowingMatrix(ctx, args),
    overdueReport: (_: unknown, args: { branchId?: string | null; first?: number | null; after?: string | null }, ctx: SiteContext) => overdueReport(ctx, args),
    readerHomes: (_: unknown, args: { ids: string[] }, ctx: SiteContext) => readerHomes(ctx, args),
  },
};



import { LOAN_ID, loanId, localLoanSeq } from '../contracts';
import { libfedError } from '../schema';
import { inChunks, raw, sql, list, type Sql } from '../sql';
import { listLoader, loader, type SiteContext } from './context';
import { connection, cursorScope, decodeCursor, pageSize } from './paging';
import { loanPeriod, reportResolvers } from './reports';

/** loans subgraph: the loan slips written at this site, per reader and per copy lists, and reports. */

interface LoanRow {
  seq: number;
  reader_id: string;
  copy_id: string;
  branch_id: string;
  borrowed_at: Date;
  due_at: Date;
  returned_at: Date | null;
}

const LOAN_COLUMNS = sql`MaPM AS seq, MaDG AS reader_id, MaQuyenSach AS copy_id, MaCN AS branch_id,
  NgayMuon AS borrowed_at, HanTra AS due_at, NgayTra AS returned_at`;
const NEWEST_FIRST = sql`ORDER BY NgayMuon DESC, MaPM DESC`;

const loanBySeq = (ctx: SiteContext) =>
  loader(ctx, 'loanBySeq', (seqs) => inChunks<LoanRow, number>(ctx.db, seqs.map(Number), (chunk) => sql`SELECT ${LOAN_COLUMNS} FROM PHIEUMUON WHERE MaPM IN ${list(chunk)}`), (row) => String(row.seq));

function openFilter(open: boolean | null | undefined): Sql {
  if (open === true) return sql`NgayTra IS NULL`;
  if (open === false) return sql`NgayTra IS NOT NULL`;
  return sql`1 = 1`;
}

/** Key `open|readerId`: one statement per distinct `open` value in a batch. */
function loansBy(ctx: SiteContext, column: 'MaDG' | 'MaQuyenSach', key: 'reader_id' | 'copy_id') {
  return listLoader(
    ctx,
    `loansBy:${column}`,
    async (keys) => {
      const groups = new Map<string, string[]>();
      for (const k of keys) {
        const bar = k.indexOf('|');
        const open = k.slice(0, bar);
        groups.set(open, [...(groups.get(open) ?? []), k.slice(bar + 1)]);
      }
      const results = await Promise.all(
        [...groups].map(async ([open, ids]) => {
          const rows = await inChunks<LoanRow, string>(ctx.db, ids, (chunk) => sql`SELECT ${LOAN_COLUMNS} FROM PHIEUMUON
            WHERE ${raw(column)} IN ${list(chunk, 'varchar')} AND ${openFilter(open === 'null' ? null : open === 'true')} ${NEWEST_FIRST}`);
          return rows.map((row) => ({ row, key: `${open}|${row[key]}` }));
        }),
      );
      return results.flat();
    },
    (entry) => entry.key,
  );
}

interface LoansArgs { branchId?: string | null; readerId?: string | null; open?: boolean | null; overdue?: boolean | null; first?: number | null; after?: string | null }

/** Keyset condition "sorts after (t, id)" in (borrowedAt DESC, id DESC) order, for this site's ids. */
function afterCursor(ctx: SiteContext, cursor: string, scope: string): Sql {
  const [t, id] = decodeCursor(cursor, ['string', 'string'], scope) as [string, string];
  const at = new Date(t);
  // Only instants and loan ids this list could have produced: anything else would reach SQL as an error.
  const year = at.getUTCFullYear();
  const siteOf = LOAN_ID.exec(id)?.[1];
  if (Number.isNaN(at.getTime()) || year < 1 || year > 9999 || !siteOf || localLoanSeq(siteOf, id) === null) {
    throw libfedError('INVALID_CURSOR', `after must be a cursor returned by loans with the same filters (pageInfo.endCursor), got "${cursor.slice(0, 80)}"`);
  }
  const prefix = `${ctx.siteId}-`;
  const seq = localLoanSeq(ctx.siteId, id);
  // Ids of this site compare with `id` as one block unless `id` is also from this site.
  const idBefore =
    seq !== null ? sql`MaPM < ${seq}` : prefix < id.slice(0, prefix.length) ? sql`1 = 1` : sql`1 = 0`;
  return sql`(NgayMuon < ${at} OR (NgayMuon = ${at} AND ${idBefore}))`;
}

function loanFilters(ctx: SiteContext, args: LoansArgs): Sql {
  const now = ctx.now;
  const parts = [openFilter(args.open)];
  if (args.readerId) parts.push(sql`MaDG = ${args.readerId}`);
  if (args.overdue === true) parts.push(sql`(NgayTra IS NULL AND HanTra < ${now})`);
  if (args.overdue === false) parts.push(sql`NOT (NgayTra IS NULL AND HanTra < ${now})`);
  return parts.reduce((a, b) => sql`${a} AND ${b}`);
}

async function loans(ctx: SiteContext, args: LoansArgs) {
  const first = pageSize(args.first);
  const d = ctx.db.dialect;
  const filters = args.branchId && args.branchId !== ctx.siteId ? sql`1 = 0` : loanFilters(ctx, args);
  const scope = cursorScope('loans', { branchId: args.branchId, readerId: args.readerId, open: args.open, overdue: args.overdue });
  const after = args.after ? afterCursor(ctx, args.after, scope) : sql`1 = 1`;
  const rows = await ctx.db.query<LoanRow>(sql`SELECT ${LOAN_COLUMNS} FROM PHIEUMUON
    WHERE ${filters} AND ${after} ${NEWEST_FIRST} ${d.limit(first + 1)}`);
  return connection(
    rows,
    first,
    scope,
    (row) => [row.borrowed_at.toISOString(), loanId(row.branch_id, row.seq)],
    async () => {
      const [row] = await ctx.db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM PHIEUMUON WHERE ${filters}`);
      return Number(row.n);
    },
    args.after,
  );
}

async function loanStats(ctx: SiteContext, args: { branchId?: string | null }) {
  if (args.branchId && args.branchId !== ctx.siteId) return { total: 0, open: 0, overdue: 0 };
  const [row] = await ctx.db.query<{ total: number; open_count: number; overdue: number }>(sql`
    SELECT COUNT(*) AS total,
           COALESCE(SUM(CASE WHEN NgayTra IS NULL THEN 1 ELSE 0 END), 0) AS open_count,
           COALESCE(SUM(CASE WHEN NgayTra IS NULL AND HanTra < ${ctx.now} THEN 1 ELSE 0 END), 0) AS overdue
    FROM PHIEUMUON`);
  return { total: Number(row.total), open: Number(row.open_count), overdue: Number(row.overdue) };
}

/** Every book's loan count at this site: the gateway sums over sites, then keeps the top `first`. */
interface TopBooksArgs { branchId?: string | null; first?: number | null; from?: string | null; to?: string | null }

async function topBooks(ctx: SiteContext, args: TopBooksArgs) {
  const during = loanPeriod(args);
  if (args.branchId && args.branchId !== ctx.siteId) return [];
  const limit = args.first === null || args.first === undefined ? sql`` : ctx.db.dialect.limit(pageSize(args.first));
  // Slips written before LibFed carry no ISBN: their copy, still held here, tells it.
  const rows = await ctx.db.query<{ isbn: string; loans: number }>(sql`
    SELECT t.isbn AS isbn, COUNT(*) AS loans
    FROM (SELECT COALESCE(p.ISBN, q.ISBN) AS isbn
          FROM PHIEUMUON p LEFT JOIN QUYENSACH q ON q.MaQuyenSach = p.MaQuyenSach WHERE ${during}) t
    WHERE t.isbn IS NOT NULL
    GROUP BY t.isbn ORDER BY COUNT(*) DESC, t.isbn ${ctx.db.dialect.binaryCollation} ${limit}`);
  return rows.map((row) => ({ book: { __typename: 'Book', isbn: row.isbn }, loans: Number(row.loans) }));
}

export const loansResolvers = {
  Query: {
    loan: (_: unknown, args: { id: string }, ctx: SiteContext) => {
      const seq = localLoanSeq(ctx.siteId, args.id);
      return seq === null ? null : loanBySeq(ctx).load(String(seq));
    },
    loans: (_: unknown, args: LoansArgs, ctx: SiteContext) => loans(ctx, args),
    loanStats: (_: unknown, args: { branchId?: string | null }, ctx: SiteContext) => loanStats(ctx, args),
    topBooks: (_: unknown, args: TopBooksArgs, ctx: SiteContext) => topBooks(ctx, args),
    ...reportResolvers.Query,
  },
  Loan: {
    __resolveReference: (ref: { id: string }, ctx: SiteContext) => {
      const seq = localLoanSeq(ctx.siteId, ref.id);
      return seq === null ? null : loanBySeq(ctx).load(String(seq));
    },
    id: (loan: LoanRow) => loanId(loan.branch_id, loan.seq),
    reader: (loan: LoanRow) => ({ __typename: 'Reader', id: loan.reader_id }),
    copy: (loan: LoanRow) => ({ __typename: 'Copy', id: loan.copy_id }),
    branch: (loan: LoanRow) => ({ __typename: 'Branch', id: loan.branch_id }),
    borrowedAt: (loan: LoanRow) => loan.borrowed_at.toISOString(),
    dueAt: (loan: LoanRow) => loan.due_at.toISOString(),
    returnedAt: (loan: LoanRow) => loan.returned_at?.toISOString() ?? null,
    overdue: (loan: LoanRow, _: unknown, ctx: SiteContext) => loan.returned_at === null && loan.due_at < ctx.now,
  },
  Reader: {
    __resolveReference: (ref: { id: string }) => ref,
    loans: async (reader: { id: string }, args: { open?: boolean | null }, ctx: SiteContext) =>
      (await loansBy(ctx, 'MaDG', 'reader_id').load(`${args.open ?? null}|${reader.id}`)).map((e) => e.row),
  },
  Copy: {
    __resolveReference: (ref: { id: string }) => ref,
    loans: async (copy: { id: string }, _: unknown, ctx: SiteContext) =>
      (await loansBy(ctx, 'MaQuyenSach', 'copy_id').load(`null|${copy.id}`)).map((e) => e.row),
  },
};

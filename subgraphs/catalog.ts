import { inChunks, list, sql } from '../sql';
import { loader, type SiteContext } from './context';
import { cursorScope, pageByTextAndId, pageSize } from './paging';

/** catalog subgraph: branches and books, fully replicated — this site answers from its own replica. */

interface BranchRow { id: string; name: string; address: string }
interface BookRow { isbn: string; title: string; author: string; version: number }
/** A staff account as a subgraph shows it: never its password hash. */
interface StaffRow { username: string; role: string; branch_id: string | null; disabled: number }

const STAFF_COLUMNS = sql`username, role, branch_id, disabled`;
const staffByName = (ctx: SiteContext) =>
  loader(ctx, 'staffByName', (names) => inChunks<StaffRow, string>(ctx.db, names, (chunk) => sql`SELECT ${STAFF_COLUMNS} FROM libfed_staff WHERE username IN ${list(chunk, 'nvarchar')}`), (row) => row.username);

const branchById = (ctx: SiteContext) =>
  loader(
    ctx,
    'branchById',
    (ids) => inChunks<BranchRow, string>(ctx.db, ids, (chunk) => sql`SELECT MaCN AS id, TenCN AS name, DiaChi AS address FROM CHINHANH WHERE MaCN IN ${list(chunk, 'varchar')}`),
    (row) => row.id,
  );

export const bookByIsbn = (ctx: SiteContext) =>
  loader(
    ctx,
    'bookByIsbn',
    (isbns) => inChunks<BookRow, string>(ctx.db, isbns, (chunk) => sql`SELECT ISBN AS isbn, TenSach AS title, TacGia AS author, version FROM SACH WHERE ISBN IN ${list(chunk, 'varchar')}`),
    (row) => row.isbn,
  );

async function books(ctx: SiteContext, args: { search?: string | null; first?: number | null; after?: string | null }) {
  const d = ctx.db.dialect;
  return pageByTextAndId<BookRow>(ctx.db, {
    select: sql`ISBN AS isbn, TenSach AS title, TacGia AS author, version`,
    from: sql`SACH`,
    where: args.search ? sql`(${d.contains(sql`TenSach`, args.search)} OR ${d.contains(sql`TacGia`, args.search)})` : sql`1 = 1`,
    text: sql`TenSach`,
    id: sql`ISBN`,
    first: pageSize(args.first),
    after: args.after,
    keyOf: (row) => [row.title, row.isbn],
    scope: cursorScope('books', { search: args.search }),
  });
}

export const catalogResolvers = {
  Query: {
    branches: (_: unknown, __: unknown, ctx: SiteContext) =>
      ctx.db.query<BranchRow>(sql`SELECT MaCN AS id, TenCN AS name, DiaChi AS address FROM CHINHANH ORDER BY MaCN`),
    branch: (_: unknown, args: { id: string }, ctx: SiteContext) => branchById(ctx).load(args.id),
    staffAccounts: (_: unknown, __: unknown, ctx: SiteContext) => ctx.db.query<StaffRow>(sql`SELECT ${STAFF_COLUMNS} FROM libfed_staff ORDER BY username`),
    staffAccount: (_: unknown, args: { username: string }, ctx: SiteContext) => staffByName(ctx).load(args.username),
    book: (_: unknown, args: { isbn: string }, ctx: SiteContext) => bookByIsbn(ctx).load(args.isbn),
    books: (_: unknown, args: Parameters<typeof books>[1], ctx: SiteContext) => books(ctx, args),
  },
  Branch: {
    __resolveReference: (ref: { id: string }, ctx: SiteContext) => branchById(ctx).load(ref.id),
  },
  Book: {
    __resolveReference: (ref: { isbn: string }, ctx: SiteContext) => bookByIsbn(ctx).load(ref.isbn),
  },
  StaffAccount: {
    __resolveReference: (ref: { username: string }, ctx: SiteContext) => staffByName(ctx).load(ref.username),
    branch: (row: StaffRow, _: unknown, ctx: SiteContext) => (row.branch_id ? branchById(ctx).load(row.branch_id) : null),
    disabled: (row: StaffRow) => Number(row.disabled) === 1,
  },
};

import { list, sql } from '../sql';
import { loader, type SiteContext } from './context';
import { connection, decodeCursor, pageSize } from './paging';

/** catalog subgraph: branches and books, fully replicated — this site answers from its own replica. */

interface BranchRow { id: string; name: string; address: string }
interface BookRow { isbn: string; title: string; author: string }

const branchById = (ctx: SiteContext) =>
  loader(
    ctx,
    'branchById',
    (ids) => ctx.db.query<BranchRow>(sql`SELECT MaCN AS id, TenCN AS name, DiaChi AS address FROM CHINHANH WHERE MaCN IN ${list(ids)}`),
    (row) => row.id,
  );

export const bookByIsbn = (ctx: SiteContext) =>
  loader(
    ctx,
    'bookByIsbn',
    (isbns) => ctx.db.query<BookRow>(sql`SELECT ISBN AS isbn, TenSach AS title, TacGia AS author FROM SACH WHERE ISBN IN ${list(isbns)}`),
    (row) => row.isbn,
  );

async function books(ctx: SiteContext, args: { search?: string | null; first?: number | null; after?: string | null }) {
  const first = pageSize(args.first);
  const d = ctx.db.dialect;
  const title = sql`TenSach ${d.binaryCollation}`;
  const isbn = sql`ISBN ${d.binaryCollation}`;
  const search = args.search ? sql`(${d.contains(sql`TenSach`, args.search)} OR ${d.contains(sql`TacGia`, args.search)})` : sql`1 = 1`;
  let after = sql`1 = 1`;
  if (args.after) {
    const [t, i] = decodeCursor(args.after, ['string', 'string']);
    after = sql`(${title} > ${t} OR (${title} = ${t} AND ${isbn} > ${i}))`;
  }
  const rows = await ctx.db.query<BookRow>(sql`
    SELECT ISBN AS isbn, TenSach AS title, TacGia AS author FROM SACH
    WHERE ${search} AND ${after}
    ORDER BY ${title}, ${isbn} ${d.limit(first + 1)}`);
  return connection(rows, first, (row) => [row.title, row.isbn], async () => {
    const [row] = await ctx.db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM SACH WHERE ${search}`);
    return Number(row.n);
  });
}

export const catalogResolvers = {
  Query: {
    branches: (_: unknown, __: unknown, ctx: SiteContext) =>
      ctx.db.query<BranchRow>(sql`SELECT MaCN AS id, TenCN AS name, DiaChi AS address FROM CHINHANH ORDER BY MaCN`),
    branch: (_: unknown, args: { id: string }, ctx: SiteContext) => branchById(ctx).load(args.id),
    book: (_: unknown, args: { isbn: string }, ctx: SiteContext) => bookByIsbn(ctx).load(args.isbn),
    books: (_: unknown, args: Parameters<typeof books>[1], ctx: SiteContext) => books(ctx, args),
  },
  Branch: {
    __resolveReference: (ref: { id: string }, ctx: SiteContext) => branchById(ctx).load(ref.id),
  },
  Book: {
    __resolveReference: (ref: { isbn: string }, ctx: SiteContext) => bookByIsbn(ctx).load(ref.isbn),
  },
};

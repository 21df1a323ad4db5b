import { list, sql } from '../sql';
import { loader, type SiteContext } from './context';
import { notHeldHere } from './location';
import { connection, decodeCursor, emptyConnection, pageSize } from './paging';

/** readers subgraph: the readers registered at this site's branch. */

interface ReaderRow { id: string; name: string; home_branch: string }

const READER_COLUMNS = sql`MaDG AS id, HoTen AS name, MaCN_DangKy AS home_branch`;

const readerById = (ctx: SiteContext) =>
  loader(ctx, 'readerById', (ids) => ctx.db.query<ReaderRow>(sql`SELECT ${READER_COLUMNS} FROM DOCGIA WHERE MaDG IN ${list(ids)}`), (row) => row.id);

async function findReader(ctx: SiteContext, id: string): Promise<ReaderRow | null> {
  return (await readerById(ctx).load(id)) ?? notHeldHere(ctx, 'Reader', id);
}

interface ReadersArgs { branchId?: string | null; search?: string | null; first?: number | null; after?: string | null }

async function readers(ctx: SiteContext, args: ReadersArgs) {
  const first = pageSize(args.first);
  if (args.branchId && args.branchId !== ctx.siteId) return emptyConnection<ReaderRow>();
  const d = ctx.db.dialect;
  const name = sql`HoTen ${d.binaryCollation}`;
  const id = sql`MaDG ${d.binaryCollation}`;
  const search = args.search ? d.contains(sql`HoTen`, args.search) : sql`1 = 1`;
  let after = sql`1 = 1`;
  if (args.after) {
    const [n, i] = decodeCursor(args.after, ['string', 'string']);
    after = sql`(${name} > ${n} OR (${name} = ${n} AND ${id} > ${i}))`;
  }
  const rows = await ctx.db.query<ReaderRow>(sql`
    SELECT ${READER_COLUMNS} FROM DOCGIA WHERE ${search} AND ${after}
    ORDER BY ${name}, ${id} ${d.limit(first + 1)}`);
  return connection(rows, first, (row) => [row.name, row.id], async () => {
    const [row] = await ctx.db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM DOCGIA WHERE ${search}`);
    return Number(row.n);
  });
}

export const readersResolvers = {
  Query: {
    reader: (_: unknown, args: { id: string }, ctx: SiteContext) => findReader(ctx, args.id),
    readers: (_: unknown, args: ReadersArgs, ctx: SiteContext) => readers(ctx, args),
  },
  Reader: {
    __resolveReference: (ref: { id: string }, ctx: SiteContext) => findReader(ctx, ref.id),
    homeBranch: (reader: ReaderRow) => ({ __typename: 'Branch', id: reader.home_branch }),
  },
};

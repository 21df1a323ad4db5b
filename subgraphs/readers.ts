import { inChunks, list, sql } from '../sql';
import { loader, type SiteContext } from './context';
import { notHeldHere } from './location';
import { cursorScope, emptyConnection, pageByTextAndId, pageSize } from './paging';

/** readers subgraph: the readers registered at this site's branch. */

interface ReaderRow { id: string; name: string; home_branch: string; open_loans: number }

const READER_COLUMNS = sql`MaDG AS id, HoTen AS name, MaCN_DangKy AS home_branch, SoMuonDangMo AS open_loans`;

const readerById = (ctx: SiteContext) =>
  loader(ctx, 'readerById', (ids) => inChunks<ReaderRow, string>(ctx.db, ids, (chunk) => sql`SELECT ${READER_COLUMNS} FROM DOCGIA WHERE MaDG IN ${list(chunk, 'varchar')}`), (row) => row.id);

async function findReader(ctx: SiteContext, id: string): Promise<ReaderRow | null> {
  return (await readerById(ctx).load(id)) ?? notHeldHere(ctx, 'Reader', id);
}

interface ReadersArgs { branchId?: string | null; search?: string | null; first?: number | null; after?: string | null }

async function readers(ctx: SiteContext, args: ReadersArgs) {
  const first = pageSize(args.first);
  if (args.branchId && args.branchId !== ctx.siteId) return emptyConnection<ReaderRow>(args.after);
  return pageByTextAndId<ReaderRow>(ctx.db, {
    select: READER_COLUMNS,
    from: sql`DOCGIA`,
    where: args.search ? ctx.db.dialect.contains(sql`HoTen`, args.search) : sql`1 = 1`,
    text: sql`HoTen`,
    id: sql`MaDG`,
    first,
    after: args.after,
    keyOf: (row) => [row.name, row.id],
    scope: cursorScope('readers', { branchId: args.branchId, search: args.search }),
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
    openLoanCount: (reader: ReaderRow) => Number(reader.open_loans),
  },
};

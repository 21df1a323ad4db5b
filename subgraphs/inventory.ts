import { COPY_STATUS, inChunks, list, sql } from '../sql';
import { listLoader, loader, type SiteContext } from './context';
import { notHeldHere } from './location';

/** inventory subgraph: the copies this site holds, and per-book copy lists and availability for this site. */

interface CopyRow { id: string; isbn: string; branch_id: string; status: string }
interface AvailabilityRow { isbn: string; total: number; available: number }

const COPY_COLUMNS = sql`MaQuyenSach AS id, ISBN AS isbn, MaCN AS branch_id, TinhTrang AS status`;

const copyById = (ctx: SiteContext) =>
  loader(ctx, 'copyById', (ids) => inChunks<CopyRow, string>(ctx.db, ids, (chunk) => sql`SELECT ${COPY_COLUMNS} FROM QUYENSACH WHERE MaQuyenSach IN ${list(chunk, 'varchar')}`), (row) => row.id);

const copiesByIsbn = (ctx: SiteContext) =>
  listLoader(
    ctx,
    'copiesByIsbn',
    (isbns) => inChunks<CopyRow, string>(ctx.db, isbns, (chunk) => sql`SELECT ${COPY_COLUMNS} FROM QUYENSACH WHERE ISBN IN ${list(chunk, 'varchar')} ORDER BY MaQuyenSach ${ctx.db.dialect.binaryCollation}`),
    (row) => row.isbn,
  );

const availabilityByIsbn = (ctx: SiteContext) =>
  loader(
    ctx,
    'availabilityByIsbn',
    (isbns) =>
      inChunks<AvailabilityRow, string>(ctx.db, isbns, (chunk) => sql`
        SELECT ISBN AS isbn, COUNT(*) AS total,
               SUM(CASE WHEN TinhTrang = ${COPY_STATUS.AVAILABLE} THEN 1 ELSE 0 END) AS available
        FROM QUYENSACH WHERE ISBN IN ${list(chunk, 'varchar')} GROUP BY ISBN`),
    (row) => row.isbn,
  );

async function findCopy(ctx: SiteContext, id: string): Promise<CopyRow | null> {
  return (await copyById(ctx).load(id)) ?? notHeldHere(ctx, 'Copy', id);
}

export const inventoryResolvers = {
  Query: {
    copy: (_: unknown, args: { id: string }, ctx: SiteContext) => findCopy(ctx, args.id),
  },
  Copy: {
    __resolveReference: (ref: { id: string }, ctx: SiteContext) => findCopy(ctx, ref.id),
    book: (copy: CopyRow) => ({ __typename: 'Book', isbn: copy.isbn }),
    branch: (copy: CopyRow) => ({ __typename: 'Branch', id: copy.branch_id }),
    status: (copy: CopyRow) => (copy.status === COPY_STATUS.ON_LOAN ? 'ON_LOAN' : 'AVAILABLE'),
  },
  Book: {
    __resolveReference: (ref: { isbn: string }) => ref,
    copies: (book: { isbn: string }, args: { branchId?: string | null }, ctx: SiteContext) =>
      args.branchId && args.branchId !== ctx.siteId ? [] : copiesByIsbn(ctx).load(book.isbn),
    // One entry for this site's branch, even with no copies: the gateway concatenates one per branch.
    availability: async (book: { isbn: string }, _: unknown, ctx: SiteContext) => {
      const row = await availabilityByIsbn(ctx).load(book.isbn);
      return [{ branch: { __typename: 'Branch', id: ctx.siteId }, total: Number(row?.total ?? 0), available: Number(row?.available ?? 0) }];
    },
  },
};

import { expectTsql, recordingExecutor } from '../../sql/__tests__/tsql';
import { catalogResolvers } from '../catalog';
import type { SiteContext } from '../context';
import { inventoryResolvers } from '../inventory';
import { loansResolvers } from '../loans';
import { cursorScope, encodeCursor } from '../paging';
import { readersResolvers } from '../readers';
import { reportResolvers } from '../reports';

/**
 * The read path's statements as SQL Server would get them: the site resolvers
 * run against a recording executor on the mssql dialect, and each statement is
 * parsed as T-SQL (no SQL Server runs here).
 */
const ROW = {
  id: 'Q1-QS00001', name: 'Nguyễn Thị Lan', address: 'a', home_branch: 'Q1', open_loans: 1, isbn: '9786040000017', title: 'Số đỏ', author: 'a',
  version: 1, branch_id: 'Q1', status: 'Có sẵn', total: 2, available: 1, site: 'Q1', n: 3, seq: 7, reader_id: 'Q1-DG0001', copy_id: 'Q1-QS00001',
  borrowed_at: new Date('2026-05-01T00:00:00Z'), books_held: 2, catalogue: 9, copies: 3, readers: 4, gkey: 'Q1', label: 'x', opened: 1, returned: 0, lending: 'Q1', home: 'Q3', reader: 'Q3-DG0001', branch: 'Q3', branch_name: 'b', due_at: new Date('2026-05-15T00:00:00Z'), returned_at: null, loans: 4, open_count: 1, overdue: 0,
};

async function run(calls: (ctx: SiteContext) => Promise<unknown>[]): Promise<string[]> {
  const [db, texts] = recordingExecutor(ROW);
  const ctx: SiteContext = { siteId: 'Q1', db, now: new Date('2026-06-01T00:00:00Z'), loaders: new Map() };
  const results = await Promise.allSettled(calls(ctx));
  // Connections count only when totalCount is selected: select it.
  await Promise.allSettled(results.map((r) => (r.status === 'fulfilled' ? (r.value as { totalCount?: () => Promise<number> })?.totalCount?.() : undefined)));
  return texts;
}

const none = undefined as never;

describe('site read statements rendered for SQL Server', () => {
  it('catalog: branches, books by title with search and cursor, lookups', async () => {
    expectTsql(
      await run((ctx) => [
        catalogResolvers.Query.branches(none, none, ctx),
        catalogResolvers.Query.branch(none, { id: 'Q1' }, ctx),
        catalogResolvers.Query.books(none, { search: 'Kiều', first: 5, after: encodeCursor(['Số đỏ', '9786040000017'], cursorScope('books', { search: 'Kiều' })) }, ctx),
        catalogResolvers.Book.__resolveReference({ isbn: '9786040000017' }, ctx),
      ]),
    );
  });

  it('inventory: copies by id (and where they moved), per book, availability', async () => {
    expectTsql(
      await run((ctx) => [
        inventoryResolvers.Query.copy(none, { id: 'Q1-QS09999' }, ctx),
        Promise.resolve(inventoryResolvers.Book.copies({ isbn: '9786040000017' }, {}, ctx)),
        inventoryResolvers.Book.availability({ isbn: '9786040000017' }, none, ctx),
      ]),
    );
  });

  it('readers: lookups and the name-ordered page', async () => {
    expectTsql(
      await run((ctx) => [
        readersResolvers.Query.reader(none, { id: 'Q1-DG0001' }, ctx),
        readersResolvers.Query.readers(none, { search: 'Lan', first: 10, after: encodeCursor(['Nguyễn', 'Q1-DG0001'], cursorScope('readers', { branchId: undefined, search: 'Lan' })) }, ctx),
      ]),
    );
  });

  it('loans: pages with every filter and a cursor, per reader and copy, reports', async () => {
    expectTsql(
      await run((ctx) => [
        Promise.resolve(loansResolvers.Query.loan(none, { id: 'Q1-00000007' }, ctx)),
        loansResolvers.Query.loans(none, { readerId: 'Q1-DG0001', open: true, overdue: true, first: 10, after: encodeCursor(['2026-05-01T00:00:00.000Z', 'Q3-00000002'], cursorScope('loans', { branchId: undefined, readerId: 'Q1-DG0001', open: true, overdue: true })) }, ctx),
        loansResolvers.Query.loans(none, { open: false, overdue: false, first: 0 }, ctx),
        loansResolvers.Query.loanStats(none, {}, ctx),
        loansResolvers.Query.topBooks(none, { first: 3 }, ctx),
        loansResolvers.Query.topBooks(none, { first: null }, ctx),
        loansResolvers.Reader.loans({ id: 'Q1-DG0001' }, { open: true }, ctx),
        loansResolvers.Copy.loans({ id: 'Q1-QS00001' }, none, ctx),
      ]),
    );
  });

  it('reports: systemStats, circulation by every grouping, topBooks in a period, the matrix, overdue pages, reader homes', async () => {
    const period = { from: '2026-01-01T00:00:00Z', to: '2026-03-15T12:30:00.500+07:00' };
    const texts = await run((ctx) => [
        reportResolvers.Query.systemStats(none, {}, ctx),
        ...(['BRANCH', 'BOOK', 'MONTH', 'HOME_BRANCH'] as const).map((groupBy) => reportResolvers.Query.circulation(none, { ...period, groupBy }, ctx)),
        loansResolvers.Query.topBooks(none, { first: null, ...period }, ctx),
        reportResolvers.Query.borrowingMatrix(none, period, ctx),
        reportResolvers.Query.overdueReport(none, { first: 5 }, ctx),
        reportResolvers.Query.overdueReport(none, { first: 5, after: encodeCursor(['2026-05-01T00:00:00.000Z', 'Q3-00000002'], cursorScope('overdueReport', { branchId: undefined })) }, ctx),
        reportResolvers.Query.readerHomes(none, { ids: ['Q3-DG0001', 'DG00385'] }, ctx),
      ]);
    // One statement per report (the two overdue pages count too, since totalCount is selected): none was skipped by a throw.
    expect(texts).toHaveLength(12);
    expectTsql(texts);
  });
});

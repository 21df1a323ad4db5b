import { loanId } from '../../contracts';
import { COPY_STATUS, sql } from '../../sql';
import { migrationPlan } from '../../sql/adopt/plan';
import { recountOpenLoans } from '../../sql/adopt/recount';
import { applyPlan } from '../../sql/adopt/script';
import { createLegacyDatabase, instantOf, LEGACY_OFFSET_MINUTES, legacyData } from '../../sql/adopt/__tests__/legacy';
import { emptyDatabase, pgDescribe } from '../../sql/__tests__/databases';
import type { SiteContext } from '../context';
import { loansResolvers } from '../loans';
import { Participant } from '../participant/participant';

/**
 * The read path and the write path over a database the older application made, once
 * `libfed migrate` (and --recount) ran on it: the site serves it as one it created.
 */
pgDescribe('a site over an adopted older database (PostgreSQL)', () => {
  const data = legacyData('Q1');
  let site: Awaited<ReturnType<typeof emptyDatabase>>;
  const now = new Date('2026-06-01T00:00:00Z');
  const context = (): SiteContext => ({ siteId: 'Q1', db: site.db, now, loaders: new Map() });
  const counter = async (readerId: string) => Number((await site.db.query<{ n: number }>(sql`SELECT SoMuonDangMo AS n FROM DOCGIA WHERE MaDG = ${readerId}`))[0].n);
  const status = async (copyId: string) => (await site.db.query<{ s: string }>(sql`SELECT TinhTrang AS s FROM QUYENSACH WHERE MaQuyenSach = ${copyId}`))[0].s;

  beforeAll(async () => {
    site = await emptyDatabase('adopt');
    await createLegacyDatabase(site.db, 'Q1', data);
    await applyPlan(site.db, migrationPlan(site.db.dialect, 'Q1', { legacyOffsetMinutes: LEGACY_OFFSET_MINUTES }));
    await recountOpenLoans([{ id: 'Q1', db: site.db }]);
  });

  afterAll(async () => {
    await site?.drop();
  });

  it('pages of loans show every slip once, newest first, ties on the borrow time included', async () => {
    const seen: { id: string; borrowedAt: string }[] = [];
    let after: string | null = null;
    for (;;) {
      const page: Awaited<ReturnType<typeof loansResolvers.Query.loans>> = await loansResolvers.Query.loans(undefined, { first: 7, after }, context());
      seen.push(...page.edges.map((e) => ({ id: loanId(e.node.branch_id, e.node.seq), borrowedAt: e.node.borrowed_at.toISOString() })));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const expected = data.loans
      .map((l, i) => ({ id: loanId('Q1', i + 1), borrowedAt: instantOf(l.borrowedLocal).toISOString() }))
      .sort((a, b) => (a.borrowedAt === b.borrowedAt ? (a.id < b.id ? 1 : -1) : a.borrowedAt < b.borrowedAt ? 1 : -1));
    expect(new Set(expected.map((l) => l.borrowedAt)).size).toBeLessThan(expected.length);
    expect(seen).toEqual(expected);
  });

  it('a reader borrows a copy whose status was spelt oddly, and returns it', async () => {
    const participant = new Participant({ siteId: 'Q1', db: site.db });
    const copyId = data.copies[20].id; // 'có sẵn' before the migration
    const readerId = data.readers[5].id;
    const borrowed = await participant.local('Q1.adopt-borrow', [
      { kind: 'reader.reserveLoan', readerId, max: 5 },
      { kind: 'loan.open', copyId, readerId, at: now.toISOString(), dueAt: new Date(now.getTime() + 14 * 86_400_000).toISOString() },
    ]);
    // The id the insert itself generated: after every slip the older application wrote.
    expect(borrowed).toMatchObject({ outcome: 'COMMITTED', applied: expect.arrayContaining([{ entity: { type: 'Loan', id: loanId('Q1', data.loans.length + 1) } }]) });
    expect(await counter(readerId)).toBe(1);
    expect(await status(copyId)).toBe(COPY_STATUS.ON_LOAN);
    const returned = await participant.local('Q1.adopt-return', [
      { kind: 'loan.close', loanId: loanId('Q1', data.loans.length + 1), at: new Date(now.getTime() + 60_000).toISOString(), copyId },
      { kind: 'reader.releaseLoan', readerId },
    ]);
    expect(returned).toMatchObject({ outcome: 'COMMITTED' });
    expect(await counter(readerId)).toBe(0);
    expect(await status(copyId)).toBe(COPY_STATUS.AVAILABLE);
  });

  it("the recounted counters hold: a reader's older open loans count against the limit, and returning one counts down", async () => {
    const participant = new Participant({ siteId: 'Q1', db: site.db });
    const [first, second] = data.readers;
    expect(await counter(first.id)).toBe(2);
    expect(await participant.local('Q1.adopt-limit', [{ kind: 'reader.reserveLoan', readerId: first.id, max: 2 }])).toMatchObject({ vote: 'REFUSED', code: 'LOAN_LIMIT_REACHED' });
    // DG00002's one open loan is the last slip the older application wrote.
    const legacyLoan = loanId('Q1', data.loans.length);
    const copyId = data.loans[data.loans.length - 1].copyId;
    expect(await counter(second.id)).toBe(1);
    const returned = await participant.local('Q1.adopt-legacy-return', [
      { kind: 'loan.close', loanId: legacyLoan, at: now.toISOString(), copyId },
      { kind: 'reader.releaseLoan', readerId: second.id },
    ]);
    expect(returned).toMatchObject({ outcome: 'COMMITTED' });
    expect(await counter(second.id)).toBe(0);
    expect(await status(copyId)).toBe(COPY_STATUS.AVAILABLE);
  });
});

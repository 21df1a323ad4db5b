import { expectTsql, recordingExecutor } from '../../../sql/__tests__/tsql';
import { apply, check, locate, loanRow } from '../ops';
import type { Operation } from '../../../contracts';
import { Participant } from '../participant';

/**
 * The participant's statements as SQL Server would get them: every operation's
 * checks and writes and every protocol step run against a recording executor on
 * the mssql dialect, and each statement is parsed as T-SQL (no SQL Server runs
 * here; see sql/__tests__/mssql-tsql.test.ts for what the parser proves).
 */

/** Canned answers: one row with every column any participant query reads. */
const ROW = {
  status: 'Có sẵn', n: 0, isbn: '9786040000017', title: 't', author: 'a', seq: 7, reader_id: 'Q1-DG0001', copy_id: 'Q1-QS00001',
  returned_at: null, due_at: new Date('2099-01-01'), value: 3, id: 'Q1-DG0001', name: 'n', site: 'Q3', outcome: 'COMMITTED',
  redo: JSON.stringify([{ kind: 'reader.releaseLoan', readerId: 'Q1-DG0001' }]), lines: '["Reader:Q1-DG0001"]', op: 'prepare',
  gid: 'g', state: 'PREPARED', commit_site: 'Q3', deadline: new Date(), created_at: new Date(),
};

const OPS: Operation[] = [
  { kind: 'reader.reserveLoan', readerId: 'Q1-DG0001', max: 5 },
  { kind: 'reader.releaseLoan', readerId: 'Q1-DG0001' },
  { kind: 'reader.register', name: 'Lê Văn Tám', branchId: 'Q1' },
  { kind: 'reader.remove', readerId: 'Q1-DG0001', openLoans: 0 },
  { kind: 'reader.insert', readerId: 'Q1-DG0001', name: 'Lê Văn Tám', branchId: 'Q1', openLoans: 1 },
  { kind: 'loan.open', copyId: 'Q1-QS00001', readerId: 'Q3-DG0001', at: new Date().toISOString(), dueAt: new Date().toISOString() },
  { kind: 'loan.close', loanId: 'Q1-00000007', at: new Date().toISOString() },
  { kind: 'loan.renew', loanId: 'Q1-00000007', now: new Date().toISOString(), dueAt: new Date().toISOString() },
  { kind: 'copy.add', isbn: '9786040000017', branchId: 'Q1' },
  { kind: 'copy.remove', copyId: 'Q1-QS00001' },
  { kind: 'copy.insert', copyId: 'Q1-QS00001', isbn: '9786040000017', branchId: 'Q1' },
  { kind: 'location.set', entity: 'Copy', id: 'Q1-QS00001', site: 'Q3' },
  { kind: 'book.add', isbn: '9786040000017', title: 'Số đỏ', author: 'Vũ Trọng Phụng' },
  { kind: 'book.update', isbn: '9786040000017', title: 'Số đỏ' },
  { kind: 'branch.add', id: 'Q7', name: 'Chi nhánh Quận 7', address: 'Nguyễn Thị Thập' },
];

describe('participant statements rendered for SQL Server', () => {
  it.each(OPS.map((op) => [op.kind, op] as const))('%s: checks and writes are T-SQL', async (_, op) => {
    const [db, texts] = recordingExecutor(ROW);
    await check(db, 'Q1', op);
    await apply(db, 'Q1', op);
    expectTsql(texts);
  });

  it('a new loan\'s id is the identity its INSERT generated (SCOPE_IDENTITY in the same batch), not a reselect', async () => {
    const [db, texts] = recordingExecutor(ROW);
    const applied = await apply(db, 'Q1', OPS.find((op) => op.kind === 'loan.open')!);
    expect(applied).toEqual({ entity: { type: 'Loan', id: 'Q1-00000001' } });
    const insert = texts.find((t) => t.startsWith('INSERT INTO PHIEUMUON'))!;
    expect(insert).toMatch(/VALUES \(@p1, @p2, @p3, @p4, @p5, @p6\); SELECT CAST\(SCOPE_IDENTITY\(\) AS int\) AS id$/);
    expect(texts.some((t) => /FROM PHIEUMUON WHERE MaQuyenSach/.test(t))).toBe(false);
    expectTsql(texts);
  });

  it('the first id of a kind at a site starts after every id born there, moved or not (UNION ALL)', async () => {
    const [db, texts] = recordingExecutor(ROW, /FROM libfed_sequence/);
    await apply(db, 'Q1', { kind: 'copy.add', isbn: '9786040000017', branchId: 'Q1' });
    expect(texts.some((t) => /UNION ALL/.test(t))).toBe(true);
    expectTsql(texts);
  });

  it('every protocol step is T-SQL', async () => {
    const [db, texts] = recordingExecutor(ROW);
    const p = new Participant({ siteId: 'Q1', db });
    const ops: Operation[] = [{ kind: 'reader.releaseLoan', readerId: 'Q1-DG0001' }];
    await p.local('g1', ops, ['Reader:Q1-DG0001']);
    await p.commitPoint('g2', ops, ['Reader:Q1-DG0001']);
    await p.prepare('g3', ops, 'Q3', new Date(), ['Reader:Q1-DG0001']);
    await p.commit('g3');
    await p.abort('g4');
    await p.decide('g5');
    await p.status();
    await p.dirty();
    await p.decision('g6');
    await p.byKey('k');
    await p.releaseOrphanLocks();
    await p.commitPoint('g7', [{ kind: 'copy.add', isbn: '9786040000017', branchId: 'Q1' }], ['Book:9786040000017'], { key: 'k', fingerprint: 'f' });
    await p.clean([{ gid: 'g1', line: 'Reader:Q1-DG0001' }]);
    await locate(db, 'Copy', 'Q1-QS00001');
    await locate(db, 'Reader', 'Q1-DG0001');
    await loanRow(db, 'Q1', 'Q1-00000007');
    expectTsql(texts);
    expect(texts.some((t) => /OFFSET 0 ROWS FETCH NEXT 1000 ROWS ONLY/.test(t))).toBe(true);
  });
});

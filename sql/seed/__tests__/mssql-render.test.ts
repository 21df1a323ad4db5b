import { Parser } from 'node-sql-parser';
import { mssql } from '../../dialect';
import type { SqlExecutor } from '../../executor';
import type { Sql } from '../../fragment';
import { generateDemoData, loadDemoData, siteFragment } from '..';
import { TEST_BRANCHES, TEST_NOW } from './observe';

/**
 * No SQL Server runs here, so the load is rendered for SQL Server and parsed as
 * T-SQL (sql/__tests__/mssql-tsql.test.ts does the same for the migrations and
 * lists the parser's gaps). Each statement must parse as an INSERT into the
 * table and columns it names, within SQL Server's limits.
 */

interface InsertAst {
  type: string;
  table: { table: string }[];
  columns: string[];
  values: { type: 'values'; values: unknown[] } | { type: 'select'; orderby: unknown[] | null };
}

/** An executor that only records: enough for loadDemoData, which reads nothing. */
function recordingMssql(): [SqlExecutor, Sql[]] {
  const statements: Sql[] = [];
  const db: SqlExecutor = {
    dialect: mssql,
    query: async (statement) => {
      statements.push(statement);
      return [];
    },
    transaction: (work) => work(db),
    close: async () => {},
  };
  return [db, statements];
}

describe('loadDemoData rendered for SQL Server', () => {
  const data = generateDemoData({ branches: TEST_BRANCHES, now: TEST_NOW, seed: 5 });
  const [db, statements] = recordingMssql();
  const parser = new Parser();
  const parsed: { ast: InsertAst; text: string; values: unknown[] }[] = [];

  beforeAll(async () => {
    await loadDemoData(db, 'Q5', data);
    for (const statement of statements) {
      const { text, values } = mssql.render(statement);
      parsed.push({ ast: parser.astify(text, { database: 'TransactSQL' }) as unknown as InsertAst, text, values });
    }
  });

  it('inserts every table with an explicit column list, never MaPM', () => {
    const expected: Record<string, string[]> = {
      CHINHANH: ['MaCN', 'TenCN', 'DiaChi'],
      SACH: ['ISBN', 'TenSach', 'TacGia'],
      QUYENSACH: ['MaQuyenSach', 'ISBN', 'MaCN', 'TinhTrang'],
      DOCGIA: ['MaDG', 'HoTen', 'MaCN_DangKy', 'SoMuonDangMo'],
      libfed_location: ['entity', 'id', 'site'],
      PHIEUMUON: ['MaDG', 'MaQuyenSach', 'MaCN', 'ISBN', 'NgayMuon', 'HanTra', 'NgayTra'],
    };
    expect([...new Set(parsed.map(({ ast }) => ast.table[0].table))]).toEqual(Object.keys(expected));
    for (const { ast } of parsed) {
      expect(ast.type).toBe('insert');
      expect(ast.columns).toEqual(expected[ast.table[0].table]);
    }
  });

  it('binds every value as @pN, under 2,100 parameters and 1,000 rows per statement', () => {
    for (const { text, values } of parsed) {
      expect(values.length).toBeLessThanOrEqual(mssql.maxParameters);
      expect(text).toContain(`@p${values.length}`);
      expect(text).not.toContain(`@p${values.length + 1}`);
      expect(text).not.toMatch(/\$\d/);
    }
    for (const { ast } of parsed) if (ast.values.type === 'values') expect(ast.values.values.length).toBeLessThanOrEqual(1000);
  });

  it('numbers loans through INSERT ... SELECT ... ORDER BY, the form SQL Server assigns identities in order', () => {
    const loanInserts = parsed.filter(({ ast }) => ast.table[0].table === 'PHIEUMUON');
    expect(loanInserts.length).toBeGreaterThan(1);
    for (const { ast, text } of loanInserts) {
      expect(ast.values.type).toBe('select');
      if (ast.values.type === 'select') expect(ast.values.orderby).toHaveLength(1);
      expect(text).toContain('CAST(@p1 AS int)');
      expect(text).toContain('AS datetime2(3))');
    }
    const positions = loanInserts.flatMap(({ values }) => values.filter((_, i) => i % 8 === 0));
    expect(positions).toEqual(siteFragment(data, 'Q5').loans.map((l) => l.seq));
  });
});

import fc from 'fast-check';
import { FOLD_FROM, FOLD_TO, foldText, openPostgres, sql } from '../sql';
import { BACKENDS, startTestChain, type TestChain } from './harness';

/**
 * Search is case-insensitive for every Vietnamese letter and
 * accent-insensitive, with one meaning on every engine (sql/fold.ts). The
 * needles are what a librarian types: any case, with or without diacritics.
 */
const NAMES = ['Đặng Thị Ánh Tuyết', 'Nguyễn Văn Ước', 'NGÔ BẢO CHÂU', 'Lê Thị Hồng Nhung', 'Trần Ðức Anh', 'Phạm Quỳnh Như'];
const NEEDLES: [string, string[]][] = [
  ['đặng', ['Đặng Thị Ánh Tuyết']],
  ['ĐẶNG', ['Đặng Thị Ánh Tuyết']],
  ['dang thi', ['Đặng Thị Ánh Tuyết']],
  ['nguyễn', ['Nguyễn Văn Ước']],
  ['NGUYEN VAN UOC', ['Nguyễn Văn Ước']],
  ['uoc', ['Nguyễn Văn Ước']],
  ['bảo châu', ['NGÔ BẢO CHÂU']],
  ['ngo bao', ['NGÔ BẢO CHÂU']],
  ['thị', ['Đặng Thị Ánh Tuyết', 'Lê Thị Hồng Nhung']],
  ['hong nhung', ['Lê Thị Hồng Nhung']],
  ['quynh nhu', ['Phạm Quỳnh Như']],
  ['tuyết', ['Đặng Thị Ánh Tuyết']],
  ['duc anh', ['Trần Ðức Anh']],
  ['100%', []],
];
const TAG = 'Tìm'; // every test reader's name ends with it, so the demo data's readers stay out of the answers

describe.each(BACKENDS)('reader search on %s', (backend) => {
  let chain: TestChain;

  beforeAll(async () => {
    chain = await startTestChain(backend);
    for (const name of NAMES) {
      const res = await chain.query(`mutation($n: String!) { registerReader(input: { name: $n, branchId: "Q3" }) { id } }`, { n: `${name} ${TAG}` });
      expect(res.errors).toBeUndefined();
    }
  }, 180_000);
  afterAll(() => chain?.close());

  it.each(NEEDLES)('"%s" finds %j', async (needle, expected) => {
    const res = await chain.query(`query($s: String) { readers(search: $s, first: 100) { edges { node { name } } } }`, { s: needle });
    expect(res.errors).toBeUndefined();
    const names = res.data.readers.edges.map((e: any) => e.node.name).filter((n: string) => n.endsWith(` ${TAG}`));
    expect(names.map((n: string) => n.slice(0, -TAG.length - 1)).sort()).toEqual([...expected].sort());
  });

  it('books search folds the same way', async () => {
    const plain = await chain.query(`{ books(search: "kieu", first: 5) { totalCount } }`);
    const marked = await chain.query(`{ books(search: "KIỀU", first: 5) { totalCount } }`);
    expect(plain.data.books.totalCount).toBeGreaterThan(0);
    expect(plain.data.books.totalCount).toBe(marked.data.books.totalCount);
  });
});

(process.env.PG_URL ? describe : describe.skip)('the fold in SQL and in code', () => {
  it('translate() on PostgreSQL folds any Vietnamese text as foldText does', async () => {
    const db = openPostgres(process.env.PG_URL!);
    const letters = [...`${FOLD_FROM}abcdđ xyz-'`];
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.constantFrom(...letters), { maxLength: 20 }).map((cs) => cs.join('')), async (text) => {
          const [row] = await db.query<{ folded: string }>(sql`SELECT translate(${text}, ${FOLD_FROM}, ${FOLD_TO}) AS folded`);
          return row.folded === foldText(text);
        }),
        { numRuns: 100, seed: 1252 },
      );
    } finally {
      await db.close();
    }
  });
});

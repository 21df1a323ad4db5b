import fc from 'fast-check';
import { compareText } from '../gateway/router';
import { foldText } from '../sql';
import type { DemoData } from '../sql/seed';
import { demoData, loanId } from './fixture';
import { startTestChain, type TestChain } from './harness';

/**
 * Pagination as a property: for generated lists, filters and page
 * sizes — given as a literal, a variable, a variable's default, the argument's
 * default or `null` — following `endCursor` reaches every matching row exactly
 * once, in the list's order, and `totalCount` agrees. The oracle is the demo
 * data every site was seeded with (moved readers and copies, legacy ids and
 * all) plus readers registered here with names in any Unicode, astral
 * characters and equal names included.
 */
type Row = { id: string; key: (string | number)[] };
type List = { name: 'loans' | 'readers' | 'books'; args: Record<string, string | boolean>; rows: Row[]; order: (a: Row, b: Row) => number; node: string };

const byTextThenId = (a: Row, b: Row) => compareText(String(a.key[0]), String(b.key[0])) || compareText(a.id, b.id);
const newestFirst = (a: Row, b: Row) => Number(b.key[0]) - Number(a.key[0]) || compareText(b.id, a.id);

describe('every page exact', () => {
  let chain: TestChain;
  let data: DemoData;
  const registered: { id: string; name: string; home: string }[] = [];

  beforeAll(async () => {
    chain = await startTestChain('pglite');
    data = demoData(chain.config);
    // Names that sort differently by UTF-16 unit and by code point, and two that are equal.
    const names = ['𠀤 Hán Nôm', '\uE000 riêng', 'Ωmega', 'Nguyễn 𝔸', 'Nguyễn 𝔸', 'Zoë', 'Đào'];
    for (const [i, name] of names.entries()) {
      const home = ['Q1', 'Q3', 'Q5'][i % 3];
      const res = await chain.query(`mutation($n: String!, $b: ID!) { registerReader(input: { name: $n, branchId: $b }) { id } }`, { n: name, b: home });
      expect(res.errors).toBeUndefined();
      registered.push({ id: res.data.registerReader.id, name, home });
    }
  }, 180_000);
  afterAll(() => chain?.close());

  const lists = (): fc.Arbitrary<List> =>
    fc.oneof(
      fc.record({ open: fc.boolean(), branch: fc.constantFrom(undefined, 'Q1', 'Q3', 'Q5'), reader: fc.constantFrom(undefined, ...data.loans.slice(0, 40).map((l) => l.readerId)) }).map(({ open, branch, reader }) => {
        const rows = data.loans
          .filter((l) => (open ? l.returnedAt === null : true) && (!branch || l.branchId === branch) && (!reader || l.readerId === reader))
          .map((l) => ({ id: loanId(l), key: [l.borrowedAt.getTime()] }));
        const args: List['args'] = open ? { open: true } : {};
        if (branch) args.branchId = branch;
        if (reader) args.readerId = reader;
        return { name: 'loans' as const, args, rows, order: newestFirst, node: 'id' };
      }),
      fc.record({ branch: fc.constantFrom(undefined, 'Q1', 'Q3', 'Q5'), search: fc.constantFrom(undefined, 'nguyễn', 'NGUYEN', 'thị', '𝔸', 'a') }).map(({ branch, search }) => {
        const all = [...data.readers.map((r) => ({ id: r.id, name: r.name, home: r.homeBranchId })), ...registered];
        const rows = all
          .filter((r) => (!branch || r.home === branch) && (!search || foldText(r.name).includes(foldText(search))))
          .map((r) => ({ id: r.id, key: [r.name] }));
        const args: List['args'] = {};
        if (branch) args.branchId = branch;
        if (search) args.search = search;
        return { name: 'readers' as const, args, rows, order: byTextThenId, node: 'id' };
      }),
      fc.constantFrom(undefined, 'kiều', 'the', 'o').map((search) => ({
        name: 'books' as const,
        args: (search ? { search } : {}) as List['args'],
        rows: data.books.filter((b) => !search || foldText(b.title).includes(foldText(search)) || foldText(b.author).includes(foldText(search))).map((b) => ({ id: b.isbn, key: [b.title] })),
        order: byTextThenId,
        node: 'isbn',
      })),
    );

  /** How the page size reaches the gateway; `undefined` size means the argument's default (20). */
  const sizes = fc.oneof(
    fc.record({ how: fc.constant('literal' as const), size: fc.integer({ min: 1, max: 100 }) }),
    fc.record({ how: fc.constant('variable' as const), size: fc.integer({ min: 1, max: 100 }) }),
    fc.record({ how: fc.constant('variable default' as const), size: fc.integer({ min: 1, max: 100 }) }),
    fc.constant({ how: 'argument default' as const, size: 20 }),
    fc.constant({ how: 'null' as const, size: 20 }),
  );

  function queryOf(list: List, how: string, size: number): { query: string; variables: Record<string, unknown> } {
    const filters = Object.entries(list.args).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
    const first = { literal: [`first: ${size}`], variable: ['first: $f'], 'variable default': ['first: $f'], 'argument default': [], null: ['first: $f'] }[how]!;
    const defs = { literal: '', variable: ', $f: Int', 'variable default': `, $f: Int = ${size}`, 'argument default': '', null: ', $f: Int' }[how]!;
    const variables: Record<string, unknown> = how === 'variable' ? { f: size } : how === 'null' ? { f: null } : {};
    const args = [...filters, ...first, 'after: $a'].join(', ');
    return {
      query: `query($a: String${defs}) { ${list.name}(${args}) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${list.node} } } } }`,
      variables,
    };
  }

  it('following endCursor reaches every matching row once, in order, and totalCount agrees', async () => {
    await fc.assert(
      fc.asyncProperty(lists(), sizes, async (list, { how, size: asked }) => {
        // At most ~100 pages a walk: small pages only for small lists.
        const size = how === 'argument default' || how === 'null' ? asked : Math.min(100, Math.max(asked, Math.ceil(list.rows.length / 100)));
        const { query, variables } = queryOf(list, how, size);
        const expected = [...list.rows].sort(list.order).map((r) => r.id);
        const seen: string[] = [];
        let after: string | null = null;
        for (let page = 0; page < 400; page++) {
          const res: any = await chain.query(query, { ...variables, a: after });
          expect([how, res.errors]).toEqual([how, undefined]);
          const conn = res.data[list.name];
          expect(conn.totalCount).toBe(expected.length);
          expect(conn.edges.length).toBeLessThanOrEqual(size);
          seen.push(...conn.edges.map((e: any) => e.node[list.node]));
          if (!conn.pageInfo.hasNextPage) break;
          expect(conn.edges).toHaveLength(size);
          after = conn.pageInfo.endCursor;
        }
        expect(seen).toEqual(expected);
      }),
      { numRuns: 25, seed: Number(process.env.LIBFED_PROPERTY_SEED ?? 1252), endOnFailure: true },
    );
  }, 240_000);
});

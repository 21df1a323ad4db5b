import type { DemoData } from '../sql/seed';
import { demoData } from './fixture';
import { startTestChain, type TestChain } from './harness';

/**
 * Issue 16 item 8: arguments are checked once, at the gateway, against the
 * limits the sites enforce (schema/limits.ts), with a code naming the argument
 * and the limit; and one failing mutation field never hides the committed
 * results of the fields before it.
 */
describe('bad arguments, answered at the gateway', () => {
  let chain: TestChain;
  let data: DemoData;

  beforeAll(async () => {
    chain = await startTestChain('pglite');
    data = demoData(chain.config);
  }, 180_000);
  afterAll(() => chain?.close());

  it.each([-1, 101])('topBooks(first: %p) is PAGE_SIZE_OUT_OF_RANGE, as a literal and as a variable', async (first) => {
    const literal = await chain.query(`{ topBooks(first: ${first}) { loans } }`);
    const variable = await chain.query(`query($f: Int) { topBooks(first: $f) { loans } }`, { f: first });
    for (const res of [literal, variable]) {
      expect(res.errors?.map((e: any) => [e.extensions.code, e.extensions.argument])).toEqual([['PAGE_SIZE_OUT_OF_RANGE', 'first']]);
    }
  });

  it('answers each topBooks(first:) with its own length, cached or not', async () => {
    for (const n of [3, 5, 3, 5]) expect((await chain.query(`{ topBooks(first: ${n}) { loans } }`)).data.topBooks).toHaveLength(n);
  });

  it('an over-long id is BAD_USER_INPUT naming the argument, and the committed field before it is still answered', async () => {
    const res = await chain.query(`mutation {
      first: registerReader(input: { name: "Vũ Thị Trước", branchId: "Q1" }) { id name }
      second: borrowCopy(readerId: "${'Q1-DG'.padEnd(41, '9')}", copyId: "${data.copies[0].id}") { id }
    }`);
    expect(res.data.first).toMatchObject({ name: 'Vũ Thị Trước' });
    expect(res.data.second).toBeNull();
    expect(res.errors?.map((e: any) => [e.path, e.extensions.code, e.extensions.argument])).toEqual([[['second'], 'BAD_USER_INPUT', 'readerId']]);
    expect(res.errors?.[0].message).toMatch(/at most 40 characters/);
  });
});

import type { DemoData } from '../sql/seed';
import { demoData } from './fixture';
import { startTestChain, type TestChain } from './harness';

/**
 * "Never failed for a write that happened": a client that did not hear the
 * answer retries with the same idempotency key, through any gateway, and gets
 * the first outcome instead of a second effect; a gid from TX_IN_DOUBT can be
 * asked for its outcome. The key is recorded with the decision at the
 * commit-point site, so it holds across gateways and restarts.
 */
describe('idempotent mutations through two gateways', () => {
  let chain: TestChain;
  let data: DemoData;
  let a: string;
  let b: string;

  beforeAll(async () => {
    chain = await startTestChain('pglite', { gateways: 2 });
    data = demoData(chain.config);
    [a, b] = chain.gateways.map((g) => g.url);
  }, 180_000);
  afterAll(() => chain?.close());

  const BORROW = `mutation($r: ID!, $c: ID!, $k: String) { borrowCopy(readerId: $r, copyId: $c, idempotencyKey: $k) { id copy { status } } }`;
  const REGISTER = `mutation($n: String!, $k: String) { registerReader(input: { name: $n, branchId: "Q3" }, idempotencyKey: $k) { id name } }`;

  it('a retried cross-site borrow with the same key answers the same loan and lends the copy once', async () => {
    const reader = data.readers.find((r) => r.homeBranchId === 'Q3' && r.id.startsWith('Q3-') && data.loans.every((l) => l.readerId !== r.id || l.returnedAt !== null))!;
    const copy = data.copies.find((c) => c.branchId === 'Q1' && c.id.startsWith('Q1-') && c.status === 'Có sẵn')!;
    const key = `borrow-${reader.id}-${copy.id}-ü`;
    const first = await chain.query(BORROW, { r: reader.id, c: copy.id, k: key }, a);
    expect(first.errors).toBeUndefined();
    const retry = await chain.query(BORROW, { r: reader.id, c: copy.id, k: key }, b);
    expect(retry).toEqual(first);
    // Without the key the same request is a new one, refused because the copy is lent.
    const fresh = await chain.query(BORROW, { r: reader.id, c: copy.id }, b);
    expect(fresh.errors?.[0].extensions.code).toBe('COPY_NOT_AVAILABLE');
    const loans = await chain.query(`query($id: ID!) { copy(id: $id) { loans { id returnedAt } } }`, { id: copy.id }, a);
    expect(loans.data.copy.loans.filter((l: any) => l.returnedAt === null).map((l: any) => l.id)).toEqual([first.data.borrowCopy.id]);
  });

  it('a retried registration creates one reader; the key with other arguments is refused and changes nothing', async () => {
    const key = 'register-Nguyễn Thị Ngọc Ánh-1';
    const first = await chain.query(REGISTER, { n: 'Nguyễn Thị Ngọc Ánh', k: key }, a);
    expect(first.errors).toBeUndefined();
    expect((await chain.query(REGISTER, { n: 'Nguyễn Thị Ngọc Ánh', k: key }, b)).data).toEqual(first.data);
    const reused = await chain.query(REGISTER, { n: 'Someone Else', k: key }, a);
    expect(reused.errors?.[0].extensions.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(reused.data).toEqual({ registerReader: null });
    const found = await chain.query(`{ readers(branchId: "Q3", search: "Ngọc Ánh", first: 100) { edges { node { id } } } }`, {}, b);
    expect(found.data.readers.edges.map((e: any) => e.node.id)).toEqual([first.data.registerReader.id]);
    const other = await chain.query(`{ readers(branchId: "Q3", search: "Someone Else", first: 100) { totalCount } }`, {}, b);
    expect(other.data.readers.totalCount).toBe(0);
  });

  it('takes the key from an Idempotency-Key header too, one key per mutation field', async () => {
    const authorization = `Bearer ${await chain.token('thuthu_q3')}`;
    const post = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'header-key-7', authorization },
        body: JSON.stringify({ query: `mutation { a: registerReader(input: { name: "Phan Văn Đầu", branchId: "Q3" }) { id } b: registerReader(input: { name: "Phan Văn Đuôi", branchId: "Q3" }) { id } }` }),
      }).then((r) => r.json() as Promise<any>);
    const first = await post(a);
    expect(first.errors).toBeUndefined();
    expect(first.data.a.id).not.toBe(first.data.b.id);
    expect(await post(b)).toEqual(first);
    const found = await chain.query(`{ readers(branchId: "Q3", search: "Phan Văn Đ", first: 10) { totalCount } }`, {}, a);
    expect(found.data.readers.totalCount).toBe(2);
  });

  it('refuses a key over 100 characters with BAD_USER_INPUT, and does nothing', async () => {
    const res = await chain.query(REGISTER, { n: 'Lê Văn Quá Dài', k: 'k'.repeat(101) }, a);
    expect(res.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    const found = await chain.query(`{ readers(search: "Quá Dài", first: 10) { totalCount } }`, {}, a);
    expect(found.data.readers.totalCount).toBe(0);
  });

  it('transaction(gid): a gid no branch decided is presumed aborted once past its deadline; a foreign id is null', async () => {
    const old = `Q5.abcdef-${(Date.now() - 3_600_000).toString(36)}-0badcafe`;
    const res = await chain.query(`query($g: ID!) { transaction(gid: $g) { gid outcome commitSite entityId } }`, { g: old }, b);
    expect(res.data.transaction).toEqual({ gid: old, outcome: 'ABORTED', commitSite: 'Q5', entityId: null });
    const foreign = await chain.query(`{ transaction(gid: "nope") { outcome } }`, {}, a);
    expect(foreign).toEqual({ data: { transaction: null } });
  });
});

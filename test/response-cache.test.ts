import { demoData, loanId, openLoanOfReaderWithRoom } from './fixture';
import { startTestChain, type TestChain } from './harness';
import type { DemoData } from '../sql/seed';

/**
 * The coherent response cache (docs/ARCHITECTURE.md §5, "Whole responses") across two gateway
 * processes sharing Redis: a repeated query is answered whole before any plan runs, a write
 * through the other gateway drops it before that write is acknowledged, and one caller's
 * answer never reaches a caller of another scope. Needs REDIS_URL (CI sets it).
 */
const redisDescribe = process.env.REDIS_URL ? describe : describe.skip;

redisDescribe('response caches of two gateways kept coherent through Redis', () => {
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

  const metric = (url: string, name: string) => chain.metric(url, name);
  const READ = `query($id: ID!) { loan(id: $id) { reader { id openLoanCount } copy { id status } } }`;

  it('answers a repeated query whole on B, and after a write through A the next read on B is new', async () => {
    const loan = openLoanOfReaderWithRoom(data, 'Q1');
    const first = await chain.query(READ, { id: loanId(loan) }, b);
    expect(first.errors).toBeUndefined();
    const hits = await metric(b, 'libfed_response_cache_hits_total');
    const entityHits = await metric(b, 'libfed_cache_hits_total');
    // Same operation, other whitespace: one normalised key.
    expect(await chain.query(READ.replace(/ {2,}|\{ /g, (m) => `${m}  `), { id: loanId(loan) }, b)).toEqual(first);
    expect(await metric(b, 'libfed_response_cache_hits_total')).toBe(hits + 1);
    // Answered before the plan ran: no entity read at all.
    expect(await metric(b, 'libfed_cache_hits_total')).toBe(entityHits);

    const copy = data.copies.find((c) => c.branchId === 'Q3' && c.id.startsWith('Q3-') && c.status === 'Có sẵn')!;
    const write = await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }`, { r: loan.readerId, c: copy.id }, a);
    expect(write.errors).toBeUndefined();
    expect(await metric(b, 'libfed_response_cache_invalidations_total')).toBeGreaterThan(0);
    const after = await chain.query(READ, { id: loanId(loan) }, b);
    expect(after.data.loan.reader.openLoanCount).toBe(first.data.loan.reader.openLoanCount + 1);
  });

  it('writes a hit byte for byte as the answer it was stored from', async () => {
    const post = async () => {
      const response = await fetch(`${b}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await chain.token('quanly')}` },
        // Names, titles and statuses in Vietnamese: the stored text must keep every character as the serializer wrote it.
        body: JSON.stringify({ query: `{ loans(first: 5) { edges { cursor node { id reader { name } copy { status book { title author } } } } } }` }),
      });
      return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
    };
    const hits = await metric(b, 'libfed_response_cache_hits_total');
    const built = await post();
    const served = await post();
    expect(await metric(b, 'libfed_response_cache_hits_total')).toBe(hits + 1);
    expect(built.status).toBe(200);
    expect(served).toEqual(built);
    expect(built.text).toMatch(/[^\x00-\x7f]/);
    expect(JSON.parse(built.text).errors).toBeUndefined();
  });

  it('keys answers by caller scope: a manager\'s cached answer never reaches an anonymous caller or a librarian', async () => {
    const loan = data.loans.find((l) => l.readerId.startsWith('Q3-'))!;
    const Q = `query($id: ID!) { loan(id: $id) { id reader { name } } }`;
    const manager = await chain.query(Q, { id: loanId(loan) }, a);
    expect(manager.errors).toBeUndefined();
    expect((await chain.query(Q, { id: loanId(loan) }, a)).data).toEqual(manager.data);
    const anonymous = await chain.query(Q, { id: loanId(loan) }, a, null);
    expect(anonymous.data?.loan ?? null).toBeNull();
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED'); // anonymous: log in first
    const stores = await metric(a, 'libfed_response_cache_stores_total');
    // A librarian may read loans: it gets its own entry, built and stored anew, not the manager's.
    const librarian = await chain.query(Q, { id: loanId(loan) }, a, 'thuthu_q1');
    expect(librarian.data).toEqual(manager.data);
    expect(await metric(a, 'libfed_response_cache_stores_total')).toBe(stores + 1);
  });

  it('does not keep mutations or answers with errors', async () => {
    const stores = await metric(a, 'libfed_response_cache_stores_total');
    const missing = await chain.query(`query { loan(id: "Q1-NOSUCH") { id } }`, {}, a);
    expect(missing.data?.loan ?? null).toBeNull();
    await chain.query(`mutation { login(username: "nobody", password: "wrong") { token } }`, {}, a, null);
    expect(await metric(a, 'libfed_response_cache_stores_total')).toBe(stores);
  });
});

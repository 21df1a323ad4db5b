import { demoData } from './fixture';
import { startTestChain, type TestChain } from './harness';
import type { DemoData } from '../sql/seed';

/** DESIGN §5 across real gateway processes sharing Redis. Needs REDIS_URL (CI sets it). */
const redisDescribe = process.env.REDIS_URL ? describe : describe.skip;

redisDescribe('entity caches of two gateways kept coherent through Redis', () => {
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

  it('serves a line read through both from each L1, invalidates B before A answers a write, and B then reads the new value', async () => {
    const loan = data.loans.find((l) => l.returnedAt === null && l.readerId.startsWith('Q1-') && data.loans.filter((x) => x.readerId === l.readerId && x.returnedAt === null).length < 4)!;
    const loanId = `${loan.branchId}-${String(loan.seq).padStart(8, '0')}`;
    const first = await chain.query(READ, { id: loanId }, a);
    await chain.query(READ, { id: loanId }, b);
    const hitsBefore = [await metric(a, 'libfed_cache_hits_total'), await metric(b, 'libfed_cache_hits_total')];
    expect(await chain.query(READ, { id: loanId }, a)).toEqual(first);
    expect(await chain.query(READ, { id: loanId }, b)).toEqual(first);
    // Reader and copy lines were answered from each gateway's own L1.
    expect(await metric(a, 'libfed_cache_hits_total')).toBeGreaterThanOrEqual(hitsBefore[0] + 2);
    expect(await metric(b, 'libfed_cache_hits_total')).toBeGreaterThanOrEqual(hitsBefore[1] + 2);

    const copy = data.copies.find((c) => c.branchId === 'Q3' && c.id.startsWith('Q3-') && c.status === 'Có sẵn')!;
    const received = await metric(b, 'libfed_cache_invalidations_received_total');
    const write = await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }`, { r: loan.readerId, c: copy.id }, a);
    expect(write.errors).toBeUndefined();
    // Read right after A answered: B had already dropped the reader's line.
    expect(await metric(b, 'libfed_cache_invalidations_received_total')).toBeGreaterThan(received);
    const after = await chain.query(READ, { id: loanId }, b);
    expect(after.data.loan.reader.openLoanCount).toBe(first.data.loan.reader.openLoanCount + 1);
  });

  it('exports hits, misses, invalidations and MESI transitions per instance at /metrics', async () => {
    const text = await (await fetch(new URL('/metrics', b))).text();
    for (const name of ['libfed_cache_hits_total', 'libfed_cache_misses_total', 'libfed_cache_invalidations_received_total', 'libfed_cache_transitions_total']) {
      expect(text).toMatch(new RegExp(`^${name}\\{[^}]*instance="gateway-2"`, 'm'));
    }
  });
});

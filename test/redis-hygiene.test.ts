import Redis from 'ioredis';
import { keysUnder } from '../cache/__tests__/helpers';
import { demoData } from './fixture';
import { startTestChain, type TestChain } from './harness';

/** Operating for months: a chain that stopped leaves nothing under its Redis prefix. Needs REDIS_URL (CI sets it). */
const redisDescribe = process.env.REDIS_URL ? describe : describe.skip;

redisDescribe('Redis key hygiene', () => {
  let chain: TestChain | undefined;
  const redis = new Redis(process.env.REDIS_URL ?? '', { lazyConnect: true });
  afterAll(async () => {
    await chain?.close();
    redis.disconnect();
  });

  it('keeps directory, membership and wait-for keys while running and removes every one when the chain stops', async () => {
    chain = await startTestChain('pglite', { gateways: 2 });
    const data = demoData(chain.config);
    const [a, b] = chain.gateways.map((g) => g.url);
    const reader = data.readers.find((r) => r.id.startsWith('Q1-') && data.loans.filter((l) => l.readerId === r.id && l.returnedAt === null).length === 0)!;
    const copy = data.copies.find((c) => c.branchId === 'Q3' && c.status === 'Có sẵn')!;
    const read = `query($id: ID!) { reader(id: $id) { id openLoanCount loans { id copy { id status } } } }`;
    for (const url of [a, b]) expect((await chain.query(read, { id: reader.id }, url)).errors).toBeUndefined();
    const borrow = await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }`, { r: reader.id, c: copy.id }, a);
    expect(borrow.errors).toBeUndefined();
    for (const url of [b, a]) expect((await chain.query(read, { id: reader.id }, url)).errors).toBeUndefined();

    const running = await keysUnder(redis, chain.redisPrefix);
    // The test is worth something only if the running chain did write keys.
    expect(running.some((k) => k.includes('dir:'))).toBe(true);
    expect(running.some((k) => k.includes('member:'))).toBe(true);

    await chain.close();
    expect(await keysUnder(redis, chain.redisPrefix)).toEqual([]);
  }, 240_000);
});

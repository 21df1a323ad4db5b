import Redis from 'ioredis';
import { demoData, loanId, openLoanOfReaderWithRoom } from './fixture';
import { startTestChain, type TestChain } from './harness';
import type { DemoData } from '../sql/seed';
import { staleLines, type Operation } from '../contracts';

/** docs/ARCHITECTURE.md §5 across real gateway processes sharing Redis. Needs REDIS_URL (CI sets it). */
const redisDescribe = process.env.REDIS_URL ? describe : describe.skip;

redisDescribe('entity caches of two gateways kept coherent through Redis', () => {
  let chain: TestChain;
  let data: DemoData;
  let a: string;
  let b: string;

  beforeAll(async () => {
    // The entity cache on its own: a repeated query would otherwise be a response-cache hit (test/response-cache.test.ts covers that one).
    chain = await startTestChain('pglite', { gateways: 2, gatewayArgs: ['--no-response-cache'] });
    data = demoData(chain.config);
    [a, b] = chain.gateways.map((g) => g.url);
  }, 180_000);
  afterAll(() => chain?.close());

  const metric = (url: string, name: string) => chain.metric(url, name);
  const READ = `query($id: ID!) { loan(id: $id) { reader { id openLoanCount } copy { id status } } }`;

  it('serves a line read through both from each L1, invalidates B before A answers a write, and B then reads the new value', async () => {
    const loan = openLoanOfReaderWithRoom(data, 'Q1');
    const first = await chain.query(READ, { id: loanId(loan) }, a);
    await chain.query(READ, { id: loanId(loan) }, b);
    const hitsBefore = [await metric(a, 'libfed_cache_hits_total'), await metric(b, 'libfed_cache_hits_total')];
    expect(await chain.query(READ, { id: loanId(loan) }, a)).toEqual(first);
    expect(await chain.query(READ, { id: loanId(loan) }, b)).toEqual(first);
    // Reader and copy lines were answered from each gateway's own L1.
    expect(await metric(a, 'libfed_cache_hits_total')).toBeGreaterThanOrEqual(hitsBefore[0] + 2);
    expect(await metric(b, 'libfed_cache_hits_total')).toBeGreaterThanOrEqual(hitsBefore[1] + 2);

    const copy = data.copies.find((c) => c.branchId === 'Q3' && c.id.startsWith('Q3-') && c.status === 'Có sẵn')!;
    const received = await metric(b, 'libfed_cache_invalidations_received_total');
    const write = await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }`, { r: loan.readerId, c: copy.id }, a);
    expect(write.errors).toBeUndefined();
    // Read right after A answered: B had already dropped the reader's line.
    expect(await metric(b, 'libfed_cache_invalidations_received_total')).toBeGreaterThan(received);
    const after = await chain.query(READ, { id: loanId(loan) }, b);
    expect(after.data.loan.reader.openLoanCount).toBe(first.data.loan.reader.openLoanCount + 1);
  });

  it('drops its L1 when its Redis connections are cut, serves nothing stale meanwhile, and caches again once reconnected', async () => {
    const loan = openLoanOfReaderWithRoom(data, 'Q5');
    await chain.query(READ, { id: loanId(loan) }, b);
    const before = await chain.query(READ, { id: loanId(loan) }, b);
    const drops = await metric(b, 'libfed_cache_l1_drops_total');

    const admin = new Redis(process.env.REDIS_URL!);
    try {
      const clients = String(await admin.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => /name=\S*:gateway-2:/.test(line))
        .map((line) => line.match(/id=(\d+)/)![1]);
      expect(clients.length).toBeGreaterThanOrEqual(2);
      for (const id of clients) await admin.call('CLIENT', 'KILL', 'ID', id);
    } finally {
      admin.disconnect();
    }
    const copy = data.copies.find((c) => c.branchId === 'Q5' && c.id.startsWith('Q5-') && c.status === 'Có sẵn')!;
    const write = await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }`, { r: loan.readerId, c: copy.id }, a);
    expect(write.errors).toBeUndefined();
    const during = await chain.query(READ, { id: loanId(loan) }, b);
    expect(during.data.loan.reader.openLoanCount).toBe(before.data.loan.reader.openLoanCount + 1);
    expect(await metric(b, 'libfed_cache_l1_drops_total')).toBeGreaterThan(drops);

    // Back on Redis: the line is cached again and answered from L1.
    let hits = 0;
    for (let i = 0; i < 50 && hits === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const h0 = await metric(b, 'libfed_cache_hits_total');
      const again = await chain.query(READ, { id: loanId(loan) }, b);
      expect(again).toEqual(during);
      hits = (await metric(b, 'libfed_cache_hits_total')) - h0;
    }
    expect(hits).toBeGreaterThan(0);
  });

  it('drains a dirty line logged while the chain is idle: once its site has no row left, a read through either gateway is fresh', async () => {
    // A reader the other cases do not touch: they pick readers with open loans.
    const reader = data.readers.find((r) => r.homeBranchId === 'Q5' && !data.loans.some((l) => l.readerId === r.id && l.returnedAt === null))!;
    const READ_READER = `query($id: ID!) { reader(id: $id) { openLoanCount } }`;
    const before = await chain.query(READ_READER, { id: reader.id }, a);
    await chain.query(READ_READER, { id: reader.id }, b);
    expect(await chain.query(READ_READER, { id: reader.id }, b)).toEqual(before);
    // A commit no gateway invalidated (as when its writer is cut off from Redis): only the site's dirty-line log has it.
    const ops: Operation[] = [{ kind: 'reader.reserveLoan', readerId: reader.id, max: 100 }];
    expect(await chain.tx('Q5', 'local', { gid: 'Q5.idle-drain-1', ops, lines: staleLines(ops) })).toMatchObject({ outcome: 'COMMITTED' });
    // The gateways' watches at Q5 wake on the commit; a row is deleted only once its invalidation was delivered.
    while ((await chain.tx('Q5', 'dirty', { limit: 10 })).dirty.length > 0) await new Promise((r) => setTimeout(r, 20));
    for (const gateway of [a, b]) expect((await chain.query(READ_READER, { id: reader.id }, gateway)).data.reader.openLoanCount).toBe(before.data.reader.openLoanCount + 1);
  });

  it('exports hits, misses, invalidations and MESI transitions per instance at /metrics', async () => {
    const text = await (await fetch(new URL('/metrics', b))).text();
    for (const name of ['libfed_cache_hits_total', 'libfed_cache_misses_total', 'libfed_cache_invalidations_received_total', 'libfed_cache_transitions_total']) {
      expect(text).toMatch(new RegExp(`^${name}\\{[^}]*instance="gateway-2"`, 'm'));
    }
  });
});

redisDescribe('a cache fill that began before an invalidation', () => {
  let chain: TestChain;
  let data: DemoData;

  beforeAll(async () => {
    // Sites hold every readers answer 1.5 s after computing it: a fill is still in flight when a write lands.
    process.env.LIBFED_TEST_SLOW_ANSWERS = 'readers:1500';
    try {
      // The entity cache on its own: a repeated query would otherwise be a response-cache hit (test/response-cache.test.ts covers that one).
      chain = await startTestChain('pglite', { gateways: 2, gatewayArgs: ['--no-response-cache'] });
    } finally {
      delete process.env.LIBFED_TEST_SLOW_ANSWERS;
    }
    data = demoData(chain.config);
  }, 180_000);
  afterAll(() => chain?.close());

  it('does not install the old value: the next read fetches the new one', async () => {
    const [a, b] = chain.gateways.map((g) => g.url);
    const reader = data.readers.find((r) => r.id.startsWith('Q3-') && r.homeBranchId === 'Q3' && data.loans.filter((l) => l.readerId === r.id && l.returnedAt === null).length < 4)!;
    const copy = data.copies.find((c) => c.branchId === 'Q1' && c.id.startsWith('Q1-') && c.status === 'Có sẵn')!;
    const READ = `query($id: ID!) { reader(id: $id) { openLoanCount } }`;
    const discarded = await chain.metric(b, 'libfed_cache_fills_discarded_total');

    const slowRead = chain.query(READ, { id: reader.id }, b); // B's fill computes the old count, then waits 1.5 s
    await new Promise((r) => setTimeout(r, 500));
    const write = await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }`, { r: reader.id, c: copy.id }, a);
    expect(write.errors).toBeUndefined();
    const old = (await slowRead).data.reader;

    expect(await chain.metric(b, 'libfed_cache_fills_discarded_total')).toBeGreaterThan(discarded);
    const fresh = await chain.query(READ, { id: reader.id }, b);
    expect(fresh.data.reader.openLoanCount).toBe(old.openLoanCount + 1);
  });
});

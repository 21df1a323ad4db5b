import fc from 'fast-check';
import type { DemoData } from '../sql/seed';
import { demoData } from './fixture';
import { startTestChain, type TestChain } from './harness';

/**
 * "A cached answer depends on every entity it contains and on
 * the membership of every list it shows": random sequences of mutations and
 * queries through two caching gateways (coherent through Redis); after each
 * acknowledged write, every query through either is compared with the same
 * query through a third gateway that has no cache. Equal every time.
 * `LIBFED_PROPERTY_SEED` replays another seed.
 */
const redisDescribe = process.env.REDIS_URL ? describe : describe.skip;
const SEED = Number(process.env.LIBFED_PROPERTY_SEED ?? 1252);

const QUERIES = [
  `{ readers(first: 100) { totalCount edges { node { id name openLoanCount homeBranch { id } } } } }`,
  `{ loans(open: true, first: 100) { totalCount edges { node { id dueAt reader { id openLoanCount } copy { id status } } } } }`,
  `{ books(first: 30) { edges { node { isbn title availability { branch { id } available total } } } } }`,
  `{ loanStats { total open overdue } topBooks(first: 3) { book { isbn } loans } }`,
];

redisDescribe('the cache changes no answer (differential, against a gateway without cache)', () => {
  let chain: TestChain;
  let data: DemoData;
  let cached: string[];
  let plain: string;

  beforeAll(async () => {
    chain = await startTestChain('pglite', { gateways: 3, gatewayArgsFor: (i) => (i === 2 ? ['--no-cache'] : []) });
    data = demoData(chain.config);
    cached = chain.gateways.slice(0, 2).map((g) => g.url);
    plain = chain.gateways[2].url;
  }, 180_000);
  afterAll(() => chain?.close());

  const reader = (id: string) => `{ reader(id: "${id}") { id openLoanCount homeBranch { id } loans(open: true) { id copy { id status } } } }`;
  const copy = (id: string) => `{ copy(id: "${id}") { id status branch { id } book { isbn availability { branch { id } available } } } }`;

  it('after the cached-list borrow of the review: readers list shows the new openLoanCount', async () => {
    const r = data.readers.find((x) => x.homeBranchId === 'Q1' && x.id.startsWith('Q1-') && data.loans.every((l) => l.readerId !== x.id || l.returnedAt !== null))!;
    const c = data.copies.find((x) => x.branchId === 'Q1' && x.id.startsWith('Q1-') && x.status === 'Có sẵn')!;
    const LIST = `{ readers(branchId: "Q1", first: 100) { edges { node { id openLoanCount } } } }`;
    const count = async () => (await chain.query(LIST, {}, cached[0])).data.readers.edges.find((e: any) => e.node.id === r.id)?.node.openLoanCount;
    // A gateway serves hits once its first drain round completed, which on a loaded machine can come just after it listens.
    let before: number | undefined;
    let served = false;
    for (let i = 0; i < 100 && !served; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      await count();
      // A hit of either cache: the whole answer (response cache) or its lines (entity cache).
      const hitsOf = async () => (await chain.metric(cached[0], 'libfed_cache_hits_total')) + (await chain.metric(cached[0], 'libfed_response_cache_hits_total'));
      const hits = await hitsOf();
      before = await count(); // a hit once the cache serves
      served = (await hitsOf()) > hits;
    }
    expect(served).toBe(true);
    const write = await chain.query(`mutation { borrowCopy(readerId: "${r.id}", copyId: "${c.id}") { id } }`, {}, cached[0]);
    expect(write.errors).toBeUndefined();
    expect(await count()).toBe(before! + 1);
  });

  it('random mutations and queries: every cached answer equals the uncached one after each acknowledged write', async () => {
    const readers = data.readers.filter((r) => r.id.includes('-')).slice(0, 12).map((r) => r.id);
    const copies = data.copies.filter((c) => c.id.includes('-') && c.status === 'Có sẵn').slice(0, 12).map((c) => c.id);
    const opened: string[] = [];
    const branches = ['Q1', 'Q3', 'Q5'];
    const step = fc.oneof(
      fc.record({ kind: fc.constant('borrow'), r: fc.constantFrom(...readers), c: fc.constantFrom(...copies) }),
      fc.record({ kind: fc.constant('return'), i: fc.nat() }),
      fc.record({ kind: fc.constant('renew'), i: fc.nat() }),
      fc.record({ kind: fc.constant('move'), r: fc.constantFrom(...readers), to: fc.constantFrom(...branches) }),
      fc.record({ kind: fc.constant('transfer'), c: fc.constantFrom(...copies), to: fc.constantFrom(...branches) }),
      fc.record({ kind: fc.constant('register'), name: fc.constantFrom('Đặng Thị Hồng', 'Lý Văn 𠀤', 'Ngô Bảo Châu') }),
      fc.record({ kind: fc.constant('read'), q: fc.nat(QUERIES.length + 1), at: fc.nat(1) }),
    );
    const mutationOf = (s: any): string | undefined => {
      switch (s.kind) {
        case 'borrow':
          return `mutation { borrowCopy(readerId: "${s.r}", copyId: "${s.c}") { id } }`;
        case 'return':
          return opened.length ? `mutation { returnCopy(loanId: "${opened[s.i % opened.length]}") { id } }` : undefined;
        case 'renew':
          return opened.length ? `mutation { renewLoan(loanId: "${opened[s.i % opened.length]}") { id } }` : undefined;
        case 'move':
          return `mutation { moveReader(readerId: "${s.r}", toBranchId: "${s.to}") { id } }`;
        case 'transfer':
          return `mutation { transferCopy(copyId: "${s.c}", toBranchId: "${s.to}") { id } }`;
        case 'register':
          return `mutation { registerReader(input: { name: "${s.name}", branchId: "Q5" }) { id } }`;
        default:
          return undefined;
      }
    };
    const everyQuery = (touched: { r?: string; c?: string }) => [...QUERIES, ...(touched.r ? [reader(touched.r)] : []), ...(touched.c ? [copy(touched.c)] : [])];

    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), fc.nat(1), async (steps, writer) => {
        for (const s of steps) {
          if (s.kind === 'read') {
            // Warm a cache: reads make the lines that later writes must invalidate.
            const q = [...QUERIES, reader(readers[0]), copy(copies[0])][s.q % (QUERIES.length + 2)];
            await chain.query(q, {}, cached[s.at]);
            continue;
          }
          const m = mutationOf(s);
          if (!m) continue;
          const res = await chain.query(m, {}, cached[writer]);
          if (res.errors?.length) continue; // refused: nothing changed
          if (s.kind === 'borrow') opened.push(res.data.borrowCopy.id);
          for (const q of everyQuery({ r: (s as any).r, c: (s as any).c })) {
            const expected = await chain.query(q, {}, plain);
            for (const url of cached) expect([s.kind, q, await chain.query(q, {}, url)]).toEqual([s.kind, q, expected]);
          }
        }
      }),
      { numRuns: 8, seed: SEED, endOnFailure: true },
    );
  }, 240_000);
});

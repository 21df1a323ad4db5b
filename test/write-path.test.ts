import { Coordinator, CoordinatorCrashed, LocalWaitForGraph, planMutation, type CrashPoint, type PlanningContext, type TxPlan } from '../gateway/coordinator';
import { birthSite, HttpParticipantClient } from '../contracts';
import { requestSigner } from '../platform';
import type { DemoData } from '../sql/seed';
import { demoData, loanId } from './fixture';
import { BACKENDS, startTestChain, type TestChain } from './harness';

const TTL_MS = 800;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('write path on %s', (backend) => {
  let chain: TestChain;
  let data: DemoData;
  const used = new Set<string>();

  beforeAll(async () => {
    // The gateway's recovery round runs often: it is the "any gateway" that resolves a dead coordinator's transactions.
    chain = await startTestChain(backend, { gatewayArgs: ['--prepared-ttl-ms', String(TTL_MS), '--recovery-interval-ms', '200', '--lock-wait-ms', '8000'] });
    data = demoData(chain.config);
  }, 180_000);
  afterAll(() => chain?.close());

  const openAt = (readerId: string) => data.loans.filter((l) => l.readerId === readerId && l.returnedAt === null).length;
  /** A prefixed, available copy at `site` and a prefixed reader of `site` with room to borrow, each used by one test only. */
  const copyAt = (site: string) => {
    const c = data.copies.find((x) => x.branchId === site && x.id.startsWith(`${site}-`) && x.status === 'Có sẵn' && !used.has(x.id))!;
    used.add(c.id);
    return c.id;
  };
  const readerAt = (site: string) => {
    const r = data.readers.find((x) => x.homeBranchId === site && x.id.startsWith(`${site}-`) && openAt(x.id) <= 2 && !used.has(x.id))!;
    used.add(r.id);
    return r.id;
  };
  const sites = () => [...chain.sites.keys()];
  const client = () => new HttpParticipantClient({ sites: [...chain.sites].map(([id, s]) => ({ id, url: s.url })), timeoutMs: 3000, sign: requestSigner(chain.siteSecrets[0]) });
  const coordinator = (o: { crashAt?: CrashPoint; waitFor?: LocalWaitForGraph; sequentialPrepare?: { order: string[]; gapMs: number }; lockWaitMs?: number } = {}) =>
    new Coordinator({ client: client(), waitFor: o.waitFor ?? new LocalWaitForGraph(), preparedTtlMs: TTL_MS, lockWaitMs: o.lockWaitMs ?? 8000, ...o });
  const planning = (): PlanningContext => ({
    client: client(),
    siteIds: sites(),
    birthSite: (id) => birthSite(sites(), id),
    now: () => new Date(),
    maxOpenLoans: 5,
    loanDays: 14,
  });
  const borrowPlan = (readerId: string, copyId: string) => planMutation(planning(), 'borrowCopy', { readerId, copyId });
  const status = async (): Promise<Record<string, any>> => Object.fromEntries(await Promise.all(sites().map(async (s) => [s, await chain.tx(s, "status")])));
  const copy = async (id: string) => (await chain.query(`query($id: ID!) { copy(id: $id) { status loans { returnedAt } } }`, { id })).data.copy;
  /** The reader's counter at its home site and its open loans gathered from every site: they must agree. */
  const reader = async (id: string) => {
    const r = (await chain.query(`query($id: ID!) { reader(id: $id) { openLoanCount loans(open: true) { id } } }`, { id })).data.reader;
    return { counted: r.openLoanCount, open: r.loans.length };
  };
  /** Polls until `read` gives `expected` (or the last value after `ms`): recovery and cache invalidation after a crash are eventual. */
  const eventually = async <T>(read: () => Promise<T>, expected: T, ms = 5000): Promise<T> => {
    const until = Date.now() + ms;
    let value = await read();
    while (JSON.stringify(value) !== JSON.stringify(expected) && Date.now() < until) {
      await sleep(100);
      value = await read();
    }
    return value;
  };
  const settled = async () => {
    for (const [site, s] of Object.entries(await status())) {
      expect([site, s.prepared, s.locks]).toEqual([site, [], 0]);
    }
  };

  it('runs a mutation whose operations fall on one site as one local transaction: no participant log, one decision row at that site', async () => {
    const [r, c] = [readerAt('Q3'), copyAt('Q3')];
    const before = await status();
    const res = await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id branch { id } copy { status } reader { openLoanCount } } }`, { r, c });
    expect(res.errors).toBeUndefined();
    expect(res.data.borrowCopy.branch.id).toBe('Q3');
    expect(res.data.borrowCopy.copy.status).toBe('ON_LOAN');
    const after = await status();
    // The decision row makes a late duplicate of the request fail (presumed abort) and records its idempotency key.
    for (const s of sites()) expect([s, after[s].logged, after[s].decisions]).toEqual([s, before[s].logged, before[s].decisions + (s === 'Q3' ? 1 : 0)]);
    await settled();
  });

  it('commits a cross-site borrow everywhere: the copy\'s site writes the loan, the reader\'s home site counts it', async () => {
    const [r, c] = [readerAt('Q3'), copyAt('Q1')];
    const before = await reader(r);
    const res = await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id branch { id } reader { id } copy { status } } }`, { r, c });
    expect(res.errors).toBeUndefined();
    expect(res.data.borrowCopy).toMatchObject({ branch: { id: 'Q1' }, reader: { id: r }, copy: { status: 'ON_LOAN' } });
    expect(await reader(r)).toEqual({ counted: before.counted + 1, open: before.open + 1 });
    const again = await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }`, { r, c });
    expect(again.errors![0].extensions.code).toBe('COPY_NOT_AVAILABLE');
    const back = await chain.query(`mutation($l: ID!) { returnCopy(loanId: $l) { returnedAt copy { status } } }`, { l: res.data.borrowCopy.id });
    expect(back.data.returnCopy.copy.status).toBe('AVAILABLE');
    expect(await reader(r)).toEqual(before);
    await settled();
  });

  it('transfers a copy twice and moves a reader; the birth site keeps pointing at them', async () => {
    const c = copyAt('Q1');
    const t1 = await chain.query(`mutation($c: ID!) { transferCopy(copyId: $c, toBranchId: "Q5") { id branch { id } status } }`, { c });
    expect(t1.data.transferCopy).toEqual({ id: c, branch: { id: 'Q5' }, status: 'AVAILABLE' });
    const t2 = await chain.query(`mutation($c: ID!) { transferCopy(copyId: $c, toBranchId: "Q3") { branch { id } } }`, { c });
    expect(t2.errors).toBeUndefined();
    expect(t2.data.transferCopy.branch.id).toBe('Q3');
    expect(await chain.tx('Q1', 'locate', { entity: 'Copy', id: c })).toEqual({ held: false, site: 'Q3' });
    const same = await chain.query(`mutation($c: ID!) { transferCopy(copyId: $c, toBranchId: "Q3") { id } }`, { c });
    expect(same.errors![0].extensions.code).toBe('SAME_BRANCH');

    const r = readerAt('Q1');
    const before = await reader(r);
    const moved = await chain.query(`mutation($r: ID!) { moveReader(readerId: $r, toBranchId: "Q5") { id homeBranch { id } openLoanCount } }`, { r });
    expect(moved.data.moveReader).toEqual({ id: r, homeBranch: { id: 'Q5' }, openLoanCount: before.counted });
    expect(await reader(r)).toEqual(before);
    // A borrow now counts the loan at the reader's new home site.
    const onLoan = copyAt('Q3');
    const lent = await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }`, { r, c: onLoan });
    expect(lent.errors).toBeUndefined();
    expect(await reader(r)).toEqual({ counted: before.counted + 1, open: before.open + 1 });
    const busy = await chain.query(`mutation($c: ID!) { transferCopy(copyId: $c, toBranchId: "Q1") { id } }`, { c: onLoan });
    expect(busy.errors![0].extensions.code).toBe('COPY_NOT_AVAILABLE');
    await settled();
  });

  it('renews a loan that is not overdue, refuses an overdue one, registers readers and catalogues copies with birth-site ids', async () => {
    const [r, c] = [readerAt('Q5'), copyAt('Q5')];
    const lent = (await chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id dueAt } }`, { r, c })).data.borrowCopy;
    const renewed = await chain.query(`mutation($l: ID!) { renewLoan(loanId: $l) { id dueAt overdue } }`, { l: lent.id });
    expect(renewed.errors).toBeUndefined();
    expect(new Date(renewed.data.renewLoan.dueAt).getTime()).toBeGreaterThanOrEqual(new Date(lent.dueAt).getTime());
    // The demo data was made for an earlier day: its open loans are overdue now.
    const overdue = data.loans.find((l) => l.returnedAt === null && l.dueAt.getTime() < Date.now())!;
    const refused = await chain.query(`mutation($l: ID!) { renewLoan(loanId: $l) { id } }`, { l: loanId(overdue) });
    expect(refused.errors![0].extensions.code).toBe('LOAN_OVERDUE');

    const reg = await chain.query(`mutation { registerReader(input: { name: "Lê Văn Tám", branchId: "Q3" }) { id name homeBranch { id } openLoanCount } }`);
    expect(reg.data.registerReader).toMatchObject({ name: 'Lê Văn Tám', homeBranch: { id: 'Q3' }, openLoanCount: 0 });
    expect(reg.data.registerReader.id).toMatch(/^Q3-DG\d{4}$/);
    expect(data.readers.some((x) => x.id === reg.data.registerReader.id)).toBe(false);
    const added = await chain.query(`mutation($isbn: ID!) { addCopy(isbn: $isbn, branchId: "Q1") { id status branch { id } book { isbn } } }`, { isbn: data.books[0].isbn });
    expect(added.data.addCopy).toMatchObject({ status: 'AVAILABLE', branch: { id: 'Q1' }, book: { isbn: data.books[0].isbn } });
    expect(added.data.addCopy.id).toMatch(/^Q1-QS\d{5}$/);
    const noBook = await chain.query(`mutation { addCopy(isbn: "0000000000000", branchId: "Q1") { id } }`);
    expect(noBook.errors![0].extensions.code).toBe('NOT_FOUND');
    const badBranch = await chain.query(`mutation { registerReader(input: { name: "X", branchId: "Q9" }) { id } }`);
    expect(badBranch.errors![0].extensions.code).toBe('UNKNOWN_BRANCH');
    await settled();
  });

  it('coordinator dies after every prepare, before the decision: the gateway\'s recovery aborts everywhere', async () => {
    const [r, c] = [readerAt('Q3'), copyAt('Q1')];
    const before = await reader(r);
    const plan = await borrowPlan(r, c);
    const gid = 'crash-prepare-' + backend;
    await expect(coordinator({ crashAt: 'after-prepare', lockWaitMs: 200 }).run(plan, gid)).rejects.toBeInstanceOf(CoordinatorCrashed);
    expect((await status()).Q3.prepared.map((p: any) => p.gid)).toEqual([gid]);
    expect(await eventually(async () => (await status()).Q3.prepared.length, 0)).toBe(0);
    // Presumed abort: the recoverer wrote ABORTED at the commit point, so a late commit there fails.
    expect(await chain.tx('Q1', 'decide', { gid })).toEqual({ outcome: 'ABORTED' });
    const late = await chain.tx('Q1', 'commit-point', { gid, ops: plan.ops.get('Q1') });
    expect(late.code).toBe('TX_ABORTED');
    expect(await copy(c)).toMatchObject({ status: 'AVAILABLE' });
    expect(await reader(r)).toEqual(before);
    await settled();
  });

  it('coordinator dies after the decision, before phase 2: recovery commits everywhere and every cache hears of it', async () => {
    const [r, c] = [readerAt('Q3'), copyAt('Q1')];
    const before = await reader(r);
    const gid = 'crash-decision-' + backend;
    await expect(coordinator({ crashAt: 'after-decision', lockWaitMs: 200 }).run(await borrowPlan(r, c), gid)).rejects.toBeInstanceOf(CoordinatorCrashed);
    expect(await copy(c)).toMatchObject({ status: 'ON_LOAN' });
    expect(await eventually(() => reader(r), { counted: before.counted + 1, open: before.open + 1 })).toEqual({ counted: before.counted + 1, open: before.open + 1 });
    expect(await chain.tx('Q1', 'decide', { gid })).toEqual({ outcome: 'COMMITTED' });
    await settled();
  });

  it('a participant killed with SIGKILL after voting resolves to the decision when it restarts', async () => {
    const [r, c] = [readerAt('Q3'), copyAt('Q1')];
    const before = await reader(r);
    await expect(coordinator({ crashAt: 'after-decision', lockWaitMs: 200 }).run(await borrowPlan(r, c), 'kill-' + backend)).rejects.toBeInstanceOf(CoordinatorCrashed);
    await chain.sites.get('Q3')!.stop('SIGKILL');
    await chain.restartSite('Q3');
    const expected = { counted: before.counted + 1, open: before.open + 1 };
    expect(await eventually(() => reader(r), expected, 10_000)).toEqual(expected);
    await settled();
  });

  it('a duplicate or late phase-2 message changes nothing, and a prepare after an abort is refused', async () => {
    const [r, c] = [readerAt('Q5'), copyAt('Q1')];
    await coordinator().run(await borrowPlan(r, c), 'dup-' + backend);
    const after = await reader(r);
    expect(await chain.tx('Q5', 'commit', { gid: 'dup-' + backend })).toEqual({ applied: [] });
    await sleep(300); // let the gateway drain the commit's stale cache lines
    expect(await chain.tx('Q5', 'abort', { gid: 'dup-' + backend })).toEqual({ state: 'COMMITTED' });
    expect(await reader(r)).toEqual(after);

    const ops = [{ kind: 'reader.reserveLoan', readerId: r, max: 5 }];
    expect(await chain.tx('Q5', 'abort', { gid: 'late-' + backend })).toEqual({ state: 'ABORTED' });
    const vote = await chain.tx('Q5', 'prepare', { gid: 'late-' + backend, ops, commitSite: 'Q1', deadline: new Date(Date.now() + 60_000).toISOString() });
    expect(vote).toMatchObject({ vote: 'REFUSED', code: 'TX_ABORTED' });
    expect(await reader(r)).toEqual(after);
    await settled();
  });

  it('aborts everywhere when the commit-point site is unreachable', async () => {
    const [r, c] = [readerAt('Q3'), copyAt('Q5')];
    const before = await reader(r);
    const plan = await borrowPlan(r, c);
    expect(plan.commitSite).toBe('Q5');
    await chain.sites.get('Q5')!.stop();
    const error = await coordinator().run(plan).catch((e) => e);
    expect([error.extensions?.code, error.extensions?.site]).toEqual(['BRANCH_UNAVAILABLE', 'Q5']);
    await chain.restartSite('Q5');
    expect(await copy(c)).toMatchObject({ status: 'AVAILABLE' });
    expect(await reader(r)).toEqual(before);
    await settled();
  });

  it('breaks a deadlock between two transactions locking two rows in opposite order, well before the lock-wait bound', async () => {
    const [r, c] = [readerAt('Q1'), copyAt('Q3')];
    const waitFor = new LocalWaitForGraph();
    const plan = (tag: string): TxPlan => ({
      ops: new Map<string, any[]>([
        ['Q1', [{ kind: 'reader.reserveLoan', readerId: r, max: 5 }]],
        ['Q3', [{ kind: 'loan.open', copyId: c, readerId: r, at: new Date().toISOString(), dueAt: new Date(Date.now() + 86_400_000).toISOString() }]],
        ['Q5', [{ kind: 'location.set', entity: 'Copy', id: `Q5-DEADLOCK-${tag}`, site: 'Q5' }]],
      ]),
      commitSite: 'Q5',
      lines: [],
    });
    const lockWaitMs = 10_000;
    const first = coordinator({ waitFor, lockWaitMs, sequentialPrepare: { order: ['Q1', 'Q3'], gapMs: 300 } });
    const second = coordinator({ waitFor, lockWaitMs, sequentialPrepare: { order: ['Q3', 'Q1'], gapMs: 300 } });
    const started = Date.now();
    const older = first.run(plan('a'), `dl-a-${backend}`);
    await sleep(20);
    const younger = second.run(plan('b'), `dl-b-${backend}`).catch((e) => e);
    const [won, lost] = await Promise.all([older, younger]);
    // The older one committed (its commit point applied its only operation); the younger was the victim.
    expect(won).toEqual([{}]);
    expect([lost.extensions?.code, lost.extensions?.gid]).toEqual(['TX_ABORTED_DEADLOCK', `dl-b-${backend}`]);
    expect(Date.now() - started).toBeLessThan(lockWaitMs / 2);
    expect(await copy(c)).toMatchObject({ status: 'ON_LOAN' });
    await settled();
  });

  it('lends each of 20 copies at most once under 200 concurrent borrows by 100 readers from every site', async () => {
    const copies = ['Q1', 'Q3', 'Q5'].flatMap((s) => Array.from({ length: 7 }, () => copyAt(s))).slice(0, 20);
    const readers = Array.from({ length: 100 }, (_, i) => {
      const site = ['Q1', 'Q3', 'Q5'][i % 3];
      const r = data.readers.find((x) => x.homeBranchId === site && x.id.startsWith(`${site}-`) && openAt(x.id) <= 3 && !used.has(x.id))!;
      used.add(r.id);
      return r.id;
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        chain.query(`mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id copy { id } } }`, { r: readers[i % 100], c: copies[(i * 7) % 20] }),
      ),
    );
    const lent = results.filter((r) => r.data?.borrowCopy).map((r) => r.data!.borrowCopy.copy.id);
    // Ten borrows aim at each copy: exactly one of them lends it.
    expect(lent.sort()).toEqual([...copies].sort());
    const refusals = ['COPY_NOT_AVAILABLE', 'LOAN_LIMIT_REACHED', 'TX_LOCK_TIMEOUT', 'TX_ABORTED_DEADLOCK'];
    const others = results.flatMap((r) => r.errors ?? []).filter((e: any) => !refusals.includes(e.extensions.code));
    expect(others.map((e: any) => `${e.extensions.code}: ${e.message}`)).toEqual([]);
    for (const id of copies) {
      const { status: s, loans } = await copy(id);
      const open = loans.filter((l: any) => l.returnedAt === null).length;
      expect([id, s, open]).toEqual([id, open === 1 ? 'ON_LOAN' : 'AVAILABLE', lent.includes(id) ? 1 : 0]);
    }
    for (const id of readers) {
      const { counted, open } = await reader(id);
      expect([id, counted]).toEqual([id, open]);
      expect(counted).toBeLessThanOrEqual(5);
    }
    const tx = await chain.query(`{ transactions { inFlight { gid } inDoubt { gid } waitFor { waiter } } }`);
    expect(tx.data.transactions).toEqual({ inFlight: [], inDoubt: [], waitFor: [] });
    await settled();
  });

  it('writes a book on every site or on none', async () => {
    const isbn = backend === 'pglite' ? '9786040000017' : '9786040000024';
    const perSite = async () =>
      Promise.all(
        sites().map(async (s) => {
          const res = await chain.siteFetch(`${chain.sites.get(s)!.url}/catalog`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: `{ book(isbn: "${isbn}") { title version } }` }),
          });
          return ((await res.json()) as any).data.book;
        }),
      );
    await chain.sites.get('Q5')!.stop();
    const down = await chain.query(`mutation { addBook(input: { isbn: "${isbn}", title: "Nhật ký Đặng Thùy Trâm", author: "Đặng Thùy Trâm" }) { isbn } }`);
    expect([down.errors![0].extensions.code, down.errors![0].extensions.site]).toEqual(['BRANCH_UNAVAILABLE', 'Q5']);
    await chain.restartSite('Q5');
    expect(await perSite()).toEqual([null, null, null]);

    const up = await chain.query(`mutation { addBook(input: { isbn: "${isbn}", title: "Nhật ký Đặng Thùy Trâm", author: "Đặng Thùy Trâm" }) { isbn version } }`);
    expect(up.errors).toBeUndefined();
    const edited = await chain.query(`mutation { updateBook(isbn: "${isbn}", input: { title: "Nhật ký Đặng Thùy Trâm (tái bản)" }) { title version } }`);
    expect(edited.data.updateBook).toEqual({ title: 'Nhật ký Đặng Thùy Trâm (tái bản)', version: 2 });
    expect(await perSite()).toEqual(sites().map(() => ({ title: 'Nhật ký Đặng Thùy Trâm (tái bản)', version: 2 })));
    await settled();
  });
});

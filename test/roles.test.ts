import type { DemoData } from '../sql/seed';
import { DEMO_PASSWORD, demoData, loanId } from './fixture';
import { startTestChain, type TestChain } from './harness';

/**
 * Who may do what, through the gateway, as the whole role × operation ×
 * branch matrix: anonymous, a librarian of Q1, a librarian of Q3 and the
 * manager, each trying every case. A case asserts the exact result (data, or
 * the error code and for FORBIDDEN_BRANCH the branch), and a refused case
 * asserts that nothing changed: a fingerprint of the chain's data read by
 * the manager is the same before and after.
 */
type Who = null | 'thuthu_q1' | 'thuthu_q3' | 'quanly';
const WHO: Who[] = [null, 'thuthu_q1', 'thuthu_q3', 'quanly'];
type Expected = 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BRANCH_HAS_NO_SITE' | { branch: string };

interface Case {
  name: string;
  /** A fresh operation for each caller (each allowed write needs its own copy or reader). */
  op: (who: Who) => { query: string; variables?: Record<string, unknown> } | Promise<{ query: string; variables?: Record<string, unknown> }>;
  expect: Record<string, Expected>;
}

const key = (who: Who) => who ?? 'anonymous';
const all = (e: Expected): Record<string, Expected> => Object.fromEntries(WHO.map((w) => [key(w), e]));
const staffOnly = { anonymous: 'UNAUTHENTICATED', thuthu_q1: 'ok', thuthu_q3: 'ok', quanly: 'ok' } as const;
const managerOnly = { anonymous: 'UNAUTHENTICATED', thuthu_q1: 'FORBIDDEN', thuthu_q3: 'FORBIDDEN', quanly: 'ok' } as const;
const atQ1 = { anonymous: 'UNAUTHENTICATED', thuthu_q1: 'ok', thuthu_q3: { branch: 'Q1' }, quanly: 'ok' } as const;
const atQ3 = { anonymous: 'UNAUTHENTICATED', thuthu_q1: { branch: 'Q3' }, thuthu_q3: 'ok', quanly: 'ok' } as const;

describe('roles: the whole role × operation × branch matrix', () => {
  let chain: TestChain;
  let data: DemoData;
  const used = new Set<string>();
  const take = <T extends { id: string }>(rows: T[], pick: (row: T) => boolean): string => {
    const row = rows.find((r) => pick(r) && !used.has(r.id))!;
    used.add(row.id);
    return row.id;
  };
  const copyAt = (site: string) => take(data.copies, (c) => c.branchId === site && c.id.startsWith(`${site}-`) && c.status === 'Có sẵn');
  const readerAt = (site: string) =>
    take(data.readers, (r) => r.homeBranchId === site && r.id.startsWith(`${site}-`) && data.loans.filter((l) => l.readerId === r.id && l.returnedAt === null).length === 0);
  const openLoanAt = (site: string) => {
    const loan = data.loans.find((l) => l.branchId === site && l.returnedAt === null && !used.has(loanId(l)))!;
    used.add(loanId(loan));
    return loanId(loan);
  };
  /** A loan made now at `site` by the manager: the demo loans are overdue by the wall clock, and an overdue loan is not renewed. */
  const freshLoanAt = async (site: string) => {
    const lent = await chain.query('mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }', { r: readerAt(site), c: copyAt(site) });
    return lent.data.borrowCopy.id as string;
  };
  let isbn: string;

  /** What refused cases must leave unchanged, read by the manager. */
  const fingerprint = async () =>
    JSON.stringify(
      await chain.query(`{
        books(first: 1) { totalCount } branches { id } staffAccounts { username disabled }
        q1: readers(branchId: "Q1", first: 1) { totalCount } q3: readers(branchId: "Q3", first: 1) { totalCount }
        loans(first: 100) { totalCount edges { node { id returnedAt dueAt } } }
        a: book(isbn: "${isbn}") { title copies { id status } } }`),
    );

  beforeAll(async () => {
    chain = await startTestChain('pglite');
    data = demoData(chain.config);
    isbn = data.books[0].isbn;
  }, 180_000);
  afterAll(() => chain?.close());

  const cases: Case[] = [
    { name: 'reads the branches and books', op: () => ({ query: '{ branches { id } books(first: 2) { edges { node { title } } } }' }), expect: all('ok') },
    { name: "reads a book's copies and their status", op: () => ({ query: `{ book(isbn: "${isbn}") { copies { id status branch { id } } availability { available } } }` }), expect: all('ok') },
    { name: "reads a copy's status", op: () => ({ query: `query($id: ID!) { copy(id: $id) { status } }`, variables: { id: data.copies[0].id } }), expect: all('ok') },
    { name: "reads a copy's loans", op: () => ({ query: `query($id: ID!) { copy(id: $id) { loans { id } } }`, variables: { id: data.copies[0].id } }), expect: staffOnly },
    { name: 'reads a reader by id', op: () => ({ query: `query($id: ID!) { reader(id: $id) { name } }`, variables: { id: data.readers[0].id } }), expect: staffOnly },
    { name: 'lists loans', op: () => ({ query: '{ loans(first: 1) { totalCount } }' }), expect: staffOnly },
    { name: 'reads a fragment of a forbidden field', op: () => ({ query: 'query { ...F } fragment F on Query { readers(first: 1) { totalCount } }' }), expect: staffOnly },
    { name: 'reads the transactions view', op: () => ({ query: '{ transactions { inFlight { gid } } }' }), expect: managerOnly },
    { name: 'reads the audit trail', op: () => ({ query: '{ auditLog(first: 1) { edges { node { id } } } }' }), expect: managerOnly },
    { name: 'lists staff accounts', op: () => ({ query: '{ staffAccounts { username } }' }), expect: managerOnly },
    {
      name: 'lends a Q1 copy to a Q3 reader',
      op: () => ({ query: 'mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }', variables: { r: readerAt('Q3'), c: copyAt('Q1') } }),
      expect: atQ1,
    },
    { name: 'takes back a loan made at Q1', op: () => ({ query: 'mutation($l: ID!) { returnCopy(loanId: $l) { id } }', variables: { l: openLoanAt('Q1') } }), expect: atQ1 },
    { name: 'renews a loan made at Q3', op: async () => ({ query: 'mutation($l: ID!) { renewLoan(loanId: $l) { id } }', variables: { l: await freshLoanAt('Q3') } }), expect: atQ3 },
    { name: 'registers a reader at Q3', op: () => ({ query: 'mutation { registerReader(input: { name: "Lê Thị Ngọc Ánh", branchId: "Q3" }) { id } }' }), expect: atQ3 },
    { name: 'adds a copy at Q1', op: () => ({ query: `mutation { addCopy(isbn: "${isbn}", branchId: "Q1") { id } }` }), expect: atQ1 },
    {
      name: 'transfers a copy out of Q1 to Q5',
      op: () => ({ query: 'mutation($c: ID!) { transferCopy(copyId: $c, toBranchId: "Q5") { id } }', variables: { c: copyAt('Q1') } }),
      expect: atQ1,
    },
    { name: 'moves a reader of Q3 to Q1', op: () => ({ query: 'mutation($r: ID!) { moveReader(readerId: $r, toBranchId: "Q1") { id } }', variables: { r: readerAt('Q3') } }), expect: atQ3 },
    {
      name: 'adds a book to the catalogue',
      op: (who) => ({ query: 'mutation($i: ID!) { addBook(input: { isbn: $i, title: "Số đỏ", author: "Vũ Trọng Phụng" }) { isbn } }', variables: { i: `97860411${String(WHO.indexOf(who)).padStart(5, '0')}` } }),
      expect: managerOnly,
    },
    { name: 'updates a title', op: () => ({ query: `mutation { updateBook(isbn: "${isbn}", input: { title: "Dế Mèn phiêu lưu ký" }) { title } }` }), expect: managerOnly },
    // A branch is a site: the manager may add one only for a site of the chain (all of them have their branch already).
    { name: 'adds a branch', op: (who) => ({ query: `mutation { addBranch(input: { id: "R${WHO.indexOf(who)}", name: "Quận ${WHO.indexOf(who)}", address: "1 Lê Lợi" }) { id } }` }), expect: { ...managerOnly, quanly: 'BRANCH_HAS_NO_SITE' } },
    {
      name: 'creates a staff account',
      op: (who) => ({ query: `mutation { createStaffAccount(input: { username: "thuthu_moi_${WHO.indexOf(who)}", password: "mật khẩu đủ dài", role: THUTHU, branchId: "Q5" }) { username } }` }),
      expect: managerOnly,
    },
  ];

  for (const c of cases) {
    it.each(WHO.map((w) => [key(w), w] as const))(`${c.name}: %s`, async (_name, who) => {
      const expected = c.expect[key(who)];
      const { query, variables } = await c.op(who);
      const before = expected === 'ok' ? undefined : await fingerprint();
      const answer = await chain.query(query, variables, undefined, who);
      if (expected === 'ok') {
        expect(answer.errors).toBeUndefined();
        expect(answer.data).toBeTruthy();
        return;
      }
      const error = answer.errors?.[0];
      if (typeof expected === 'string') expect(error?.extensions).toMatchObject({ code: expected });
      else expect(error?.extensions).toMatchObject({ code: 'FORBIDDEN_BRANCH', branch: expected.branch });
      expect(await fingerprint()).toBe(before);
    });
  }

  it('answers a refusal before execution with a 4xx and a code, never a 500 (found by the fuzz test)', async () => {
    const post = async (body: unknown, who: Who) => {
      const authorization: Record<string, string> = who ? { authorization: `Bearer ${await chain.token(who)}` } : {};
      const res = await fetch(chain.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...authorization }, body: JSON.stringify(body) });
      const json = (await res.json()) as any;
      return [res.status, json.errors?.[0]?.extensions?.code];
    };
    expect(await post({ query: '{ loans(first: 1) { totalCount } }' }, null)).toEqual([401, 'UNAUTHENTICATED']);
    expect(await post({ query: '{ transactions { inFlight { gid } } }' }, 'thuthu_q1')).toEqual([403, 'FORBIDDEN']);
    expect(await post({ query: 'query A { branches { id } } query B { books { totalCount } }' }, null)).toEqual([400, 'OPERATION_RESOLUTION_FAILURE']);
    expect(await post({ query: 'query A { branches { id } }', operationName: 'B' }, null)).toEqual([400, 'OPERATION_RESOLUTION_FAILURE']);
    // Text no database stores is refused at the gateway, inline or as a variable, nested or not.
    expect(await post({ query: 'query($v: ID!) { copy(id: $v) { id } }', variables: { v: 'Q1\u0000' } }, null)).toEqual([400, 'BAD_USER_INPUT']);
    expect(await post({ query: 'query($v: ID!) { branch(id: $v) { id } }', variables: { v: "'; DROP TABLE SACH;-- \udfff\ud800" } }, null)).toEqual([400, 'BAD_USER_INPUT']);
    expect(await post({ query: '{ books(search: "Nguyễn 😀", first: 1) { totalCount } }' }, null)).toEqual([200, undefined]);
    expect(await post({ query: '{ branches { id } }', extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }, null)).toEqual([400, 'BAD_REQUEST']);
  });

  it('answers a wrong password and an unknown user alike, and throttles repeated failures', async () => {
    const login = (u: string, p: string) => chain.query('mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token role } }', { u, p }, undefined, null);
    const wrong = await login('thuthu_q5', 'not the password');
    const unknown = await login('nobody_here', 'not the password');
    expect([wrong.errors?.[0].extensions.code, wrong.errors?.[0].message]).toEqual(['UNAUTHENTICATED', 'wrong username or password']);
    expect([unknown.errors?.[0].extensions.code, unknown.errors?.[0].message]).toEqual(['UNAUTHENTICATED', 'wrong username or password']);
    for (let i = 0; i < 4; i++) await login('thuthu_q5', `wrong ${i}`);
    // Five failures for the name: even the right password waits now.
    const throttled = await login('thuthu_q5', DEMO_PASSWORD);
    expect(throttled.errors?.[0].extensions).toMatchObject({ code: 'LOGIN_THROTTLED' });
    expect(throttled.errors?.[0].extensions.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('refuses a forged, tampered or malformed token, and a disabled account cannot log in', async () => {
    const token = await chain.token('thuthu_q1');
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const promoted = Buffer.from(JSON.stringify({ ...claims, role: 'QUANLY', branch: null })).toString('base64url');
    for (const bad of [`${header}.${promoted}.${signature}`, `${token}x`, 'not-a-token']) {
      const res = await fetch(chain.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bad}` }, body: JSON.stringify({ query: '{ branches { id } }' }) });
      const body = (await res.json()) as any;
      expect([res.status, body.errors?.[0].extensions.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
    const disabled = await chain.query('mutation { setStaffAccountDisabled(username: "thuthu_q3", disabled: true) { disabled } }');
    expect(disabled.data.setStaffAccountDisabled).toEqual({ disabled: true });
    const login = await chain.query('mutation($p: String!) { login(username: "thuthu_q3", password: $p) { token } }', { p: DEMO_PASSWORD }, undefined, null);
    expect(login.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    await chain.query('mutation { setStaffAccountDisabled(username: "thuthu_q3", disabled: false) { disabled } }');
  });

  it('keeps an audit line of every mutation, allowed or refused, that managers can read', async () => {
    const r = readerAt('Q1');
    const lent = await chain.query('mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }', { r, c: copyAt('Q1') }, undefined, 'thuthu_q1');
    expect(lent.errors).toBeUndefined();
    const refused = await chain.query(`mutation { addCopy(isbn: "${isbn}", branchId: "Q5") { id } }`, {}, undefined, 'thuthu_q1');
    expect(refused.errors?.[0].extensions.code).toBe('FORBIDDEN_BRANCH');
    const trail = await chain.query('{ auditLog(user: "thuthu_q1", first: 5) { edges { node { user role operation outcome code gid branches arguments } } } }');
    const lines = trail.data.auditLog.edges.map((e: any) => e.node);
    expect(lines[0]).toMatchObject({ user: 'thuthu_q1', role: 'THUTHU', operation: 'addCopy', outcome: 'FORBIDDEN', code: 'FORBIDDEN_BRANCH', branches: ['Q5'] });
    expect(lines[1]).toMatchObject({ user: 'thuthu_q1', role: 'THUTHU', operation: 'borrowCopy', outcome: 'COMMITTED', code: null });
    expect(lines[1].gid).toMatch(/^Q1\./);
    expect(JSON.parse(lines[1].arguments)).toMatchObject({ readerId: r });
    // A new password never reaches the trail.
    await chain.query('mutation { resetStaffPassword(username: "thuthu_q5", password: "một mật khẩu mới") { username } }');
    const reset = await chain.query('{ auditLog(branchId: "Q1", first: 1) { edges { node { operation arguments } } } }');
    expect(reset.data.auditLog.edges[0].node.operation).toBe('resetStaffPassword');
    expect(reset.data.auditLog.edges[0].node.arguments).not.toContain('một mật khẩu mới');
    // Nor does one in a variable of any name, of a mutation the role check refused.
    const secret = 'bí mật của thủ thư 2026';
    const refusedReset = await chain.query('mutation($u: ID!, $newPw: String!) { resetStaffPassword(username: $u, password: $newPw) { username } }', { u: 'quanly', newPw: secret }, undefined, 'thuthu_q1');
    expect(refusedReset.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const refusedLine = await chain.query('{ auditLog(user: "thuthu_q1", first: 1) { edges { node { operation outcome arguments } } } }');
    expect(refusedLine.data.auditLog.edges[0].node).toMatchObject({ operation: 'resetStaffPassword', outcome: 'FORBIDDEN' });
    expect(JSON.parse(refusedLine.data.auditLog.edges[0].node.arguments)).toEqual({ username: 'quanly', password: '[secret]' });
  });

  it('counts parallel failed logins before checking them, and one spelling per account', async () => {
    const login = (u: string, p: string) => chain.query('mutation($u: String!, $p: String!) { login(username: $u, password: $p) { username } }', { u, p }, undefined, null);
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => login('thuthu_q1', `wrong ${i}`)));
    const codes = burst.map((a) => a.errors?.[0].extensions.code);
    // At most five got as far as a password check; the rest were throttled.
    expect(codes.filter((c) => c === 'UNAUTHENTICATED').length).toBeLessThanOrEqual(5);
    expect(codes.filter((c) => c === 'LOGIN_THROTTLED').length).toBeGreaterThanOrEqual(7);
    // A fullwidth or upper-case spelling is the same account, and its token names the account as stored.
    const wide = await login('ＱＵＡＮＬＹ', DEMO_PASSWORD);
    expect(wide.data?.login).toEqual({ username: 'quanly' });
  });
});

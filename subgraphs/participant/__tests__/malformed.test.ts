import { TX_ACTIONS, type TxAction } from '../../../contracts';
import { randomBytes } from 'node:crypto';
import { signFetch } from '../../../platform';
import { dropPostgresDatabase, ensurePostgresDatabase, migrate, openPostgres, raw, sql, type SqlExecutor } from '../../../sql';
import { startSiteServer, type SiteHandle } from '../../server';

/**
 * A `/tx` message that does not match its action's schema is refused with a
 * 400 that names the field, and changes nothing: for every action, every
 * required field left out, given the wrong type, or made too long, and
 * operations that are not operations. The site keeps serving afterwards.
 * On a real PostgreSQL server (PG_URL): PGlite does not load inside jest.
 */
const pgDescribe = process.env.PG_URL ? describe : describe.skip;
const gid = 'Q1.test-malformed-1';
const op = { kind: 'copy.add', isbn: '9786040000017', branchId: 'Q1' };

/** A valid body of every action: each case below breaks exactly one thing in one of them. */
const VALID: { [A in TxAction]: Record<string, unknown> } = {
  local: { gid, ops: [op], lines: [] },
  'commit-point': { gid, ops: [op], lines: [] },
  prepare: { gid, ops: [op], commitSite: 'Q3', deadline: '2026-12-01T10:00:00.000Z', lines: [] },
  commit: { gid },
  abort: { gid },
  decide: { gid },
  decision: { gid },
  'by-key': { key: 'k-1' },
  dirty: { limit: 10 },
  watch: { waitMs: 0, wakeOnDirty: true },
  clean: { rows: [{ gid, line: 'Copy:Q1-QS00001' }] },
  status: {},
  locate: { entity: 'Copy', id: 'Q1-QS00001' },
  loan: { id: 'Q1-00000001' },
  staff: { username: 'quanly' },
  audit: {
    entry: { id: 'a-1', at: '2026-12-01T10:00:00.000Z', username: 'quanly', role: 'QUANLY', operation: 'addBook', arguments: '{}', branches: ['Q1'], gid: null, outcome: 'REFUSED', code: 'FORBIDDEN' },
  },
  'audit-log': { limit: 10 },
  'replica-summary': {},
  'replica-rows': { table: 'SACH' },
};

type Case = [name: string, action: string, body: unknown, field: string];

function wrongType(value: unknown): unknown {
  if (typeof value === 'string') return 42;
  if (typeof value === 'number') return 'ten';
  if (Array.isArray(value)) return { not: 'a list' };
  return 'not an object';
}

/** Generated: for every action and every field of its valid body, the field left out and the field of the wrong type. */
function fieldCases(): Case[] {
  const cases: Case[] = [];
  for (const [action, body] of Object.entries(VALID)) {
    for (const [field, value] of Object.entries(body)) {
      const shape = TX_ACTIONS[action as TxAction].request.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
      const optional = shape[field].safeParse(undefined).success;
      if (!optional) cases.push([`${action} without ${field}`, action, { ...body, [field]: undefined }, field]);
      cases.push([`${action} with ${field} of the wrong type`, action, { ...body, [field]: wrongType(value) }, field]);
    }
  }
  return cases;
}

const OPERATION_CASES: Case[] = [
  ['an operation of an unknown kind', 'local', { gid, ops: [{ kind: 'table.drop', table: 'SACH' }] }, 'ops.0.kind'],
  ['an operation with a field it does not have', 'local', { gid, ops: [{ ...op, status: 'Có sẵn' }] }, 'ops.0'],
  ['an operation without its isbn', 'commit-point', { gid, ops: [{ kind: 'copy.add', branchId: 'Q1' }] }, 'ops.0.isbn'],
  ['a branch id that is no site id', 'local', { gid, ops: [{ ...op, branchId: "Q1'; DROP TABLE SACH;--" }] }, 'ops.0.branchId'],
  ['an empty operation list', 'local', { gid, ops: [] }, 'ops'],
  ['a loan with a due date that is no instant', 'prepare', { ...VALID.prepare, ops: [{ kind: 'loan.open', copyId: 'Q1-QS00001', readerId: 'Q1-DG0001', at: 'now', dueAt: 'tomorrow' }] }, 'ops.0.at'],
  ['a gid of 65 characters', 'commit', { gid: 'Q'.repeat(65) }, 'gid'],
  ['a deadline that is no instant', 'prepare', { ...VALID.prepare, deadline: 'soon' }, 'deadline'],
  ['a dirty limit above 1000', 'dirty', { limit: 1001 }, 'limit'],
  ['an id of 41 characters', 'locate', { entity: 'Copy', id: 'x'.repeat(41) }, 'id'],
  ['an entity that cannot be located', 'locate', { entity: 'Book', id: 'x' }, 'entity'],
];

pgDescribe('a malformed /tx message', () => {
  const name = `libfed_malformed_${randomBytes(4).toString('hex')}`;
  let db: SqlExecutor;
  let site: SiteHandle;
  const secret = randomBytes(32).toString('hex');
  const post = async (action: string, body: unknown) => {
    // Signed: these messages must reach the schema check, not stop at the signature check before it.
    const url = `${site.url}/tx/${action}`;
    const res = await fetch(url, signFetch(secret, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }));
    return { status: res.status, body: (await res.json()) as { error?: string } };
  };
  /** Every table a /tx message could change, counted. */
  const counts = async () => {
    const tables = ['QUYENSACH', 'SACH', 'PHIEUMUON', 'DOCGIA', 'libfed_tx', 'libfed_lock', 'libfed_decision', 'libfed_barrier', 'libfed_dirty'];
    return Object.fromEntries(await Promise.all(tables.map(async (t) => [t, Number((await db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${raw(t)}`))[0]?.n)])));
  };

  beforeAll(async () => {
    await ensurePostgresDatabase(process.env.PG_URL!, name);
    const url = new URL(process.env.PG_URL!);
    url.pathname = `/${name}`;
    db = openPostgres(url.toString());
    await migrate(db, 'Q1');
    site = await startSiteServer({ siteId: 'Q1', db, siteSecrets: [secret] });
  });
  afterAll(async () => {
    await site?.stop();
    await db?.close();
    await dropPostgresDatabase(process.env.PG_URL!, name);
  });

  it.each([...fieldCases(), ...OPERATION_CASES])('is refused with a 400 naming the field, changing nothing: %s', async (_name, action, body, field) => {
    const before = await counts();
    const answer = await post(action, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toContain(`${field}:`);
    expect(await counts()).toEqual(before);
  });

  it('survives _entities keys that are not strings beside one its database refuses (found by the fuzz test)', async () => {
    const url = `${site.url}/catalog`;
    const query = 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }';
    const body = JSON.stringify({ query, variables: { r: [{ __typename: 'Book', isbn: 'a\u0000b' }, { __typename: 'Book', isbn: null }, { __typename: 'Book', isbn: 7 }] } });
    const res = await fetch(url, signFetch(secret, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
    expect(res.status).toBeLessThan(500);
    await new Promise((r) => setTimeout(r, 200));
    // Still serving: the process did not die of an unhandled rejection.
    expect((await fetch(`${site.url}/health`)).status).toBe(200);
  });

  it('refuses a query deeper than a gateway ever sends, instead of answering it exponentially (found by the fuzz test)', async () => {
    const url = `${site.url}/loans`;
    let chain = 'id';
    for (let i = 0; i < 12; i++) chain = i % 2 ? `reader { loans { ${chain} } }` : `copy { loans { ${chain} } }`;
    const body = JSON.stringify({ query: `{ loans(first: 1) { edges { node { ${chain} } } } }` });
    const res = await fetch(url, signFetch(secret, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
    const answer = (await res.json()) as any;
    expect([res.status < 500, answer.errors?.[0]?.message]).toEqual([true, expect.stringMatching(/depth limit of 16/)]);
  });

  it('an unknown action or a body that is not JSON is refused; the site keeps serving', async () => {
    expect(await post('drop', {})).toEqual({ status: 400, body: { error: expect.stringContaining('unknown action drop') } });
    expect((await post('commit', '{"gid": ')).status).toBe(400);
    // The valid bodies are served: the site did not stop at any of the refusals above.
    expect((await post('status', VALID.status)).status).toBe(200);
    expect((await post('locate', VALID.locate)).body).toEqual({ held: false });
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TX_ACTIONS, type TxAction } from '../contracts';
import { ROOT, secretsEnv, startProcess } from '../launch/chain';
import { sign, signFetch } from '../platform';
import { codeOf, SUBGRAPHS, type SubgraphName } from '../schema';
import { openPostgres, raw, sql, type SqlExecutor } from '../sql';
import type { DemoData } from '../sql/seed';
import { DEMO_PASSWORD, demoData } from './fixture';
import { BACKENDS, startTestChain, type TestChain } from './harness';

/**
 * "Site calls are signed" (README, Signed site calls): a request straight to
 * a site — every subgraph endpoint and every `/tx` action, each with a body
 * it would act on — is refused with 401 UNAUTHENTICATED when it is unsigned,
 * signed with a secret the site does not hold, stale, tampered with, or a
 * replay of one already served, and the site's data is unchanged; `/health`
 * stays open and the gateway, which signs, works as before. Then rotation:
 * a site holding A,B takes calls signed with either; a site holding A alone
 * refuses B; a site or gateway without any secret does not start.
 */
const SITE = 'Q1';
const gid = (what: string) => `${SITE}.signed-${what}-${randomBytes(3).toString('hex')}`;

/** A valid body of every action, in an order whose effects do not get in each other's way (prepare, then commit its gid). */
function validBodies(isbn: string): { [A in TxAction]: Record<string, unknown> } {
  const prepared = gid('prepare');
  const copyAdd = { kind: 'copy.add', isbn, branchId: SITE };
  return {
    status: {},
    locate: { entity: 'Copy', id: `${SITE}-QS00001` },
    loan: { id: `${SITE}-00000001` },
    decision: { gid: gid('decision') },
    'by-key': { key: 'signed-sites-key' },
    dirty: { limit: 10 },
    watch: { waitMs: 0, wakeOnDirty: false },
    staff: { username: 'nobody' },
    'audit-log': { limit: 5 },
    'replica-summary': {},
    'replica-rows': { table: 'CHINHANH' },
    local: { gid: gid('local'), ops: [copyAdd], lines: [] },
    'commit-point': { gid: gid('commit-point'), ops: [copyAdd], lines: [] },
    prepare: { gid: prepared, ops: [copyAdd], commitSite: 'Q3', deadline: new Date(Date.now() + 10 * 60_000).toISOString(), lines: [] },
    commit: { gid: prepared },
    abort: { gid: gid('abort') },
    decide: { gid: gid('decide') },
    clean: { rows: [{ gid: gid('clean'), line: `Copy:${SITE}-QS00001` }] },
    audit: {
      entry: { id: `signed-${randomBytes(4).toString('hex')}`, at: new Date().toISOString(), username: null, role: 'ANONYMOUS', operation: 'addCopy', arguments: '{}', branches: [SITE], gid: null, outcome: 'REFUSED', code: null },
    },
  };
}

/** A body of every subgraph endpoint: a query that reads this site's fragment. */
const SUBGRAPH_QUERIES: Record<SubgraphName, string> = {
  catalog: '{ branches { id name } books(first: 3) { totalCount } }',
  inventory: `{ copy(id: "${SITE}-QS00001") { id status } }`,
  readers: '{ readers(first: 3) { totalCount edges { node { id } } } }',
  loans: '{ loans(first: 3) { totalCount } loanStats { total open } }',
};

interface Endpoint {
  name: string;
  path: string;
  body: string;
}

function endpoints(isbn: string): Endpoint[] {
  const subgraphs = SUBGRAPHS.map((s) => ({ name: `/${s}`, path: `/${s}`, body: JSON.stringify({ query: SUBGRAPH_QUERIES[s] }) }));
  const actions = Object.entries(validBodies(isbn)).map(([action, body]) => ({ name: `/tx/${action}`, path: `/tx/${action}`, body: JSON.stringify(body) }));
  return [...subgraphs, ...actions];
}

/**
 * What a site holds, to compare before and after. On PostgreSQL: every user
 * table's row count and an md5 of its rows in order, read from the database
 * itself. PGlite belongs to the site process alone, so there: signed reads of
 * every list the site serves (books, the copies of each, readers, loans) and
 * of its participant's state.
 */
type Snapshot = () => Promise<string>;

function postgresSnapshot(db: SqlExecutor): Snapshot {
  return async () => {
    const tables = await db.query<{ name: string }>(sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`);
    const rows = [];
    for (const { name } of tables) {
      const table = raw(`"${name.replace(/"/g, '""')}"`);
      const [r] = await db.query<{ n: number; h: string }>(sql`SELECT COUNT(*)::int AS n, md5(COALESCE(string_agg(t::text, chr(10) ORDER BY t::text), '')) AS h FROM ${table} t`);
      rows.push(`${name} ${r.n} ${r.h}`);
    }
    return rows.join('\n');
  };
}

function signedReadSnapshot(chain: TestChain, siteUrl: string): Snapshot {
  const post = async (path: string, body: unknown) => {
    const res = await chain.siteFetch(`${siteUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as any;
    if (res.status !== 200 || json.errors) throw new Error(`snapshot read ${path} answered ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  };
  const all = async (path: string, field: string, node: string) => {
    const nodes: unknown[] = [];
    for (let after: string | null = null; ; ) {
      const page: any = (await post(path, { query: `query($after: String) { ${field}(first: 100, after: $after) { edges { node { ${node} } } pageInfo { hasNextPage endCursor } } }`, variables: { after } })).data[field];
      nodes.push(...page.edges.map((e: { node: unknown }) => e.node));
      if (!page.pageInfo.hasNextPage) return nodes;
      after = page.pageInfo.endCursor;
    }
  };
  return async () => {
    const books = (await all('/catalog', 'books', 'isbn title author version')) as { isbn: string }[];
    const copies = await post('/inventory', {
      query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Book { isbn copies { id status } availability { available total } } } }',
      variables: { r: books.map((b) => ({ __typename: 'Book', isbn: b.isbn })) },
    });
    const state = {
      branches: (await post('/catalog', { query: '{ branches { id name address } }' })).data,
      books,
      copies: copies.data,
      readers: await all('/readers', 'readers', 'id name openLoanCount'),
      loans: await all('/loans', 'loans', 'id borrowedAt dueAt returnedAt'),
      participant: await post('/tx/status', {}),
      dirty: await post('/tx/dirty', { limit: 1000 }),
    };
    return createHash('sha256').update(JSON.stringify(state)).digest('hex');
  };
}

/** A mutation as the demo manager: mutations need a staff login (the login itself reads accounts through signed `/tx` calls). */
async function asManager(chain: TestChain, query: string, variables: Record<string, unknown>): Promise<{ data?: any; errors?: any[] }> {
  const login = await chain.query('mutation($p: String!) { login(username: "quanly", password: $p) { token } }', { p: DEMO_PASSWORD });
  expect(login.errors).toBeUndefined();
  const res = await fetch(chain.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${login.data.login.token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}

async function expectUnauthenticated(res: Response): Promise<void> {
  const body = (await res.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
  expect({ status: res.status, code: codeOf(body.errors?.[0]) }).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
}

describe.each(BACKENDS)('direct calls to a site on %s', (backend) => {
  let chain: TestChain;
  let data: DemoData;
  let db: SqlExecutor | undefined;
  let snapshot: Snapshot;
  let siteUrl: string;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    // Without the cache there is no drain: nothing but these requests touches the site while they run.
    chain = await startTestChain(backend, { gatewayArgs: ['--no-cache'] });
    data = demoData(chain.config);
    siteUrl = chain.sites.get(SITE)!.url;
    const database = chain.config.sites.find((s) => s.id === SITE)!.database;
    db = database.kind === 'postgres' ? openPostgres(database.url, { poolMax: 2 }) : undefined;
    snapshot = db ? postgresSnapshot(db) : signedReadSnapshot(chain, siteUrl);
  }, 180_000);
  afterAll(async () => {
    await db?.close();
    await chain?.close();
  });

  it('has a valid body for every /tx action', () => {
    const bodies = validBodies(data.copies[0].isbn);
    expect(Object.keys(bodies).sort()).toEqual(Object.keys(TX_ACTIONS).sort());
    for (const [action, body] of Object.entries(bodies)) expect([action, TX_ACTIONS[action as TxAction].request.safeParse(body).error?.issues]).toEqual([action, undefined]);
  });

  it('refuses every endpoint unsigned, wrongly signed, stale, tampered with or replayed, and changes nothing', async () => {
    const stranger = randomBytes(32).toString('hex');
    const secret = chain.siteSecrets[0];
    const changedBy: string[] = [];
    for (const e of endpoints(data.copies[0].isbn)) {
      const url = `${siteUrl}${e.path}`;
      const before = await snapshot();
      const stale = sign(secret, { method: 'POST', path: e.path, body: e.body, timestamp: Date.now() - 60_000, nonce: randomBytes(16).toString('base64url') });
      const signed = signFetch(secret, url, { method: 'POST', headers: json, body: e.body });
      const refused = [
        fetch(url, { method: 'POST', headers: json, body: e.body }),
        fetch(url, signFetch(stranger, url, { method: 'POST', headers: json, body: e.body })),
        fetch(url, { method: 'POST', headers: { ...json, ...stale }, body: e.body }),
        fetch(url, { ...signed, body: e.body.replace(/}$/, ' }') }),
      ];
      for (const res of await Promise.all(refused)) await expectUnauthenticated(res);
      expect([e.name, await snapshot()]).toEqual([e.name, before]);

      // The same request, signed, is served once; sent again it is a replay.
      const served = await fetch(url, signed);
      expect([e.name, served.status]).toEqual([e.name, 200]);
      const after = await snapshot();
      if (after !== before) changedBy.push(e.name);
      await expectUnauthenticated(await fetch(url, signed));
      expect([e.name, await snapshot()]).toEqual([e.name, after]);
    }
    // The snapshot does see a change: the writes that were served, signed, show in it.
    expect(changedBy).toEqual(expect.arrayContaining(['/tx/local', '/tx/commit-point', '/tx/prepare', '/tx/commit']));
  }, 240_000);

  it('keeps /health open and /metrics closed', async () => {
    const health = await fetch(`${siteUrl}/health`);
    expect([health.status, await health.json()]).toEqual([200, { site: SITE, status: 'ok' }]);
    await expectUnauthenticated(await fetch(`${siteUrl}/metrics`));
    expect((await chain.siteFetch(`${siteUrl}/metrics`)).status).toBe(200);
  });

  it('the gateway, which signs, answers queries and mutations as before', async () => {
    const read = await chain.query('{ branches { id } loans(first: 5) { totalCount } }');
    expect(read.errors).toBeUndefined();
    expect(read.data.branches.map((b: { id: string }) => b.id)).toEqual(chain.config.sites.map((s) => s.id));
    const write = await asManager(chain, 'mutation($isbn: ID!) { addCopy(isbn: $isbn, branchId: "Q3") { id status } }', { isbn: data.copies[0].isbn });
    expect(write.errors).toBeUndefined();
    expect(write.data.addCopy.status).toBe('AVAILABLE');
  });
});

describe('rotating the site secret', () => {
  const a = `secret-a-${randomBytes(16).toString('hex')}`;
  const b = `secret-b-${randomBytes(16).toString('hex')}`;
  let chain: TestChain;
  let data: DemoData;

  beforeAll(async () => {
    // Step 2 of a rotation: the gateway already signs with B, the sites accept A and B.
    chain = await startTestChain('pglite', { siteSecrets: [a, b], gatewaySecrets: [b], gatewayArgs: ['--no-cache'] });
    data = demoData(chain.config);
  }, 180_000);
  afterAll(() => chain?.close());

  it('a gateway signing with B works while the sites accept A and B, and the sites take A too', async () => {
    const read = await chain.query('{ loans(first: 5) { totalCount } }');
    expect(read.errors).toBeUndefined();
    const write = await asManager(chain, 'mutation($isbn: ID!) { addCopy(isbn: $isbn, branchId: "Q5") { id } }', { isbn: data.copies[0].isbn });
    expect(write.errors).toBeUndefined();
    const url = `${chain.sites.get(SITE)!.url}/tx/status`;
    for (const secret of [a, b]) expect((await fetch(url, signFetch(secret, url, { method: 'POST', body: '{}' }))).status).toBe(200);
  });

  it('a site accepting only A refuses a call signed with B', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'libfed-signed-'));
    const site = await startProcess('site A only', 'subgraphs/main.ts', ['--site', SITE, '--config', join(ROOT, 'schema', 'sites.yaml'), '--data', dir, '--port', '0'], { env: secretsEnv([a]) });
    try {
      const url = `${site.url}/tx/status`;
      await expectUnauthenticated(await fetch(url, signFetch(b, url, { method: 'POST', body: '{}' })));
      expect((await fetch(url, signFetch(a, url, { method: 'POST', body: '{}' }))).status).toBe(200);
    } finally {
      await site.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a site or a gateway started without any secret refuses to start, saying what to set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'libfed-signed-'));
    try {
      const unset = { env: { LIBFED_SITE_SECRETS: '' } };
      await expect(startProcess('site', 'subgraphs/main.ts', ['--site', SITE, '--data', dir, '--port', '0'], unset)).rejects.toThrow(/site failed to start: LIBFED_SITE_SECRETS is unset/);
      await expect(startProcess('gateway', 'gateway/main.ts', ['--port', '0'], unset)).rejects.toThrow(/gateway failed to start: LIBFED_SITE_SECRETS is unset/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

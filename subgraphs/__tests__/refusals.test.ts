import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { signFetch } from '../../platform';
import { migrate } from '../../sql';
import { emptyDatabase, pgDescribe } from '../../sql/__tests__/databases';
import { startSiteServer, type SiteHandle } from '../server';

/**
 * What a site refuses from a signed caller before any resolver or statement
 * runs (subgraphs/refusals.ts), each with a code and never as an internal
 * error: text no database stores (in a variable, a literal, a /tx body or a
 * crafted cursor), `_entities` representations that are not objects with
 * string keys, and the root fields only the gateway answers.
 * On a real PostgreSQL server (PG_URL): it refuses NUL and lone surrogates itself.
 */
pgDescribe('a site refuses malformed signed requests with a code', () => {
  const secret = randomBytes(32).toString('hex');
  let database: Awaited<ReturnType<typeof emptyDatabase>>;
  let site: SiteHandle;

  beforeAll(async () => {
    database = await emptyDatabase('refusals');
    await migrate(database.db, 'Q1');
    site = await startSiteServer({ siteId: 'Q1', db: database.db, siteSecrets: [secret], log: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await site?.stop();
    await database?.drop();
  });

  const post = async (path: string, body: unknown) => {
    const url = `${site.url}${path}`;
    const res = await fetch(url, signFetch(secret, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
    return { status: res.status, body: (await res.json()) as any };
  };
  const codes = (body: any) => (body.errors ?? []).map((e: any) => e.extensions?.code);

  it.each([
    ['a NUL in a variable', { query: 'query($u: ID!) { staffAccount(username: $u) { username } }', variables: { u: 'a\u0000b' } }],
    ['a lone surrogate in a variable', { query: 'query($u: ID!) { staffAccount(username: $u) { username } }', variables: { u: 'x\udfff' } }],
    ['a NUL in a literal', { query: '{ staffAccount(username: "a\\u0000b") { username } }' }],
    ['a lone surrogate in a representation', { query: 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', variables: { r: [{ __typename: 'Book', isbn: '\u001b\udfff' }] } }],
  ])('%s: BAD_USER_INPUT', async (_what, request) => {
    const answer = await post('/catalog', request);
    expect({ status: answer.status, codes: codes(answer.body) }).toEqual({ status: 400, codes: ['BAD_USER_INPUT'] });
  });

  it.each([
    ['a key that is not a string', [{ __typename: 'Loan', id: 0 }]],
    ['a null key', [{ __typename: 'Loan', id: null }]],
    ['a representation that is not an object', [5]],
    ['a type this subgraph does not have', [{ __typename: 'Nope', id: 'Q1-PM1' }]],
    ['a type that is not an entity', [{ __typename: 'String', id: 'Q1-PM1' }]],
    ['the root type', [{ __typename: 'Query', id: 'Q1-PM1' }]],
  ])('_entities with %s: BAD_USER_INPUT', async (_what, representations) => {
    const answer = await post('/loans', { query: 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', variables: { r: representations } });
    expect(codes(answer.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('answers a gateway-only root field with BAD_REQUEST naming the gateway', async () => {
    for (const query of ['{ auditLog { edges { cursor } } }', '{ transactions { __typename } }']) {
      const answer = await post('/loans', { query });
      expect(codes(answer.body)).toEqual(['BAD_REQUEST']);
      expect(answer.body.errors[0].message).toMatch(/answered by the gateway/);
    }
  });

  it('refuses a crafted cursor holding text no database stores with INVALID_CURSOR', async () => {
    const after = Buffer.from(JSON.stringify(['x\ud800', 'Q1-DG0001', 'readers:whatever'])).toString('base64url');
    const answer = await post('/readers', { query: 'query($a: String) { readers(after: $a) { totalCount } }', variables: { a: after } });
    expect(codes(answer.body)).toEqual(['INVALID_CURSOR']);
  });

  it('refuses a /tx body holding a NUL with 400, and keeps serving', async () => {
    const answer = await post('/tx/locate', { entity: 'Copy', id: 'Q1\u0000' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(/body\.id holds a NUL/);
    expect((await post('/tx/locate', { entity: 'Copy', id: 'Q1-QS00001' })).status).toBe(200);
  });
});

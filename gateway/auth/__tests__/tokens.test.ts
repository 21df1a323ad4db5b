import fc from 'fast-check';
import { SignJWT } from 'jose';
import { Tokens, TOKEN_LIFETIME_S } from '../tokens';

/** Tokens name exactly who logged in, until they expire; anything else is UNAUTHENTICATED. */
const SECRET = 'a'.repeat(40);
const codeOf = (p: Promise<unknown>) => p.then(() => 'OK', (e) => e.extensions?.code);

describe('bearer tokens', () => {
  const tokens = new Tokens(SECRET);

  it('carry the role and a librarian\'s branch, for any user name', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[a-z0-9_.-]{3,64}$/), fc.constantFrom(['THUTHU', 'Q3'] as const, ['QUANLY', null] as const), async (username, [role, branch]) => {
        const session = await tokens.issue(username, role, branch);
        expect(await tokens.verify(session.token)).toEqual({ username, role, branch });
      }),
      { numRuns: 30 },
    );
  });

  it('refuses one that expired, one signed with another secret, and one whose claims do not fit a role', async () => {
    const expired = await tokens.issue('thuthu_q1', 'THUTHU', 'Q1', Date.now() - (TOKEN_LIFETIME_S + 60) * 1000);
    const foreign = await new Tokens('b'.repeat(40)).issue('quanly', 'QUANLY', null);
    const key = new TextEncoder().encode(SECRET);
    const librarianWithoutBranch = await new SignJWT({ role: 'THUTHU', branch: null }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer('libfed').setExpirationTime('1h').sign(key);
    const unknownRole = await new SignJWT({ role: 'ADMIN', branch: null }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer('libfed').setExpirationTime('1h').sign(key);
    const codes = await Promise.all([expired.token, foreign.token, librarianWithoutBranch, unknownRole].map((t) => codeOf(tokens.verify(t))));
    expect(codes).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
  });

  it('refuses a token with any one character changed', async () => {
    const { token } = await tokens.issue('thuthu_q1', 'THUTHU', 'Q1');
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 1 }), fc.constantFrom(...'ABCabc012-_'), async (at, c) => {
        fc.pre(token[at] !== c && token[at] !== '.');
        const changed = token.slice(0, at) + c + token.slice(at + 1);
        // A change in the signature's last character may only flip unused base64 bits: then it is the same token.
        const same = at === token.length - 1 && Buffer.from(changed.split('.')[2], 'base64url').equals(Buffer.from(token.split('.')[2], 'base64url'));
        expect(await codeOf(tokens.verify(changed))).toBe(same ? 'OK' : 'UNAUTHENTICATED');
      }),
      { numRuns: 100 },
    );
  });

  it('will not start with a short secret', () => {
    expect(() => new Tokens('short')).toThrow(/at least 32 characters/);
  });
});

describe('a verified token, remembered', () => {
  it('names the same caller until it expires, then is UNAUTHENTICATED like any expired token', async () => {
    let now = Date.UTC(2026, 11, 1, 8);
    const tokens = new Tokens(SECRET, () => now);
    const { token } = await tokens.issue('thuthu_q3', 'THUTHU', 'Q3', now);
    expect(await tokens.verify(token)).toEqual({ username: 'thuthu_q3', role: 'THUTHU', branch: 'Q3' });
    now += (TOKEN_LIFETIME_S - 1) * 1000;
    expect(await tokens.verify(token)).toEqual({ username: 'thuthu_q3', role: 'THUTHU', branch: 'Q3' });
    now += 1000;
    await expect(tokens.verify(token)).rejects.toMatchObject({ message: expect.stringContaining('has expired'), extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('never answers a token that differs from a verified one by a character', async () => {
    const tokens = new Tokens(SECRET);
    const { token } = await tokens.issue('quanly', 'QUANLY', null);
    await tokens.verify(token);
    const forged = token.replace(/\.[^.]+\./, (payload) => `.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload.slice(1, -1), 'base64url').toString()), sub: 'quản lý' })).toString('base64url')}.`);
    expect(await codeOf(tokens.verify(forged))).toBe('UNAUTHENTICATED');
    expect(await tokens.verify(token)).toEqual({ username: 'quanly', role: 'QUANLY', branch: null });
  });
});

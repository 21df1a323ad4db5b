import fc from 'fast-check';
import { NonceCache, parseSecrets, requestSigner, sign, SIGNATURE_HEADERS, signFetch, verify, type SignedRequest, type Verdict } from '../signing';

/**
 * The signing primitives as properties: a signature covers every part of a
 * request, any accepted secret verifies it, a timestamp outside the window or
 * a nonce seen before is refused, and the bounded nonce cache never lets a
 * forgotten nonce through.
 */
const WINDOW_MS = 30_000;
const secretArb = fc.string({ minLength: 16, maxLength: 40 });
const nonceArb = fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/);
const requestArb: fc.Arbitrary<SignedRequest> = fc.record({
  method: fc.string({ minLength: 1, maxLength: 10 }),
  path: fc.string({ maxLength: 60 }).map((p) => `/${p}`),
  body: fc.uint8Array({ maxLength: 200 }),
  timestamp: fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
  nonce: nonceArb,
});

// Small: lru-cache allocates its slots up front, and each check below makes a cache of its own.
const cache = () => new NonceCache({ windowMs: WINDOW_MS, max: 64 });

/** Verifies `r` as received, at its own timestamp, with a fresh nonce cache. */
function check(headers: Record<string, string>, r: SignedRequest, secrets: readonly string[], now = r.timestamp, nonces = cache()): Verdict {
  return verify(headers, r.method, r.path, r.body, secrets, now, nonces);
}

const mismatch = { ok: false, reason: expect.stringContaining('signature does not match') };

describe('sign and verify', () => {
  it('accepts a request exactly as signed', () => {
    fc.assert(fc.property(secretArb, requestArb, (secret, r) => expect(check(sign(secret, r), r, [secret])).toEqual({ ok: true })));
  });

  it('refuses a request with any one part changed: method, path, one body byte, timestamp or nonce', () => {
    fc.assert(
      fc.property(secretArb, requestArb, fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 60 }), (secret, r, method, path) => {
        fc.pre(method !== r.method && `/${path}` !== r.path);
        const headers = sign(secret, r);
        expect(check(headers, { ...r, method }, [secret])).toEqual(mismatch);
        expect(check(headers, { ...r, path: `/${path}` }, [secret])).toEqual(mismatch);
      }),
    );
    fc.assert(
      fc.property(secretArb, requestArb.filter((r) => r.body.length > 0), fc.nat(), fc.integer({ min: 1, max: 255 }), (secret, r, at, flip) => {
        const body = Uint8Array.from(r.body as Uint8Array);
        body[at % body.length] ^= flip;
        expect(check(sign(secret, r), { ...r, body }, [secret])).toEqual(mismatch);
      }),
    );
    fc.assert(
      fc.property(secretArb, requestArb, fc.integer({ min: -WINDOW_MS, max: WINDOW_MS }).filter((d) => d !== 0), nonceArb, (secret, r, shift, nonce) => {
        fc.pre(nonce !== r.nonce);
        const headers = sign(secret, r);
        // Both stay well-formed and fresh: only the MAC can tell.
        expect(check({ ...headers, [SIGNATURE_HEADERS.timestamp]: String(r.timestamp + shift) }, r, [secret])).toEqual(mismatch);
        expect(check({ ...headers, [SIGNATURE_HEADERS.nonce]: nonce }, r, [secret])).toEqual(mismatch);
      }),
    );
  });

  it('accepts a request signed with either secret of a rotation, in either order, and no other', () => {
    fc.assert(
      fc.property(secretArb, secretArb, secretArb, requestArb, (a, b, other, r) => {
        fc.pre(new Set([a, b, other]).size === 3);
        for (const signer of [a, b]) {
          expect(check(sign(signer, r), r, [a, b])).toEqual({ ok: true });
          expect(check(sign(signer, r), r, [b, a])).toEqual({ ok: true });
        }
        expect(check(sign(other, r), r, [a, b])).toEqual(mismatch);
        expect(check(sign(b, r), r, [a])).toEqual(mismatch);
      }),
    );
  });

  it('refuses a timestamp further than the window from the clock, stale or ahead, and accepts one within it', () => {
    fc.assert(
      fc.property(secretArb, requestArb, fc.integer({ min: WINDOW_MS + 1, max: 10 * WINDOW_MS }), fc.integer({ min: 0, max: WINDOW_MS }), (secret, r, beyond, within) => {
        const headers = sign(secret, r);
        expect(check(headers, r, [secret], r.timestamp + beyond)).toEqual({ ok: false, reason: expect.stringMatching(/ms old, over the 30000 ms window/) });
        expect(check(headers, r, [secret], r.timestamp - beyond)).toEqual({ ok: false, reason: expect.stringMatching(/ms ahead, over the 30000 ms window/) });
        expect(check(headers, r, [secret], r.timestamp + within)).toEqual({ ok: true });
        expect(check(headers, r, [secret], r.timestamp - within)).toEqual({ ok: true });
      }),
    );
  });

  it('refuses a replayed nonce, however the replay is timed within the window', () => {
    fc.assert(
      fc.property(secretArb, requestArb, fc.integer({ min: -WINDOW_MS, max: WINDOW_MS }), (secret, r, later) => {
        const nonces = cache();
        const headers = sign(secret, r);
        expect(check(headers, r, [secret], r.timestamp, nonces)).toEqual({ ok: true });
        expect(check(headers, r, [secret], r.timestamp + later, nonces)).toEqual({ ok: false, reason: expect.stringContaining('replay') });
      }),
    );
  });

  it('never accepts a replay when the nonce cache is full: a forgotten nonce is covered by the floor', () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 1, max: 5 }), fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 30 }), fc.nat(), (secret, max, gaps, pick) => {
        const nonces = new NonceCache({ windowMs: WINDOW_MS, max });
        let timestamp = 1_700_000_000_000;
        const sent = gaps.map((gap, i) => {
          timestamp += gap;
          const r: SignedRequest = { method: 'POST', path: '/tx/commit', body: `{"gid":"g${i}"}`, timestamp, nonce: `nonce-${String(i).padStart(12, '0')}` };
          return { r, headers: sign(secret, r) };
        });
        for (const { r, headers } of sent) check(headers, r, [secret], r.timestamp, nonces);
        const { r, headers } = sent[pick % sent.length];
        expect(check(headers, r, [secret], timestamp, nonces).ok).toBe(false);
      }),
    );
  });

  it('names what is missing or malformed', () => {
    const r: SignedRequest = { method: 'POST', path: '/catalog', body: '{}', timestamp: 1_700_000_000_000, nonce: 'A'.repeat(22) };
    const headers = sign('s'.repeat(16), r);
    expect(check({}, r, ['s'.repeat(16)])).toEqual({ ok: false, reason: 'the request is not signed' });
    expect(check({ ...headers, [SIGNATURE_HEADERS.timestamp]: '17e11' }, r, ['s'.repeat(16)]).ok).toBe(false);
    expect(check({ ...headers, [SIGNATURE_HEADERS.nonce]: 'short' }, r, ['s'.repeat(16)]).ok).toBe(false);
    expect(check({ ...headers, [SIGNATURE_HEADERS.signature]: 'zz' }, r, ['s'.repeat(16)]).ok).toBe(false);
    // A repeated header arrives as an array: not one value, so not trusted.
    expect(verify({ ...headers, [SIGNATURE_HEADERS.nonce]: [r.nonce, r.nonce] }, r.method, r.path, r.body, ['s'.repeat(16)], r.timestamp, cache()).ok).toBe(false);
  });
});

describe('requestSigner and signFetch', () => {
  const secret = 'a-secret-of-the-chain';

  it('sign the path and query of the URL, with a fresh nonce per request', () => {
    const signer = requestSigner(secret, { now: () => 1_700_000_000_000 });
    const first = signer('POST', 'http://127.0.0.1:4001/tx/status?x=1', '{}');
    const second = signer('POST', 'http://127.0.0.1:4001/tx/status?x=1', '{}');
    expect(first[SIGNATURE_HEADERS.nonce]).not.toEqual(second[SIGNATURE_HEADERS.nonce]);
    const r = { method: 'POST', path: '/tx/status?x=1', body: '{}', timestamp: 1_700_000_000_000, nonce: first[SIGNATURE_HEADERS.nonce] };
    expect(check(first, r, [secret])).toEqual({ ok: true });
    expect(check(first, { ...r, path: '/tx/status' }, [secret])).toEqual(mismatch);
  });

  it('signFetch signs the body it is given and keeps the other headers', () => {
    const init = signFetch(secret, 'http://site/catalog', { method: 'post', headers: { 'content-type': 'application/json' }, body: '{"query":"{ branches { id } }"}' });
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    expect(headers['content-type']).toBe('application/json');
    const r = { method: 'POST', path: '/catalog', body: init.body as string, timestamp: Number(headers[SIGNATURE_HEADERS.timestamp]), nonce: headers[SIGNATURE_HEADERS.nonce] };
    expect(check(headers, r, [secret], Date.now())).toEqual({ ok: true });
  });

  it('refuse a secret too short to be one', () => {
    expect(() => requestSigner('short')).toThrow(/at least 16 characters/);
  });
});

describe('parseSecrets', () => {
  it('reads a comma-separated list, first the signing one, and refuses none or a short one, naming the variable', () => {
    expect(parseSecrets(' new-secret-0123456789 , old-secret-0123456789 ')).toEqual(['new-secret-0123456789', 'old-secret-0123456789']);
    expect(() => parseSecrets(undefined)).toThrow(/^LIBFED_SITE_SECRETS is unset/);
    expect(() => parseSecrets(' , ')).toThrow(/^LIBFED_SITE_SECRETS is unset/);
    expect(() => parseSecrets('long-enough-secret-1,short')).toThrow(/LIBFED_SITE_SECRETS: a secret must be at least 16 characters, got one of 5/);
  });
});

import { jwtVerify, SignJWT, errors } from 'jose';
import { LRUCache } from 'lru-cache';
import { libfedError } from '../../schema';
import type { Caller } from './caller';

/**
 * Bearer tokens: HS256 JWTs carrying the role and, for a librarian, the
 * branch. Every gateway of a chain shares the secret, so a token from one is
 * good at all of them. A token ends at `exp`; a disabled account keeps a
 * token it already has until then (at most the lifetime below).
 */
export const TOKEN_LIFETIME_S = 8 * 3600;
const ISSUER = 'libfed';

export interface Session {
  token: string;
  expiresAt: string;
  username: string;
  role: 'THUTHU' | 'QUANLY';
  branch: { id: string } | null;
}

/** Tokens whose signature and claims were checked, kept until they expire: a client sends the same one with every request. */
const VERIFIED_TOKENS = 10_000;

export class Tokens {
  private readonly key: Uint8Array;
  /** Token text → the caller it names and its `exp` (epoch ms). Keyed by the exact text: any change is a token never seen. */
  private readonly verified = new LRUCache<string, { caller: Caller; expiresAtMs: number }>({ max: VERIFIED_TOKENS });

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    if (secret.length < 32) throw new Error('the token secret (LIBFED_JWT_SECRET) must be at least 32 characters');
    this.key = new TextEncoder().encode(secret);
  }

  async issue(username: string, role: 'THUTHU' | 'QUANLY', branch: string | null, now = Date.now()): Promise<Session> {
    const exp = Math.floor(now / 1000) + TOKEN_LIFETIME_S;
    const token = await new SignJWT({ role, branch })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(username)
      .setIssuer(ISSUER)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000).toISOString(), username, role, branch: branch ? { id: branch } : null };
  }

  /** The caller a token names; a token that is forged, expired or not ours is UNAUTHENTICATED. */
  async verify(token: string): Promise<Caller> {
    const known = this.verified.get(token);
    if (known !== undefined && this.now() < known.expiresAtMs) return known.caller;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: TOKEN_LIFETIME_S,
        currentDate: new Date(this.now()),
      });
      const role = payload.role;
      const branch = typeof payload.branch === 'string' ? payload.branch : null;
      if (typeof payload.sub !== 'string' || (role !== 'THUTHU' && role !== 'QUANLY') || (role === 'THUTHU') !== (branch !== null)) {
        throw new Error('claims');
      }
      const caller: Caller = { username: payload.sub, role, branch };
      // Good until the earlier of its exp and its maximum age, as jose decided it.
      const expiresAtMs = Math.min(payload.exp!, payload.iat! + TOKEN_LIFETIME_S) * 1000;
      this.verified.set(token, { caller, expiresAtMs });
      return caller;
    } catch (error) {
      const why = error instanceof errors.JWTExpired ? 'has expired' : 'is not valid';
      throw libfedError('UNAUTHENTICATED', `the bearer token ${why}; log in again with the login mutation`);
    }
  }
}

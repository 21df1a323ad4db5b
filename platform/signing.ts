import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * Signed requests between the processes of one deployment (a gateway and its
 * sites). The caller sends an HMAC-SHA256, under a shared secret, of the
 * method, the request target (path and query), a SHA-256 digest of the body
 * bytes, a timestamp and a random nonce; the receiver recomputes it over what
 * it actually received. A request is accepted once, and only while its
 * timestamp is within the window of the receiver's clock: a captured request
 * cannot be sent again or later, and no part of it can be changed.
 *
 * Several secrets are accepted so that a secret can be rotated without a
 * moment when two processes disagree: the first of a list signs, every one of
 * it verifies. Everything here is pure but `NonceCache`, whose state the
 * caller owns, and `requestSigner`'s default clock and nonce source.
 */
export const SIGNATURE_HEADERS = {
  timestamp: 'x-libfed-timestamp',
  nonce: 'x-libfed-nonce',
  signature: 'x-libfed-signature',
} as const;

/** The environment variable holding the comma-separated secrets: the first signs, all are accepted. */
export const SITE_SECRETS_ENV = 'LIBFED_SITE_SECRETS';

/** Shorter secrets are refused: a guessable secret signs anything. */
export const MIN_SECRET_LENGTH = 16;

/** How far a timestamp may be from the receiver's clock, either way, by default. */
export const DEFAULT_WINDOW_MS = 30_000;

/** What is signed: everything the receiver acts on, and what makes the request unique in time. */
export interface SignedRequest {
  /** As sent on the wire (`POST`); methods are case-sensitive, so nothing is normalised. */
  method: string;
  /** The request target, path and query (`/tx/prepare?x=1`), as the receiver sees it in `req.url`. */
  path: string;
  body: string | Uint8Array;
  /** Milliseconds since the epoch, on the signer's clock. */
  timestamp: number;
  nonce: string;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Request headers as node:http gives them (a repeated header is an array). */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** The signature headers of one request. */
export function sign(secret: string, request: SignedRequest): Record<string, string> {
  return {
    [SIGNATURE_HEADERS.timestamp]: String(request.timestamp),
    [SIGNATURE_HEADERS.nonce]: request.nonce,
    [SIGNATURE_HEADERS.signature]: mac(secret, request).toString('hex'),
  };
}

const TIMESTAMP = /^\d{1,15}$/;
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;

/**
 * Whether a received request carries a valid, fresh, first-seen signature
 * under one of `secrets`. Checked in this order on purpose: the form and the
 * age first (cheap, and they need no secret), then the MAC, and only a request
 * whose MAC holds may spend a slot of the nonce cache — a forger cannot fill it.
 */
export function verify(
  headers: RequestHeaders,
  method: string,
  path: string,
  body: string | Uint8Array,
  secrets: readonly string[],
  now: number,
  nonces: NonceCache,
): Verdict {
  const parts = signatureHeaders(headers);
  if (typeof parts === 'string') return refused(parts);
  const { timestamp, nonce, signature } = parts;
  const age = now - timestamp;
  if (age > nonces.windowMs) return refused(`the timestamp is ${age} ms old, over the ${nonces.windowMs} ms window`);
  if (-age > nonces.windowMs) return refused(`the timestamp is ${-age} ms ahead, over the ${nonces.windowMs} ms window`);
  const given = Buffer.from(signature, 'hex');
  const request = { method, path, body, timestamp, nonce };
  // Every secret is tried, none skipped early: which one matched must not show in the time taken.
  let matched = false;
  for (const secret of secrets) matched = timingSafeEqual(mac(secret, request), given) || matched;
  if (!matched) return refused('the signature does not match the request under any accepted secret');
  return nonces.admit(nonce, timestamp);
}

function refused(reason: string): Verdict {
  return { ok: false, reason };
}

/** The three headers, checked for form, or why they are unusable. */
function signatureHeaders(headers: RequestHeaders): { timestamp: number; nonce: string; signature: string } | string {
  const timestamp = headers[SIGNATURE_HEADERS.timestamp];
  const nonce = headers[SIGNATURE_HEADERS.nonce];
  const signature = headers[SIGNATURE_HEADERS.signature];
  if (timestamp === undefined && nonce === undefined && signature === undefined) return 'the request is not signed';
  if (typeof timestamp !== 'string' || !TIMESTAMP.test(timestamp)) return `${SIGNATURE_HEADERS.timestamp} must be one integer of milliseconds since the epoch`;
  if (typeof nonce !== 'string' || !NONCE.test(nonce)) return `${SIGNATURE_HEADERS.nonce} must be one string of 16 to 64 base64url characters`;
  if (typeof signature !== 'string' || !SIGNATURE.test(signature)) return `${SIGNATURE_HEADERS.signature} must be one hex SHA-256 HMAC`;
  return { timestamp: Number(timestamp), nonce, signature };
}

/** HMAC-SHA256 over an unambiguous encoding of the parts (a JSON array: no separator can be smuggled into a field). */
function mac(secret: string, r: SignedRequest): Buffer {
  const digest = createHash('sha256').update(r.body).digest('hex');
  return createHmac('sha256', secret).update(JSON.stringify(['LIBFED-HMAC-SHA256-v1', r.method, r.path, digest, r.timestamp, r.nonce])).digest();
}

export interface NonceCacheOptions {
  /** How far a timestamp may be from the receiver's clock, either way. */
  windowMs?: number;
  /** Nonces remembered at most; memory stays bounded under any load. */
  max?: number;
}

/**
 * The nonces of accepted requests, for as long as a replay of them could pass
 * the timestamp check. Bounded: when it is full the oldest nonce is
 * forgotten, and from then on every timestamp up to that nonce's is refused
 * (`floor`), so a forgotten nonce can never be replayed. Under ordinary load
 * the forgotten nonce is older than the window anyway and the floor refuses
 * nothing the window would not; only past `max` requests per window does the
 * window shrink, never the protection.
 */
export class NonceCache {
  readonly windowMs: number;
  private readonly seen: LRUCache<string, number>;
  private floor = -Infinity;

  constructor(options: NonceCacheOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    const max = options.max ?? 100_000;
    if (!(this.windowMs > 0) || !Number.isInteger(max) || max < 1) throw new Error(`a nonce cache needs windowMs > 0 and an integer max >= 1, got ${this.windowMs} and ${max}`);
    this.seen = new LRUCache<string, number>({
      max,
      dispose: (timestamp, _nonce, reason) => {
        if (reason === 'evict') this.floor = Math.max(this.floor, timestamp);
      },
    });
  }

  /** Records `nonce` as used and accepts it, or refuses a nonce seen before (a replay) or one older than what is remembered. */
  admit(nonce: string, timestamp: number): Verdict {
    if (this.seen.has(nonce)) return refused('the nonce was already used: the request is a replay');
    if (timestamp <= this.floor) return refused('the timestamp is older than the replay protection still covers under this load');
    this.seen.set(nonce, timestamp);
    return { ok: true };
  }
}

/** Headers that sign one outgoing request; what an HTTP client is given instead of the secret list. */
export type RequestSigner = (method: string, url: string, body: string | Uint8Array) => Record<string, string>;

export interface SignerOptions {
  /** Milliseconds since the epoch (default Date.now). */
  now?: () => number;
  /** A fresh nonce per request (default 16 random bytes, base64url). */
  nonce?: () => string;
}

/** A signer under `secret` (the first of a rotation list) that signs the target of `url` with a fresh nonce each time. */
export function requestSigner(secret: string, options: SignerOptions = {}): RequestSigner {
  checkSecret(secret);
  const now = options.now ?? Date.now;
  const nonce = options.nonce ?? (() => randomBytes(16).toString('base64url'));
  return (method, url, body) => {
    const target = new URL(url);
    return sign(secret, { method, path: target.pathname + target.search, body, timestamp: now(), nonce: nonce() });
  };
}

/**
 * A signed copy of a fetch's `init`, for tests and tools that call a site
 * directly: `fetch(url, signFetch(secret, url, { method: 'POST', body }))`.
 * The body must be a string (or absent), so the bytes signed are the bytes sent.
 */
export function signFetch(secret: string, url: string, init: RequestInit = {}): RequestInit {
  if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') throw new TypeError('signFetch signs a string body only');
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(requestSigner(secret)(method, url, init.body ?? ''))) headers.set(name, value);
  return { ...init, method, headers };
}

/**
 * The secrets of a comma-separated list (`LIBFED_SITE_SECRETS`), first the one
 * that signs. Throws, saying what to set, when there is none or one is too short.
 */
export function parseSecrets(text: string | undefined, source = SITE_SECRETS_ENV): string[] {
  const secrets = (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (!secrets.length) {
    throw new Error(
      `${source} is unset: every call between a gateway and a site is signed, so set it to one or more comma-separated secrets ` +
        `of at least ${MIN_SECRET_LENGTH} characters (the first signs, all are accepted), the same on every site and gateway; npm start generates one itself`,
    );
  }
  for (const secret of secrets) checkSecret(secret, source);
  return secrets;
}

function checkSecret(secret: string, source = 'a signing secret'): void {
  if (secret.length < MIN_SECRET_LENGTH) throw new Error(`${source}: a secret must be at least ${MIN_SECRET_LENGTH} characters, got one of ${secret.length}`);
}

import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Staff passwords, kept only as scrypt hashes (`scrypt$N$r$p$salt$hash`,
 * base64). Sites store the hash, gateways check it at login: one format for
 * both. N = 2^14, r = 8, p = 1: about 50 ms and 16 MiB per check.
 */
const N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, n = N, r = R, p = P): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/**
 * `salt`: random by default. Demo accounts are seeded on every site
 * separately and must hash alike there, so they derive it from the name.
 */
export async function hashPassword(password: string, salt: Buffer = randomBytes(16)): Promise<string> {
  const key = await derive(password, salt);
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** A salt fixed by the account name: the same hash on every site that seeds the account. */
export function nameSalt(username: string): Buffer {
  return createHash('sha256').update(`libfed-staff:${username}`).digest().subarray(0, 16);
}

/** Whether `password` matches `stored`; a malformed hash matches nothing. Constant time in the key comparison. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

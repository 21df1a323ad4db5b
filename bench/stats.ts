import { randomBytes } from 'node:crypto';
/** Small helpers shared by the benchmarks: percentiles, medians over rounds, logging in. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The middle value, or the mean of the two middle ones for an even count (two rounds give their mean, not the lower). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The benchmarks run as the demo manager once `loginAs` has run (anonymous reads need no login). */
let bearer: string | undefined;

/**
 * The demo password and token secret for a benchmark's chains, set in the
 * environment every process it starts inherits (a gateway started beside the
 * chain checks the same tokens). Returns the password.
 */
export function benchLogin(): string {
  process.env.LIBFED_JWT_SECRET ??= randomBytes(32).toString('hex');
  return (process.env.LIBFED_DEMO_PASSWORD ??= randomBytes(12).toString('base64url'));
}

/** Logs in at `url`; later `post`s carry the token, and it is returned for load generators to send. */
export async function loginAs(url: string, username: string, password: string): Promise<string> {
  const answer = await post(url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: username, p: password });
  if (!answer.data?.login?.token) throw new Error(`login as ${username} failed: ${JSON.stringify(answer.errors)}`);
  bearer = answer.data.login.token as string;
  return bearer;
}

/** The header a LibFed request carries for `token`. */
export const bearerHeaders = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

export async function post(url: string, query: string, variables?: Record<string, unknown>): Promise<{ data?: any; errors?: any[] }> {
  const headers = { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) };
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data?: any; errors?: any[] };
}

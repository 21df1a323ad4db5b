import { NOTHING_CHANGED, type Outcome } from './history';

export const REQUEST_TIMEOUT_MS = 15_000;

export interface GraphQLAnswer {
  data?: any;
  errors?: { message: string; extensions?: Record<string, any> }[];
}

/** The workload runs as the demo manager: every mutation and view of the chaos run is one a manager may do. */
let bearer: string | undefined;

/** Logs in as `username` at `url`; every later `post` carries the token (one token serves every gateway of the chain). */
export async function loginAs(url: string, username: string, password: string): Promise<void> {
  const answer = await post(url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: username, p: password });
  if (!answer.data?.login?.token) throw new Error(`login as ${username} failed: ${JSON.stringify(answer.errors)}`);
  bearer = answer.data.login.token as string;
}

/** POSTs one GraphQL request; throws on network errors, timeouts and non-JSON answers. */
export async function post(url: string, query: string, variables: Record<string, unknown> = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<GraphQLAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  try {
    return JSON.parse(text) as GraphQLAnswer;
  } catch {
    throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
}

/** How a mutation's answer counts (see chaos/README.md): ok, refused-nothing-changed, or ambiguous. */
export function classifyMutation(field: string, answer: GraphQLAnswer): Outcome {
  const value = answer.data?.[field];
  // Errors about the mutation itself (path [field] or none); deeper ones are a nested read of the answer failing.
  const error = answer.errors?.find((e) => !(e as { path?: unknown[] }).path || ((e as { path?: unknown[] }).path ?? []).length <= 1);
  const code = error?.extensions?.code as string | undefined;
  if (code === 'TX_COMMITTED_READ_FAILED') return { kind: 'ok', value: value ?? (error?.extensions?.id ? { id: error.extensions.id } : null), code };
  if (value && !error) return { kind: 'ok', value };
  if (error && code === 'TX_IN_DOUBT') return { kind: 'ambiguous', reason: 'TX_IN_DOUBT', gid: error.extensions?.gid, code };
  if (error && code && NOTHING_CHANGED.has(code)) {
    // A refusal and an entity in the same answer would contradict each other: count it as ambiguous.
    if (value) return { kind: 'ambiguous', reason: `data with ${code}`, code };
    return { kind: 'refused', code, message: error.message };
  }
  if (error) return { kind: 'ambiguous', reason: code ?? 'error without code', code, gid: error.extensions?.gid };
  const nested = answer.errors?.[0]?.extensions?.code;
  return { kind: 'ambiguous', reason: nested ? `data null, nested ${nested}` : 'data null without errors' };
}

/** Sends a mutation and classifies the answer; network errors and timeouts are ambiguous. */
export async function mutate(url: string, field: string, query: string, variables: Record<string, unknown>): Promise<Outcome> {
  try {
    return classifyMutation(field, await post(url, query, variables));
  } catch (error) {
    const e = error as Error;
    return { kind: 'ambiguous', reason: e.name === 'TimeoutError' ? 'timeout' : `network: ${(e as { cause?: { code?: string } }).cause?.code ?? e.message}` };
  }
}

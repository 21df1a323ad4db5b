import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * The request a process is working on, carried through every await by
 * AsyncLocalStorage: its logger stamps each line with the id, and the one HTTP
 * client (platform/fetch.ts) sends it on with every call it makes for that
 * request. A process extends the scope with what it notes while serving (the
 * gateway its operations, a site its outcome); platform/ knows none of that.
 */
export interface RequestScope {
  readonly requestId: string;
}

/** The header that carries the id: from a client to the gateway, and from the gateway to every site it calls. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What an id taken from a header may be: it goes into every log line as it is, so nothing that could forge or break one. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

const scopes = new AsyncLocalStorage<RequestScope>();

/** The caller's id when it is a sane token (at most 128 of [A-Za-z0-9._-]), else a fresh one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Runs `work` as part of the request `scope`: everything it awaits sees the scope. */
export function runInRequest<T, S extends RequestScope>(scope: S, work: () => T): T {
  return scopes.run(scope, work);
}

/** The scope of the request being served, as the process that began it stored it; undefined outside any request. */
export function currentRequest<S extends RequestScope = RequestScope>(): S | undefined {
  return scopes.getStore() as S | undefined;
}

import type { ResponseTrace } from '../../cache';

/**
 * Who sent a request (docs/ARCHITECTURE.md §6): anonymous, a librarian of one
 * branch, or a manager. Read from the bearer token once per request, before
 * anything is planned or read from the cache.
 */
export type Role = 'ANONYMOUS' | 'THUTHU' | 'QUANLY';

export interface Caller {
  username: string | null;
  role: Role;
  /** A librarian's branch; null for anyone else. */
  branch: string | null;
}

export const ANONYMOUS: Caller = { username: null, role: 'ANONYMOUS', branch: null };

/** What the gateway's GraphQL context carries for each request. */
export interface GatewayContext {
  caller: Caller;
  /** The client's address, for login throttling. */
  clientAddress: string;
  /**
   * When the request's time budget runs out (epoch ms): every site fetch made for it gets what
   * is left, not a fixed timeout of its own (docs/ARCHITECTURE.md §3 rule 5).
   */
  deadlineAt?: number;
  /** The lines this request read, for the response cache (gateway/response-cache.ts); absent when it is off or the request is not a query. */
  responseTrace?: ResponseTrace;
}

import { GraphQLError, type GraphQLErrorOptions } from 'graphql';

/**
 * Every error a client can meet, with a stable `extensions.code`. The message
 * of each error states the contract and the bad value; the description here
 * says what the code means and what to do. Code outside this file names a
 * code only as the `ErrorCode` argument of a constructor here (`libfedError`,
 * `errorJson`) or of a thin typed wrapper (the participant's `refuse`). A test
 * fails when code raises a code that is not listed here, spells one as a raw
 * `code: '...'` literal, or when the README's error table and this catalogue
 * differ.
 */
export const ERROR_CODES = {
  BRANCH_UNAVAILABLE:
    'A branch site did not answer in time. Gathered answers still carry the other branches\' data; `extensions.site` names the missing one. Retry later.',
  ENTITY_MOVED:
    'Between a site and the gateway only: the entity now lives at `extensions.site`. The gateway follows it; a client sees this only if the entity keeps moving.',
  UNKNOWN_BRANCH: 'A branch id argument names no branch in the chain. Query `branches` for the valid ids.',
  INVALID_CURSOR: 'An `after` cursor was not produced by the same list field with the same filters. Pass `pageInfo.endCursor` unchanged, with the same arguments.',
  INVALID_PERIOD:
    'A report\'s or `auditLog`\'s `from` or `to` is not an ISO-8601 date-time with a zone (`2026-05-01T00:00:00Z`), or `from` is not before `to` (`to` is exclusive). `extensions.argument` names it.',
  PAGE_SIZE_OUT_OF_RANGE: 'A `first` argument is outside 0..100. Page through larger lists with `after`.',
  NOT_FOUND: 'A mutation names a reader, copy, loan or book that does not exist. Check the id.',
  ALREADY_EXISTS: 'A mutation would create a book, branch, reader or copy whose key is taken. Use the update mutation instead.',
  COPY_NOT_AVAILABLE: 'The copy is on loan: it cannot be lent or transferred until it is returned.',
  LOAN_LIMIT_REACHED: 'The reader already has the maximum number of open loans across all branches. Return a copy first.',
  LOAN_CLOSED: 'The loan was already returned; it cannot be returned or renewed again.',
  LOAN_OVERDUE: 'An overdue loan cannot be renewed; return the copy.',
  SAME_BRANCH: 'A transfer or move names the branch the copy or reader is already at.',
  CONFLICT: 'The row changed between reading and writing it (another mutation got there first). Retry the mutation.',
  CONSTRAINT_VIOLATION:
    'A branch database refused the write under one of its FOREIGN KEY or CHECK constraints (a referenced book or branch missing at that branch, a value outside the allowed ones, a row outside the branch\'s fragment); nothing changed. The message names the branch. Check the ids and values; if they are right, that branch\'s data needs repair.',
  TX_ABORTED: 'The transaction was already decided (aborted by recovery) before this step; nothing changed. Retry the mutation.',
  TX_ABORTED_DEADLOCK:
    'Two mutations waited for each other\'s rows across branches; this one, the youngest in the cycle, was aborted and changed nothing. Retry it.',
  TX_LOCK_TIMEOUT: 'The rows stayed held by another mutation past the lock-wait bound; nothing changed. Retry later.',
  TX_IN_DOUBT:
    'The deciding branch did not answer after the request may have reached it, so the mutation may have committed. `extensions.gid` names it: query `transaction(gid:)` for the outcome (recovery settles it within the prepared deadline), or retry with the same `idempotencyKey`.',
  IDEMPOTENCY_KEY_REUSED:
    'The `idempotencyKey` was already used for a different mutation or different arguments; nothing was changed. Use a new key for a new request.',
  DUPLICATE_REQUEST:
    'Between the gateway and a site only: a commit with the same idempotency key is already recorded there. The gateway answers the first outcome instead.',
  TX_COMMITTED_READ_FAILED:
    'The mutation committed (`extensions.gid`); only reading the changed entity back failed (a branch down or slow just after the commit). Do not retry the mutation: read the entity (`extensions.id`) later.',
  QUERY_TOO_COMPLEX:
    'The operation is too deep, too costly, has too many aliases, directives or tokens, or the HTTP body or headers are too large. `extensions.limit` names the limit and `extensions.max` its value. Split it into smaller operations.',
  ARGUMENT_TOO_LONG:
    'A string argument (inline, in a variable, or nested in an input object or list) is longer than the gateway accepts. `extensions.argument` names it, `extensions.max` the limit and `extensions.length` its length.',
  BATCH_TOO_LARGE:
    'The HTTP request is a JSON array of more operations than the gateway takes in one request (one, when batching is off: `extensions.max`). Send them one per request.',
  GRAPHQL_PARSE_FAILED: 'The operation is not valid GraphQL syntax.',
  GRAPHQL_VALIDATION_FAILED: 'The operation does not match the schema (unknown field, wrong argument type, ...).',
  BAD_USER_INPUT: 'A variable or argument has the wrong type or shape.',
  BAD_REQUEST: 'The HTTP request is not a GraphQL request (wrong method, content type or body).',
  OPERATION_RESOLUTION_FAILURE: 'The request names an operation that the document does not contain.',
  PERSISTED_QUERY_NOT_FOUND: 'Automatic persisted query: the hash is not known yet; send the full query once.',
  PERSISTED_QUERY_NOT_SUPPORTED: 'Persisted queries are disabled on this server.',
  UNAUTHENTICATED:
    'The request carries no valid credentials. At the gateway: log in (the `login` mutation) and send `Authorization: Bearer <token>`; a wrong username or password, or an expired or forged token, is answered so too, and changed nothing. From a branch site (HTTP 401): the call was not signed with a secret of the chain, or its signature is stale or replayed; nothing was changed. A gateway reports such a site as BRANCH_UNAVAILABLE.',
  BRANCH_DRAINING: 'the branch is being removed from the chain (`libfed sites remove`): it takes no new copies, readers or loans. Act at another branch. Nothing was changed.',
  BRANCH_HAS_NO_SITE: 'addBranch names a branch with no site in the chain: a branch is a site, so its site must be in the configuration first. Nothing was changed.',
  FORBIDDEN: 'Your role may not do this (anonymous callers read the catalogue and availability; librarians cannot write the catalogue, branches or staff accounts, nor read the audit trail or transactions). Nothing was changed.',
  FORBIDDEN_BRANCH: 'A librarian acts only at their own branch; `extensions.branch` names the branch this mutation acts at. Nothing was changed.',
  LOGIN_THROTTLED: 'Too many failed logins for this username or from this address; `extensions.retryAfterSeconds` says when to try again.',
  INTERNAL_SERVER_ERROR: 'A bug or an unexpected failure. The message is generic; `extensions.ref` names the gateway log entry with the details.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** A thrown or reported error: a GraphQLError whose `extensions.code` is `code` (`options` may add nodes, a path, ...). */
export function libfedError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
  options: Omit<GraphQLErrorOptions, 'extensions'> = {},
): GraphQLError {
  return new GraphQLError(message, { ...options, extensions: { ...extensions, code } });
}

/** An error as plain JSON, the form it has in a subgraph response, a gateway answer or an HTTP body. */
export interface ErrorJson {
  message: string;
  path?: (string | number)[];
  extensions: Record<string, unknown> & { code: ErrorCode };
}

/** The plain JSON form of an error (no GraphQLError): `extensions.code` is `code`, after any `extensions` given. */
export function errorJson(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
  path?: readonly (string | number)[],
): ErrorJson {
  return { message, ...(path ? { path: [...path] } : {}), extensions: { ...extensions, code } };
}

/** The catalogue code an error carries, or undefined (no code, or one not in the catalogue): compare it with a typed code. */
export function codeOf(error: { readonly extensions?: Readonly<Record<string, unknown>> } | undefined): ErrorCode | undefined {
  const code = error?.extensions?.code;
  return isErrorCode(code) ? code : undefined;
}

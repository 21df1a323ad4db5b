import { GraphQLError } from 'graphql';

/**
 * Every error a client can meet, with a stable `extensions.code`. The message
 * of each error states the contract and the bad value; the description here
 * says what the code means and what to do. A test fails when code raises a
 * code that is not listed here, or when the README does not list one.
 */
export const ERROR_CODES = {
  BRANCH_UNAVAILABLE:
    'A branch site did not answer in time. Gathered answers still carry the other branches\' data; `extensions.site` names the missing one. Retry later.',
  ENTITY_MOVED:
    'Between a site and the gateway only: the entity now lives at `extensions.site`. The gateway follows it; a client sees this only if the entity keeps moving.',
  UNKNOWN_BRANCH: 'A branch id argument names no branch in the chain. Query `branches` for the valid ids.',
  INVALID_CURSOR: 'An `after` cursor was not produced by the same list field. Pass `pageInfo.endCursor` unchanged.',
  PAGE_SIZE_OUT_OF_RANGE: 'A `first` argument is outside 0..100. Page through larger lists with `after`.',
  QUERY_TOO_COMPLEX:
    'The operation is too deep, too costly, has too many aliases, directives or tokens, or is too large. Split it into smaller operations.',
  GRAPHQL_PARSE_FAILED: 'The operation is not valid GraphQL syntax.',
  GRAPHQL_VALIDATION_FAILED: 'The operation does not match the schema (unknown field, wrong argument type, ...).',
  BAD_USER_INPUT: 'A variable or argument has the wrong type or shape.',
  BAD_REQUEST: 'The HTTP request is not a GraphQL request (wrong method, content type or body).',
  OPERATION_RESOLUTION_FAILURE: 'The request names an operation that the document does not contain.',
  PERSISTED_QUERY_NOT_FOUND: 'Automatic persisted query: the hash is not known yet; send the full query once.',
  PERSISTED_QUERY_NOT_SUPPORTED: 'Persisted queries are disabled on this server.',
  INTERNAL_SERVER_ERROR: 'A bug or an unexpected failure. The message is generic; the server log has the details.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function libfedError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

import { randomBytes } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { codeOf, errorJson, isErrorCode } from '../schema';
import { tokenLimitError } from './limits';

/** Where the details of an internal error go (the gateway's log), under the reference the client is given. */
export type InternalErrorLog = (ref: string, formatted: GraphQLFormattedError) => void;

/**
 * Every error a client sees carries a documented `extensions.code`. Subgraph
 * errors keep the code their site gave; anything without one is a bug and is
 * reported as INTERNAL_SERVER_ERROR without its internals.
 */
export function formatError(formatted: GraphQLFormattedError, log: InternalErrorLog = () => undefined, error?: unknown): GraphQLFormattedError {
  const shown = classify(withRuleCode(formatted, error));
  if (codeOf(shown) !== 'INTERNAL_SERVER_ERROR') return shown;
  // Internals (a database's words, a stack) stay in the log; the client gets a reference to them.
  const ref = randomBytes(6).toString('hex');
  log(ref, formatted);
  const nothingChanged = formatted.extensions?.nothingChanged === true ? ' Nothing was changed.' : '';
  return errorJson('INTERNAL_SERVER_ERROR', `internal error (reference ${ref}): the gateway log has the details.${nothingChanged}`, { ref }, formatted.path);
}

/**
 * Apollo wraps a validation rule's error in its own, whose code
 * (GRAPHQL_VALIDATION_FAILED) replaces the rule's: a rule of ours that
 * reported a catalogue code (QUERY_TOO_COMPLEX, PAGE_SIZE_OUT_OF_RANGE) keeps
 * it. The rule's error is the wrapper's `originalError`.
 */
function withRuleCode(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (codeOf(formatted) !== 'GRAPHQL_VALIDATION_FAILED' || !(error instanceof GraphQLError)) return formatted;
  const own = error.originalError instanceof GraphQLError ? error.originalError.extensions.code : undefined;
  return isErrorCode(own) ? { ...formatted, extensions: { ...formatted.extensions, code: own } } : formatted;
}

function classify(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  const tokens = tokenLimitError(formatted);
  if (tokens) return { ...formatted, ...tokens };
  // Apollo's automatic persisted queries: a hash that does not match its query is the client's mistake.
  if (/^provided sha does not match query$/.test(formatted.message)) {
    return errorJson('BAD_REQUEST', 'the persisted query hash does not match the query sent with it; send the sha256 of the query text', {}, formatted.path);
  }
  if (codeOf(formatted)) return formatted;
  if (code === 'DOWNSTREAM_SERVICE_ERROR' || code === undefined) {
    return errorJson('INTERNAL_SERVER_ERROR', 'internal error: see the gateway log');
  }
  return formatted;
}

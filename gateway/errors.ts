import { randomBytes } from 'node:crypto';
import type { GraphQLFormattedError } from 'graphql';
import { ERROR_CODES } from '../schema';

/** Where the details of an internal error go (the gateway's log), under the reference the client is given. */
export type InternalErrorLog = (ref: string, formatted: GraphQLFormattedError) => void;

/** graphql-armor reports its limits as syntax errors without a code; these are its messages. */
const ARMOR_LIMIT = /^Syntax Error: (Query depth limit|Query Cost limit|Aliases limit|Directives limit|Token limit)/i;

/**
 * Every error a client sees carries a documented `extensions.code`. Subgraph
 * errors keep the code their site gave; anything without one is a bug and is
 * reported as INTERNAL_SERVER_ERROR without its internals.
 */
export function formatError(formatted: GraphQLFormattedError, log: InternalErrorLog = () => undefined): GraphQLFormattedError {
  const shown = classify(formatted);
  if (shown.extensions?.code !== 'INTERNAL_SERVER_ERROR') return shown;
  // Issue 17 item 7: internals (a database's words, a stack) stay in the log; the client gets a reference to them.
  const ref = randomBytes(6).toString('hex');
  log(ref, formatted);
  const nothingChanged = formatted.extensions?.nothingChanged === true ? ' Nothing was changed.' : '';
  return { message: `internal error (reference ${ref}): the gateway log has the details.${nothingChanged}`, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR', ref } };
}

function classify(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (ARMOR_LIMIT.test(formatted.message)) {
    return { ...formatted, message: formatted.message.replace(/^Syntax Error: /, ''), extensions: { ...formatted.extensions, code: 'QUERY_TOO_COMPLEX' } };
  }
  // graphql-armor's token limit re-parses during validation, so plain syntax errors arrive labelled as validation failures.
  if (formatted.message.startsWith('Syntax Error: ')) return { ...formatted, extensions: { ...formatted.extensions, code: 'GRAPHQL_PARSE_FAILED' } };
  if (typeof code === 'string' && code in ERROR_CODES) return formatted;
  if (code === 'DOWNSTREAM_SERVICE_ERROR' || code === undefined) {
    return { message: 'internal error: see the gateway log', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  }
  return formatted;
}

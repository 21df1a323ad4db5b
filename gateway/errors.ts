import { randomBytes } from 'node:crypto';
import type { GraphQLFormattedError } from 'graphql';
import { codeOf, errorJson } from '../schema';

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
  if (codeOf(shown) !== 'INTERNAL_SERVER_ERROR') return shown;
  // Internals (a database's words, a stack) stay in the log; the client gets a reference to them.
  const ref = randomBytes(6).toString('hex');
  log(ref, formatted);
  const nothingChanged = formatted.extensions?.nothingChanged === true ? ' Nothing was changed.' : '';
  return errorJson('INTERNAL_SERVER_ERROR', `internal error (reference ${ref}): the gateway log has the details.${nothingChanged}`, { ref }, formatted.path);
}

function classify(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (ARMOR_LIMIT.test(formatted.message)) {
    return { ...formatted, ...errorJson('QUERY_TOO_COMPLEX', formatted.message.replace(/^Syntax Error: /, ''), formatted.extensions) };
  }
  // graphql-armor's token limit re-parses during validation, so plain syntax errors arrive labelled as validation failures.
  if (formatted.message.startsWith('Syntax Error: ')) return { ...formatted, ...errorJson('GRAPHQL_PARSE_FAILED', formatted.message, formatted.extensions) };
  if (codeOf(formatted)) return formatted;
  if (code === 'DOWNSTREAM_SERVICE_ERROR' || code === undefined) {
    return errorJson('INTERNAL_SERVER_ERROR', 'internal error: see the gateway log');
  }
  return formatted;
}

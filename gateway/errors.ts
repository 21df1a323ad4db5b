import type { GraphQLFormattedError } from 'graphql';
import { ERROR_CODES } from '../schema';

/** graphql-armor reports its limits as syntax errors without a code; these are its messages. */
const ARMOR_LIMIT = /^Syntax Error: (Query depth limit|Query Cost limit|Aliases limit|Directives limit|Token limit)/i;

/**
 * Every error a client sees carries a documented `extensions.code`. Subgraph
 * errors keep the code their site gave; anything without one is a bug and is
 * reported as INTERNAL_SERVER_ERROR without its internals.
 */
export function formatError(formatted: GraphQLFormattedError): GraphQLFormattedError {
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

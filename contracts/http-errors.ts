import { errorJson } from '../schema';
import { BodyTooLarge, type FailureAnswer } from '../platform';

/**
 * The answer a gateway or a site gives when handling an HTTP request failed
 * before anything was sent (`listen`'s `onFailure`): a body over the limit is
 * 413 QUERY_TOO_COMPLEX, naming the limit; anything else is 500
 * INTERNAL_SERVER_ERROR with no internals. Both are GraphQL-shaped.
 */
export const httpFailure: FailureAnswer = (error) =>
  error instanceof BodyTooLarge
    ? { status: 413, body: { errors: [errorJson('QUERY_TOO_COMPLEX', error.message, error.limitBytes === undefined ? {} : { limit: 'bodyBytes', max: error.limitBytes })] } }
    : { status: 500, body: { errors: [errorJson('INTERNAL_SERVER_ERROR', 'internal error')] } };

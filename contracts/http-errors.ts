import { errorJson } from '../schema';
import { BodyTooLarge, HeadersTooLarge, MalformedHttpRequest, type FailureAnswer } from '../platform';

/**
 * The answer a gateway or a site gives when handling an HTTP request failed
 * before anything was sent (`listen`'s `onFailure`): a body over the limit is
 * 413 QUERY_TOO_COMPLEX and headers over node:http's limit 431
 * QUERY_TOO_COMPLEX, each naming the limit; bytes that are not HTTP are 400
 * BAD_REQUEST; anything else is 500 INTERNAL_SERVER_ERROR with no internals.
 * All are GraphQL-shaped.
 */
export const httpFailure: FailureAnswer = (error) => {
  if (error instanceof BodyTooLarge)
    return { status: 413, body: { errors: [errorJson('QUERY_TOO_COMPLEX', error.message, error.limitBytes === undefined ? {} : { limit: 'bodyBytes', max: error.limitBytes })] } };
  if (error instanceof HeadersTooLarge) return { status: 431, body: { errors: [errorJson('QUERY_TOO_COMPLEX', error.message, { limit: 'headerBytes', max: error.limitBytes })] } };
  if (error instanceof MalformedHttpRequest) return { status: 400, body: { errors: [errorJson('BAD_REQUEST', error.message)] } };
  return { status: 500, body: { errors: [errorJson('INTERNAL_SERVER_ERROR', 'internal error')] } };
};

import { BodyTooLarge, listen, readBody, type Listening } from '../../platform';
import { httpFailure } from '..';

describe('httpFailure, the answer listen gives when a handler fails', () => {
  let http: Listening;
  beforeAll(async () => {
    http = await listen(
      0,
      '127.0.0.1',
      async (req) => {
        if (req.url === '/big') await readBody(req, 4);
        throw new Error('a database said something internal');
      },
      httpFailure,
    );
  });
  afterAll(() => http.close());
  const post = (path: string, body: string) => fetch(`http://127.0.0.1:${http.port}${path}`, { method: 'POST', body });

  it('answers a body over the limit with 413 QUERY_TOO_COMPLEX, naming the limit', async () => {
    const res = await post('/big', 'more than four bytes');
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ errors: [{ message: 'the request body is over the 4-byte limit', extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'bodyBytes', max: 4 } }] });
  });

  it('answers any other failure with 500 INTERNAL_SERVER_ERROR and no internals', async () => {
    const res = await post('/other', '');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ errors: [{ message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  });

  it('is built from the catalogue', () => {
    expect(httpFailure(new BodyTooLarge('x'))).toEqual({ status: 413, body: { errors: [{ message: 'x', extensions: { code: 'QUERY_TOO_COMPLEX' } }] } });
  });
});

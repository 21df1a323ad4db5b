import { connect } from 'node:net';
import { maxHeaderSize } from 'node:http';
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

  /** Writes raw bytes and reads the whole answer: fetch itself refuses to send what these tests send. */
  const raw = (bytes: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(http.port, '127.0.0.1', () => socket.end(bytes));
      let answer = '';
      socket.on('data', (d) => (answer += d)).on('end', () => resolve(answer)).on('error', reject);
    });
  const split = (answer: string) => {
    const [head, body] = answer.split('\r\n\r\n');
    return { status: head.split('\r\n')[0], type: /content-type: (.*)/i.exec(head)?.[1], body: JSON.parse(body) };
  };

  it('answers headers over the limit with 431 QUERY_TOO_COMPLEX in JSON, naming the limit, and keeps serving', async () => {
    const answer = split(await raw(`POST /other HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${'a'.repeat(maxHeaderSize + 10)}\r\ncontent-length: 0\r\n\r\n`));
    expect(answer.status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(answer.type).toBe('application/json');
    expect(answer.body.errors[0].extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'headerBytes', max: maxHeaderSize });
    expect((await post('/other', '')).status).toBe(500);
  });

  it('lets a client read the 431 on a kept-alive connection, and while still sending its oversized headers', async () => {
    for (const size of [maxHeaderSize + 100, 20_000, 40_000, 100_000, 400_000]) {
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`http://127.0.0.1:${http.port}/other`, { method: 'POST', headers: { authorization: `Bearer ${'a'.repeat(size)}` }, body: '' });
        expect({ size, status: res.status, code: ((await res.json()) as any).errors[0].extensions.code }).toEqual({ size, status: 431, code: 'QUERY_TOO_COMPLEX' });
      }
    }
  });

  it('answers bytes that are not HTTP with 400 BAD_REQUEST in JSON', async () => {
    const answer = split(await raw('GARBAGE\u0000 / HTTP/9\r\n\r\n'));
    expect(answer.status).toBe('HTTP/1.1 400 Bad Request');
    expect(answer.body).toEqual({ errors: [{ message: 'the request is not valid HTTP/1.1', extensions: { code: 'BAD_REQUEST' } }] });
  });

  it('is built from the catalogue', () => {
    expect(httpFailure(new BodyTooLarge('x'))).toEqual({ status: 413, body: { errors: [{ message: 'x', extensions: { code: 'QUERY_TOO_COMPLEX' } }] } });
  });
});

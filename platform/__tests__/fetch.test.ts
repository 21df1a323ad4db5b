import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postJson, postJsonHttp, Unreachable } from '../fetch';

/** postJsonHttp keeps postJson's contract: the same answers, and the same failures saying whether the request may have arrived. */
describe('postJsonHttp', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? (server.closeAllConnections(), server.close(() => r())) : r())));

  const serve = (handler: Parameters<typeof createServer>[1]) =>
    new Promise<string>((resolve) => {
      server = createServer(handler);
      server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/tx/watch`));
    });

  it('answers as postJson does: status, ok and the whole body; the body and the signature as sent', async () => {
    const seen: { body: string; signature?: string }[] = [];
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ body, signature: req.headers['x-test-signature'] as string | undefined });
        res.statusCode = body.includes('"bad"') ? 503 : 200;
        res.end('{"dirty":false,"overdue":0}');
      });
    });
    const sign = (method: string, _url: string, payload: string | Uint8Array) => ({ 'x-test-signature': `${method} ${payload.length}` });
    for (const post of [postJson, postJsonHttp]) {
      expect(await post(url, { waitMs: 0 }, 1000, {}, sign)).toEqual({ status: 200, ok: true, text: '{"dirty":false,"overdue":0}' });
      expect(await post(url, { bad: true }, 1000)).toMatchObject({ status: 503, ok: false });
    }
    expect(seen[2]).toEqual(seen[0]);
    expect(seen[0]).toEqual({ body: '{"waitMs":0}', signature: 'POST 12' });
  });

  it('fails as not delivered when the connection is refused, and as delivered when no answer comes in time', async () => {
    const url = await serve(() => undefined);
    const silent = await postJsonHttp(url, {}, 50).catch((e) => e);
    expect(silent).toBeInstanceOf(Unreachable);
    expect(silent).toMatchObject({ delivered: true, reason: 'no answer within 50 ms' });
    await new Promise<void>((r) => (server!.closeAllConnections(), server!.close(() => r())));
    server = undefined;
    const refused = await postJsonHttp(url, {}, 1000).catch((e) => e);
    expect(refused).toBeInstanceOf(Unreachable);
    expect(refused).toMatchObject({ delivered: false, reason: 'ECONNREFUSED' });
  });
});

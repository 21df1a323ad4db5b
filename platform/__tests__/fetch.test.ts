import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
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

describe('postJsonHttp over a kept-alive connection the server closed', () => {
  let server: import('node:net').Server | undefined;
  const open = new Set<import('node:net').Socket>();
  afterEach(() => new Promise<void>((r) => (open.forEach((s) => s.destroy()), server ? server.close(() => r()) : r())));

  /**
   * A server that answers the first request of each connection, keeps it
   * alive, and resets it when a second request comes on it: the race of a
   * server closing an idle connection just as the client reuses it.
   */
  const resetOnReuse = () =>
    new Promise<{ url: string; connections: () => number; requests: () => number }>((resolve) => {
      let connections = 0;
      let requests = 0;
      server = createNetServer((socket) => {
        open.add(socket);
        connections += 1;
        let served = 0;
        socket.on('data', (chunk) => {
          if (!chunk.toString('latin1').includes('\r\n\r\n')) return;
          requests += 1;
          if (served++ > 0) return void socket.resetAndDestroy();
          socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n{}');
        });
      });
      server.listen(0, '127.0.0.1', () =>
        resolve({ url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/x`, connections: () => connections, requests: () => requests }),
      );
    });

  it('sends the call once more on a new connection, signed anew, and answers it', async () => {
    const { url, connections, requests } = await resetOnReuse();
    let signatures = 0;
    const sign = () => ({ 'x-signature': String(++signatures) });
    expect(await postJsonHttp(url, { n: 1 }, 2000, {}, sign)).toEqual({ status: 200, ok: true, text: '{}' });
    // The agent reuses the kept-alive connection; the server resets it; the call goes again on a new one.
    expect(await postJsonHttp(url, { n: 2 }, 2000, {}, sign)).toEqual({ status: 200, ok: true, text: '{}' });
    expect(connections()).toBe(2);
    expect(requests()).toBe(3);
    expect(signatures).toBe(3);
  });

  it('fails as delivered, not at once again, when the new connection is reset too', async () => {
    let connections = 0;
    server = createNetServer((socket) => {
      connections += 1;
      socket.on('data', () => socket.resetAndDestroy());
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
    const failure = await postJsonHttp(url, {}, 2000).catch((e) => e);
    expect(failure).toBeInstanceOf(Unreachable);
    expect(failure).toMatchObject({ delivered: true, reason: 'ECONNRESET' });
    expect(connections).toBe(1);
  });
});

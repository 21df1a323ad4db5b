import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from '@apollo/server';
import { createServer, maxHeaderSize, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** An HTTP request body that exceeds the limit: refused before any parsing. */
export class BodyTooLarge extends Error {
  constructor(
    message: string,
    /** The limit it went over, in bytes. */
    readonly limitBytes?: number,
  ) {
    super(message);
  }
}

/** Request headers over node:http's limit: refused by the parser, before any handler runs. */
export class HeadersTooLarge extends Error {
  constructor(readonly limitBytes: number) {
    super(`the request headers are over the ${limitBytes}-byte limit (a bearer token that long is not one this chain issued)`);
  }
}

/** Bytes that are not an HTTP/1.1 request: refused by the parser, before any handler runs. */
export class MalformedHttpRequest extends Error {
  constructor() {
    super('the request is not valid HTTP/1.1');
  }
}

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  return (await readBodyBytes(req, limitBytes)).toString('utf8');
}

/** The body exactly as received: what a signature is checked over (decoding first could change the bytes). */
export function readBodyBytes(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        reject(new BodyTooLarge(`the request body is over the ${limitBytes}-byte limit`, limitBytes));
        req.resume();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Runs one HTTP request through Apollo Server (the body is parsed here; Apollo answers a bad one with 400). */
export async function serveApollo<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  req: IncomingMessage,
  res: ServerResponse,
  context: () => Promise<TContext>,
  maxBodyBytes: number,
  beforeRespond?: () => Promise<void>,
): Promise<void> {
  const raw = req.method === 'POST' ? await readBody(req, maxBodyBytes) : '';
  return serveApolloBody(server, req, res, context, raw, beforeRespond);
}

/** `serveApollo` for a request whose body the caller has already read (to check its signature first). */
export async function serveApolloBody<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  req: IncomingMessage,
  res: ServerResponse,
  context: () => Promise<TContext>,
  raw: string,
  beforeRespond?: () => Promise<void>,
): Promise<void> {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(key, value);
  let body: unknown = raw;
  try {
    body = raw ? JSON.parse(raw) : undefined;
  } catch {
    // Left as text: Apollo answers a body that is not JSON with 400 BAD_REQUEST.
  }
  const request: HTTPGraphQLRequest = { method: req.method ?? 'GET', headers, search: new URL(req.url ?? '/', 'http://x').search, body };
  const response = await server.executeHTTPGraphQLRequest({ httpGraphQLRequest: request, context });
  await beforeRespond?.();
  res.statusCode = response.status ?? 200;
  for (const [key, value] of response.headers) res.setHeader(key, value);
  if (response.body.kind === 'complete') return void res.end(response.body.string);
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

export interface Listening {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * What `listen` answers when a handler fails before it responded: a status and
 * a JSON body. platform/ knows no error catalogue, so the caller gives it
 * (contracts' `httpFailure`: 413 for BodyTooLarge, 500 otherwise).
 */
export type FailureAnswer = (error: unknown) => { status: number; body: unknown };

/** Listens on `port` (0 picks a free one); a handler failure is answered with `onFailure`'s status and body. */
export async function listen(
  port: number,
  host: string,
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onFailure: FailureAnswer,
): Promise<Listening> {
  // Connections with an answer being written: a parser error on one (a pipelined request) must not interleave a second answer.
  const answering = new WeakSet<Socket>();
  const server = createServer((req, res) => {
    const socket = req.socket;
    answering.add(socket);
    res.once('close', () => answering.delete(socket));
    handler(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.end();
      const { status, body } = onFailure(error);
      sendJson(res, status, body);
    });
  });
  // node:http would answer a request its parser refuses with a bare status line; answer it in the same JSON as any other failure.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => (answering.has(socket) ? socket.destroy() : refuseUnparsed(error, socket, onFailure)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  let closing: Promise<void> | undefined;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** Answers what the HTTP parser refused (headers too large, not HTTP), then closes the connection. */
function refuseUnparsed(error: NodeJS.ErrnoException, socket: Socket, onFailure: FailureAnswer): void {
  if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  // A client too slow to send its request (node:http's request timeout): what node answers, nothing to parse.
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return void socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\n\r\n');
  const { status, body } = onFailure(error.code === 'HPE_HEADER_OVERFLOW' ? new HeadersTooLarge(maxHeaderSize) : new MalformedHttpRequest());
  const json = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n${json}`);
  // The client may still be sending (the rest of its headers): closing with its bytes unread would reset the
  // connection before it reads the answer. Read and drop them until it closes, for a few seconds at most.
  socket.on('data', () => undefined).resume();
  setTimeout(() => socket.destroy(), UNPARSED_DRAIN_MS).unref();
}

const UNPARSED_DRAIN_MS = 5000;

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { currentRequest, REQUEST_ID_HEADER } from './request-context';
import type { RequestSigner } from './signing';
import { traceHeaders } from './tracing';

/**
 * One HTTP transport with a deadline, for every client of a site (the
 * router's subgraph fetches and the coordinator's `/tx` calls). A request
 * either gets a whole answer — status and body — within the deadline, or
 * fails as `Unreachable`, saying whether the request may have arrived.
 */
export class Unreachable extends Error {
  constructor(
    /** False when the request surely never arrived (refused before connecting): the server did nothing. */
    readonly delivered: boolean,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'Unreachable';
  }
}

export interface HttpAnswer {
  status: number;
  ok: boolean;
  text: string;
}

/**
 * `sign`, when given, signs the exact bytes sent (platform/signing.ts): the body is serialised once, here.
 * Every call made for a request carries its id (`x-request-id`) and the trace context (`traceparent`),
 * so the process called logs and traces its part under the same names. Neither is signed: they name
 * the request in logs and traces and change nothing it does (a site checks the id's form like the gateway).
 */
export async function postJson(url: string, body: unknown, timeoutMs: number, headers: Record<string, string> = {}, sign?: RequestSigner): Promise<HttpAnswer> {
  const payload = JSON.stringify(body);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...requestHeaders(), ...headers, ...sign?.('POST', url, payload) },
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is part of the answer: a server frozen after sending the headers has not answered yet.
    const text = await response.text();
    return { status: response.status, ok: response.ok, text };
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code ?? '';
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : code || (error as Error).message;
    return Promise.reject(new Unreachable(code !== 'ECONNREFUSED', reason));
  }
}

/**
 * postJson's contract over node:http(s) instead of fetch, at a fraction of its
 * CPU per call (fetch's streams and abort signals are most of a small call's
 * cost): for the calls a process sends to sites all the time, the router's
 * reads and the gateway's watches. Only calls that may be sent twice,
 * changing nothing, go this way — never a 2PC step: a kept-alive socket the
 * server closed just as it was reused fails before any answer, and such a
 * call is sent once more on a new connection, freshly signed, within the same
 * deadline (Node's advice for idempotent requests: `req.reusedSocket`).
 */
export function postJsonHttp(url: string, body: unknown, timeoutMs: number, headers: Record<string, string> = {}, sign?: RequestSigner): Promise<HttpAnswer> {
  const payload = JSON.stringify(body);
  const target = new URL(url);
  const deadline = performance.now() + timeoutMs;
  const attempt = (retryStale: boolean): Promise<HttpAnswer> =>
    sendOnce(target, payload, { deadline, timeoutMs }, { ...headers, ...sign?.('POST', url, payload) }).catch((error: unknown) => {
      if (retryStale && error instanceof StaleSocket) return attempt(false);
      throw error instanceof StaleSocket ? new Unreachable(true, error.message) : error;
    });
  return attempt(true);
}

/** A kept-alive socket that failed before any byte of an answer: the server had closed it (or was closing it) as it was reused. */
class StaleSocket extends Error {}

/** One request, failed once `time.deadline` passes (what is left of the call's `time.timeoutMs`). */
function sendOnce(target: URL, payload: string, time: { deadline: number; timeoutMs: number }, headers: Record<string, string>): Promise<HttpAnswer> {
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const sent = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...requestHeaders(), ...headers };
  return new Promise((resolve, reject) => {
    let settled = false;
    let answered = false;
    /** True the first time only: one answer or failure per call. */
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      return true;
    };
    const fail = (error: Error) => {
      if (!settle()) return;
      req.destroy();
      reject(error);
    };
    const req = send(target, { method: 'POST', headers: sent }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      // The body is part of the answer, as in postJson.
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (settle()) resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', (error) => fail(new Unreachable(true, error.message)));
    });
    const timer = setTimeout(() => fail(new Unreachable(true, `no answer within ${time.timeoutMs} ms`)), Math.max(1, time.deadline - performance.now()));
    timer.unref();
    req.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code || error.message;
      if (req.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) return fail(new StaleSocket(`${reason} on a kept-alive connection`));
      fail(new Unreachable(error.code !== 'ECONNREFUSED', reason));
    });
    req.end(payload);
  });
}

function requestHeaders(): Record<string, string> {
  const requestId = currentRequest()?.requestId;
  return requestId ? { [REQUEST_ID_HEADER]: requestId, ...traceHeaders() } : traceHeaders();
}

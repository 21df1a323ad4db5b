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

function requestHeaders(): Record<string, string> {
  const requestId = currentRequest()?.requestId;
  return requestId ? { [REQUEST_ID_HEADER]: requestId, ...traceHeaders() } : traceHeaders();
}

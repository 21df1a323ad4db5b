import type { Site } from '../../schema';

/** A participant call that did not get an answer. `delivered: false` means the request surely never arrived. */
export class ParticipantUnreachable extends Error {
  constructor(readonly siteId: string, readonly delivered: boolean, reason: string) {
    super(`branch site ${siteId} is unavailable: ${reason}`);
    this.name = 'ParticipantUnreachable';
  }
}

/** A site that answered a participant call with an HTTP error: `status` 4xx means it refused the message and changed nothing. */
export class ParticipantFailed extends Error {
  constructor(readonly siteId: string, readonly status: number, readonly body: string) {
    super(`site ${siteId} answered HTTP ${status}`);
    this.name = 'ParticipantFailed';
  }
}

/** The coordinator's seam to the sites' `/tx/<action>` endpoints. */
export interface ParticipantClient {
  call<T = any>(siteId: string, action: string, body: unknown): Promise<T>;
}

export class HttpParticipantClient implements ParticipantClient {
  private readonly urls: Map<string, string>;

  constructor(sites: readonly Pick<Site, 'id' | 'url'>[], private readonly timeoutMs = 5000) {
    this.urls = new Map(sites.map((s) => [s.id, s.url.replace(/\/+$/, '')]));
  }

  async call<T>(siteId: string, action: string, body: unknown): Promise<T> {
    const base = this.urls.get(siteId);
    if (!base) throw new ParticipantUnreachable(siteId, false, 'not in the sites config');
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${base}/tx/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The body is part of the answer: a site frozen after sending the headers has not answered yet.
      text = await response.text();
    } catch (error) {
      const code = ((error as { cause?: { code?: string } }).cause?.code ?? '') as string;
      // Refused before connecting: the site never saw the request, so it did nothing.
      const delivered = code !== 'ECONNREFUSED';
      throw new ParticipantUnreachable(siteId, delivered, (error as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : code || (error as Error).message);
    }
    if (!response.ok) throw new ParticipantFailed(siteId, response.status, text);
    return JSON.parse(text) as T;
  }
}

import type { Site } from '../../schema';

/** A participant call that did not get an answer. `delivered: false` means the request surely never arrived. */
export class ParticipantUnreachable extends Error {
  constructor(readonly siteId: string, readonly delivered: boolean, reason: string) {
    super(`branch site ${siteId} is unavailable: ${reason}`);
    this.name = 'ParticipantUnreachable';
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
    try {
      response = await fetch(`${base}/tx/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const code = ((error as { cause?: { code?: string } }).cause?.code ?? '') as string;
      // Refused before connecting: the site never saw the request, so it did nothing.
      const delivered = code !== 'ECONNREFUSED';
      throw new ParticipantUnreachable(siteId, delivered, (error as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : code || (error as Error).message);
    }
    const text = await response.text();
    if (!response.ok) throw new Error(`site ${siteId} refused /tx/${action}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }
}

import { postJson, SpanKind, Unreachable, withSpan, type RequestSigner } from '../platform';
import { describeIssues, TX_ACTIONS, type TxAction, type TxReply, type TxRequest } from './protocol';

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

/** A 200 answer that is not what the action replies: it may hide anything, so callers treat it as no answer they can trust. */
export class MalformedReply extends Error {
  constructor(readonly siteId: string, action: string, reason: string) {
    super(`site ${siteId} answered /tx/${action} with something that is not its reply: ${reason}`);
    this.name = 'MalformedReply';
  }
}

/** The seam to the sites' `/tx/<action>` endpoints: typed by action, request and reply. */
export interface ParticipantClient {
  call<A extends TxAction>(siteId: string, action: A, body: TxRequest<A>): Promise<TxReply<A>>;
}

export interface HttpParticipantClientOptions {
  sites: readonly { id: string; url: string }[];
  /** Signs every call: a site refuses an unsigned one with 401 and changes nothing (platform/signing.ts). */
  sign: RequestSigner;
  /** A call not answered by then fails as ParticipantUnreachable. */
  timeoutMs?: number;
  /** The HTTP transport (postJson by default; platform/fetch.ts says which calls may take postJsonHttp). */
  transport?: typeof postJson;
  /** Told of every call once it is over, for logs and metrics (2PC steps among them). */
  onCall?: (call: ParticipantCall) => void;
}

/** One finished participant call. `outcome` is `ok`, a vote (`PREPARED`, `REFUSED`, `BUSY`), `unreachable`, `failed` (an HTTP error) or `malformed`. */
export interface ParticipantCall {
  siteId: string;
  action: TxAction;
  gid?: string;
  outcome: string;
  ms: number;
  /** Why it failed, for a log line. */
  reason?: string;
}

export class HttpParticipantClient implements ParticipantClient {
  private urls: Map<string, string>;
  private readonly timeoutMs: number;

  constructor(private readonly options: HttpParticipantClientOptions) {
    this.urls = new Map(options.sites.map((s) => [s.id, s.url.replace(/\/+$/, '')]));
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** The sites' URLs now: a gateway's site list changes while it runs (`libfed sites add|remove`). */
  setSites(sites: readonly { id: string; url: string }[]): void {
    this.urls = new Map(sites.map((s) => [s.id, s.url.replace(/\/+$/, '')]));
  }

  /** One span per call (`tx prepare` at Q3), so a trace shows each 2PC step of each participant. */
  async call<A extends TxAction>(siteId: string, action: A, body: TxRequest<A>): Promise<TxReply<A>> {
    const gid = typeof (body as { gid?: unknown }).gid === 'string' ? (body as { gid: string }).gid : undefined;
    const attributes = { 'libfed.site': siteId, 'libfed.tx.action': action, ...(gid ? { 'libfed.gid': gid } : {}) };
    return withSpan(`tx ${action}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      const started = performance.now();
      const told = (outcome: string, reason?: string) => this.options.onCall?.({ siteId, action, gid, outcome, ms: performance.now() - started, reason });
      try {
        const reply = await this.send(siteId, action, body);
        const vote = (reply as { vote?: unknown }).vote;
        span.setAttribute('libfed.tx.outcome', typeof vote === 'string' ? vote : 'ok');
        told(typeof vote === 'string' ? vote : 'ok');
        return reply;
      } catch (error) {
        told(error instanceof ParticipantUnreachable ? 'unreachable' : error instanceof ParticipantFailed ? 'failed' : error instanceof MalformedReply ? 'malformed' : 'error', (error as Error).message);
        throw error;
      }
    });
  }

  private async send<A extends TxAction>(siteId: string, action: A, body: TxRequest<A>): Promise<TxReply<A>> {
    const base = this.urls.get(siteId);
    if (!base) throw new ParticipantUnreachable(siteId, false, 'not in the sites config');
    const answer = await (this.options.transport ?? postJson)(`${base}/tx/${action}`, body, this.timeoutMs, {}, this.options.sign).catch((error: unknown) => {
      if (error instanceof Unreachable) throw new ParticipantUnreachable(siteId, error.delivered, error.reason);
      throw error;
    });
    // A 401 is a gateway and a site that share no secret (a rotation gone wrong): for the call the site is as
    // unavailable as one that refused the connection, and like it changed nothing — BRANCH_UNAVAILABLE, not bad input.
    if (answer.status === 401) throw new ParticipantUnreachable(siteId, false, `it refused the call's signature (HTTP 401): ${answer.text.slice(0, 200)}`);
    if (!answer.ok) throw new ParticipantFailed(siteId, answer.status, answer.text);
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      throw new MalformedReply(siteId, action, 'not JSON');
    }
    const parsed = TX_ACTIONS[action].reply.safeParse(json);
    if (!parsed.success) throw new MalformedReply(siteId, action, describeIssues(parsed.error));
    return parsed.data as TxReply<A>;
  }
}

import { ParticipantUnreachable, type ParticipantClient, type TxAction, type TxReply, type TxRequest } from '../../contracts';

/** The calls that start new work at a site: a refusal before sending one changes nothing anywhere. */
const STARTS_WORK: ReadonlySet<TxAction> = new Set<TxAction>(['local', 'prepare', 'commit-point']);

/**
 * The coordinator's participant client with failure detection in front
 * (docs/ARCHITECTURE.md §4): a new transaction that needs a suspected site is
 * refused at once with BRANCH_UNAVAILABLE — the call is not sent, so it fails
 * as `delivered: false`, which the coordinator already answers as "nothing was
 * changed". Everything else goes through whatever the detector says: 2PC
 * phase 2 is durable, so COMMIT and ABORT of a prepared transaction are sent
 * and retried until they land, and recovery's questions (`decide`,
 * `decision`, `status`) must reach a site the moment it is back.
 */
export class GuardedParticipantClient implements ParticipantClient {
  /** PREPAREs refused here, never sent: their ABORT has nothing to release (`site gid`). */
  private readonly unsent = new Set<string>();

  constructor(
    private readonly inner: ParticipantClient,
    private readonly refusal: (siteId: string) => string | undefined,
  ) {}

  async call<A extends TxAction>(siteId: string, action: A, body: TxRequest<A>): Promise<TxReply<A>> {
    const gid = (body as { gid?: string }).gid;
    if (STARTS_WORK.has(action)) {
      const why = this.refusal(siteId);
      if (why) {
        if (action === 'prepare' && gid) this.rememberUnsent(`${siteId} ${gid}`);
        throw new ParticipantUnreachable(siteId, false, `${why} (not asked)`);
      }
    }
    // The coordinator aborts every site it meant to prepare; one that was never sent a PREPARE holds
    // nothing for this gid and no PREPARE of it can ever arrive late, so there is nothing to fence.
    if (action === 'abort' && gid && this.unsent.delete(`${siteId} ${gid}`)) return { state: 'ABORTED' } as TxReply<A>;
    return this.inner.call(siteId, action, body);
  }

  /** Bounded: a transaction that ends in doubt is never aborted by its coordinator, and its entry goes with the oldest. */
  private rememberUnsent(key: string): void {
    this.unsent.add(key);
    if (this.unsent.size > MAX_UNSENT) this.unsent.delete(this.unsent.values().next().value!);
  }
}

const MAX_UNSENT = 10_000;

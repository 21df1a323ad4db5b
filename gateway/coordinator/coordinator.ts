import { randomBytes } from 'node:crypto';
import { isErrorCode, libfedError, SITE_ID_PATTERN } from '../../schema';
import type { GraphQLError } from 'graphql';
import {
  ParticipantFailed,
  ParticipantUnreachable,
  type Applied,
  type AuditEntry,
  type Decision,
  type Idempotency,
  type LocalResult,
  type Operation,
  type Outcome,
  type ParticipantClient,
  type TxRequest,
  type Vote,
} from '../../contracts';
import type { TxInfo, WaitForGraph } from './waitfor';

/** A mutation as the coordinator runs it: operations per site, and the site whose commit decides. */
export interface TxPlan {
  ops: Map<string, Operation[]>;
  commitSite: string;
  /** The branch the mutation acts at — the only one where a librarian may do it; none for chain-wide writes (managers only). */
  actsAt?: string | null;
  /** Entity cache lines (`Type:key`) whose cached answers the mutation makes stale (docs/ARCHITECTURE.md §5). */
  lines: string[];
  /** A copy or reader that the mutation moves, and its new site: the gateway remembers it at once. */
  moved?: { id: string; site: string };
}

/** Test hook: the coordinator stops dead at this point, as if its process died (docs/ARCHITECTURE.md §4 crash points). */
export type CrashPoint = 'after-prepare' | 'after-decision';
export class CoordinatorCrashed extends Error {}

export interface CoordinatorOptions {
  client: ParticipantClient;
  waitFor: WaitForGraph;
  /** Longest a transaction waits for locks held by others before it gives up. */
  lockWaitMs?: number;
  /** How long a prepared participant waits for the decision once phase 1's lock waits are over: past it, recovery may resolve it. */
  preparedTtlMs?: number;
  /** Retry interval while waiting for a lock, and for phase 2 to an unreachable site. */
  retryMs?: number;
  clock?: () => number;
  gatewayId?: string;
  crashAt?: CrashPoint;
  /** Sleep between prepares, one site at a time in this order, instead of all at once (tests force lock orders with it). */
  sequentialPrepare?: { order?: string[]; gapMs: number };
}

export type Phase = 'preparing' | 'deciding' | 'committing' | 'aborting' | 'done';

export interface TxView {
  gid: string;
  phase: Phase;
  sites: string[];
  commitSite: string;
  startedAt: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs mutations (docs/ARCHITECTURE.md §4): one site → one local transaction; several sites →
 * two-phase commit with presumed abort, the commit-point site's local commit as
 * the decision, and a wait-for graph for deadlocks.
 */
export class Coordinator {
  private readonly o: Required<Omit<CoordinatorOptions, 'crashAt' | 'sequentialPrepare'>> & Pick<CoordinatorOptions, 'crashAt' | 'sequentialPrepare'>;
  private readonly inFlight = new Map<string, TxView>();
  private readonly phase2Retries = new Set<Promise<void>>();
  /** `site/gid` → why recovery could not resolve it on its last try. */
  private readonly stuck = new Map<string, string>();
  private stopped = false;

  constructor(options: CoordinatorOptions) {
    this.o = {
      lockWaitMs: 5000,
      preparedTtlMs: 10_000,
      retryMs: 25,
      clock: () => Date.now(),
      gatewayId: randomBytes(3).toString('hex'),
      ...options,
    };
  }

  /** A transaction id names its commit-point site and its start, so anyone holding it can learn its outcome (`outcome`). */
  newGid(commitSite: string): string {
    return `${commitSite}.${this.o.gatewayId}-${this.o.clock().toString(36)}-${randomBytes(4).toString('hex')}`;
  }

  /**
   * Runs `plan`; returns what the deciding site applied, or throws a GraphQL
   * error with a stable code: a refusal (nothing changed), TX_IN_DOUBT (the gid
   * and its commit site; `outcome` tells later), or DUPLICATE_REQUEST when the
   * idempotency key was already committed at the commit point.
   */
  /** `audit`: the mutation's audit line, written by the deciding commit together with its effect. */
  async run(plan: TxPlan, gid = this.newGid(plan.commitSite), idempotency?: Idempotency, audit?: AuditEntry): Promise<Applied[]> {
    const tx: TxInfo = { gid, startedAt: this.o.clock(), prepared: false };
    const view: TxView = { gid, phase: 'preparing', sites: [...plan.ops.keys()], commitSite: plan.commitSite, startedAt: new Date(tx.startedAt).toISOString() };
    this.inFlight.set(gid, view);
    try {
      if (plan.ops.size === 1) return await this.oneSite(tx, plan, idempotency, audit);
      return await this.twoPhase(tx, plan, view, idempotency, audit);
    } finally {
      this.inFlight.delete(gid);
      await this.bookkeeping(() => this.o.waitFor.forget(gid));
    }
  }

  /**
   * The wait-for graph is an auxiliary service (Redis): its failure must not
   * change what the client is told about a write. Deadlock detection degrades
   * to the lock-wait bound while it is gone.
   */
  private async bookkeeping<T>(step: () => Promise<T>): Promise<T | undefined> {
    try {
      return await step();
    } catch {
      return undefined;
    }
  }

  private async oneSite(tx: TxInfo, plan: TxPlan, idempotency?: Idempotency, audit?: AuditEntry): Promise<Applied[]> {
    const [site, ops] = [...plan.ops][0];
    const result = await this.decideAt(tx, site, 'local', { gid: tx.gid, ops, lines: plan.lines, idempotency, audit }, this.o.clock() + this.o.lockWaitMs);
    if ('outcome' in result) return result.applied;
    throw refusal(result);
  }

  /**
   * The deciding call (a one-site `local` or the commit point's `commit-point`):
   * its local commit IS the outcome. No answer after the request may have
   * arrived, or a server error, leaves the outcome unknown to us: TX_IN_DOUBT,
   * never "failed".
   */
  private async decideAt(tx: TxInfo, site: string, action: 'local' | 'commit-point', body: TxRequest<'local'>, waitUntil: number): Promise<LocalResult> {
    try {
      return await this.untilNotBusy(tx, site, waitUntil, () => this.o.client.call(site, action, body));
    } catch (error) {
      if (error instanceof ParticipantUnreachable && !error.delivered) throw unavailable(error);
      if (error instanceof ParticipantFailed && error.status < 500) {
        throw libfedError('BAD_USER_INPUT', `branch ${site} refused the mutation's request (HTTP ${error.status}): ${error.body.slice(0, 200)}; nothing was changed`, { site });
      }
      // A deadlock victim or a lock-wait timeout decided nothing: the request was refused before it ran.
      if ((error as GraphQLError).extensions?.code) throw error;
      // Anything else (no answer, a server error, an answer we could not read, a bug) may hide a commit.
      throw inDoubt(tx.gid, site, (error as Error).message);
    }
  }

  private async twoPhase(tx: TxInfo, plan: TxPlan, view: TxView, idempotency?: Idempotency, audit?: AuditEntry): Promise<Applied[]> {
    const participants = [...plan.ops.keys()].filter((s) => s !== plan.commitSite);
    // One lock-wait budget for the whole transaction (phase 1 and the commit point's call), and
    // a deadline past it: no participant is presumed abandoned while its coordinator may still
    // be waiting for a busy branch (the same bound `outcome` presumes abort after).
    const waitUntil = this.o.clock() + this.o.lockWaitMs;
    const deadline = new Date(waitUntil + this.o.preparedTtlMs).toISOString();
    // Every site a PREPARE was sent to, answered or not: each gets ABORT on any way out that does not commit.
    const prepared: string[] = [];
    let decided: LocalResult;
    try {
      // Phase 1: every participant but the commit point votes.
      const failure = await this.prepareAll(tx, plan, participants, deadline, waitUntil, prepared);
      if (failure) throw failure;
      tx.prepared = true;
      await this.bookkeeping(() => this.o.waitFor.update(tx));
      this.crashIf('after-prepare');
      // The decision: the commit point's local commit writes COMMITTED(gid), or nothing.
      view.phase = 'deciding';
      decided = await this.decideAt(tx, plan.commitSite, 'commit-point', { gid: tx.gid, ops: plan.ops.get(plan.commitSite)!, lines: plan.lines, idempotency, audit }, waitUntil);
      if (!('outcome' in decided)) throw refusal(decided);
    } catch (error) {
      if (error instanceof CoordinatorCrashed) throw error;
      // In doubt: the commit point may have committed, so nothing may be aborted; recovery asks it.
      if ((error as GraphQLError).extensions?.code === 'TX_IN_DOUBT') throw error;
      // Any other way out did not commit (presumed abort): release every site that may have prepared, then answer.
      view.phase = 'aborting';
      await this.abortAll(tx.gid, prepared);
      throw error;
    }
    this.crashIf('after-decision');
    // Phase 2: the decision is durable, so commit is retried until every participant has it.
    view.phase = 'committing';
    await Promise.all(prepared.map((site) => this.commitAt(site, tx.gid)));
    view.phase = 'done';
    return decided.applied;
  }

  private async prepareAll(tx: TxInfo, plan: TxPlan, sites: string[], deadline: string, waitUntil: number, prepared: string[]): Promise<GraphQLError | undefined> {
    const prepareAt = async (site: string): Promise<GraphQLError | undefined> => {
      // Recorded before the request leaves: a prepare that may have arrived is aborted too (abort is idempotent and fences a late prepare).
      prepared.push(site);
      try {
        const vote = await this.untilNotBusy(tx, site, waitUntil, () =>
          this.o.client.call(site, 'prepare', { gid: tx.gid, ops: plan.ops.get(site)!, commitSite: plan.commitSite, deadline, lines: plan.lines }),
        );
        if (vote.vote === 'PREPARED') return undefined;
        return refusal(vote);
      } catch (error) {
        if (error instanceof ParticipantUnreachable) return unavailable(error);
        if (error instanceof ParticipantFailed) return libfedError('BRANCH_UNAVAILABLE', `${error.message} to PREPARE; nothing was changed`, { site });
        if ((error as GraphQLError).extensions?.code) return error as GraphQLError;
        // A bug or an unexpected answer: its details are for the log, not the client. Every prepared site is aborted.
        return libfedError('INTERNAL_SERVER_ERROR', `the PREPARE at ${site} failed unexpectedly; every branch was told to abort, so nothing was changed (see the gateway log)`, { site, nothingChanged: true });
      }
    };
    const seq = this.o.sequentialPrepare;
    if (seq) {
      const order = seq.order ? seq.order.filter((s) => sites.includes(s)) : sites;
      for (const site of order) {
        const failed = await prepareAt(site);
        if (failed) return failed;
        await sleep(seq.gapMs);
      }
      return undefined;
    }
    const failures = (await Promise.all(sites.map(prepareAt))).filter(Boolean);
    return failures[0];
  }

  /** Retries while the site answers BUSY(holder), recording waits; a deadlock victim or the lock-wait bound ends it. */
  private async untilNotBusy<T extends LocalResult | Vote>(tx: TxInfo, site: string, waitUntil: number, call: () => Promise<T>): Promise<T> {
    for (;;) {
      const answer = await call();
      if (!('vote' in answer) || answer.vote !== 'BUSY') {
        await this.bookkeeping(() => this.o.waitFor.forget(tx.gid).then(() => this.o.waitFor.update(tx)));
        return answer;
      }
      const victim = await this.bookkeeping(() => this.o.waitFor.wait(tx, answer.holder));
      if (victim === tx.gid) {
        throw libfedError('TX_ABORTED_DEADLOCK', `transaction ${tx.gid} was chosen as deadlock victim (it waited for ${answer.holder} at ${site}, which waits for it); retry the mutation`, { gid: tx.gid, holder: answer.holder, site });
      }
      if (this.o.clock() > waitUntil) {
        throw libfedError('TX_LOCK_TIMEOUT', `transaction ${tx.gid} waited over ${this.o.lockWaitMs} ms for ${answer.resource} at ${site} (held by ${answer.holder}); retry later`, { gid: tx.gid, holder: answer.holder, site });
      }
      await sleep(this.o.retryMs * (0.5 + Math.random()));
    }
  }

  private async abortAll(gid: string, sites: string[]): Promise<void> {
    await Promise.all(
      sites.map((site) =>
        this.o.client.call(site, 'abort', { gid }).catch(() => {
          // Unreachable: the site resolves it after its deadline (presumed abort).
        }),
      ),
    );
  }

  private async commitAt(site: string, gid: string): Promise<void> {
    try {
      await this.o.client.call(site, 'commit', { gid });
    } catch {
      // 2PC phase 2: the decision is durable, so commit is retried in the background until it lands.
      const retry = (async () => {
        while (!this.stopped) {
          await sleep(Math.max(this.o.retryMs * 20, 250));
          try {
            await this.o.client.call(site, 'commit', { gid });
            return;
          } catch {
            // still unreachable
          }
        }
      })();
      this.phase2Retries.add(retry);
      void retry.finally(() => this.phase2Retries.delete(retry));
    }
  }

  private crashIf(point: CrashPoint): void {
    if (this.o.crashAt === point) throw new CoordinatorCrashed(`test hook: coordinator stopped ${point}`);
  }

  /** Resolves participants of `sites` that are PREPARED past their deadline, asking each one's commit point (any gateway may run this). */
  async recover(sites: string[]): Promise<{ site: string; gid: string; outcome: Outcome }[]> {
    const resolved: { site: string; gid: string; outcome: Outcome }[] = [];
    // Sites in parallel: one frozen site must not hold up the others' in-doubt transactions.
    await Promise.all(
      sites.map(async (site) => {
        let status: { prepared: { gid: string; commitSite: string; deadline: string }[] };
        try {
          status = await this.o.client.call(site, 'status', {});
        } catch {
          return;
        }
        for (const t of status.prepared) {
          if (new Date(t.deadline).getTime() > this.o.clock()) continue;
          const key = `${site}/${t.gid}`;
          try {
            const { outcome } = await this.o.client.call(t.commitSite, 'decide', { gid: t.gid });
            try {
              await this.o.client.call(site, outcome === 'COMMITTED' ? 'commit' : 'abort', { gid: t.gid });
            } catch (error) {
              this.stuck.set(key, `decided ${outcome} at ${t.commitSite}, but ${site} did not take it: ${(error as Error).message}`);
              continue;
            }
            this.stuck.delete(key);
            resolved.push({ site, gid: t.gid, outcome });
          } catch (error) {
            this.stuck.set(key, `commit point ${t.commitSite} did not answer: ${(error as Error).message}`);
          }
        }
      }),
    );
    if (this.stuck.size > 1000) this.stuck.clear();
    return resolved;
  }

  /** Why the last recovery round could not resolve a participant (for `transactions.inDoubt`). */
  stuckReason(site: string, gid: string): string | undefined {
    return this.stuck.get(`${site}/${gid}`);
  }

  /**
   * The outcome of `gid` as its commit point recorded it, without waiting for
   * recovery. A transaction past its prepared deadline with no decision is
   * decided ABORTED now (presumed abort: that row fences a request still on
   * its way); one still within it is PENDING.
   */
  async outcome(gid: string): Promise<{ gid: string; outcome: Outcome | 'PENDING'; commitSite: string; entityId: string | null } | null> {
    const parsed = parseGid(gid);
    if (!parsed) return null;
    const { commitSite, startedAt } = parsed;
    const pending = { gid, outcome: 'PENDING' as const, commitSite, entityId: null };
    let known: { decision: Decision | null };
    try {
      known = await this.o.client.call(commitSite, 'decision', { gid });
    } catch {
      return pending;
    }
    if (known.decision) return { gid, outcome: known.decision.outcome, commitSite, entityId: known.decision.entity?.id ?? null };
    if (this.inFlight.has(gid) || this.o.clock() < startedAt + this.o.preparedTtlMs + this.o.lockWaitMs) return pending;
    try {
      const { outcome } = await this.o.client.call(commitSite, 'decide', { gid });
      return { gid, outcome, commitSite, entityId: null };
    } catch {
      return pending;
    }
  }

  /**
   * docs/ARCHITECTURE.md §5, the dirty-line logs: each commit logs the lines it made stale at
   * its deciding site (and each phase 2 at its participant). One drain round
   * reads every site's log, invalidates those lines through the cache, and
   * deletes exactly the rows whose invalidation was delivered — never a row it
   * did not read, never one whose invalidation was deferred. Answers whether
   * the round was complete: every site read to the end and every line
   * delivered (the drain fence is renewed only then).
   */
  async drainDirty(sites: string[], invalidate: (lines: string[]) => Promise<'invalidated' | 'deferred'>, pageSize = 1000): Promise<{ complete: boolean; drained: number }> {
    const rounds = await Promise.all(sites.map((site) => this.drainSite(site, invalidate, pageSize)));
    return { complete: rounds.every((r) => r.complete), drained: rounds.reduce((n, r) => n + r.drained, 0) };
  }

  private async drainSite(site: string, invalidate: (lines: string[]) => Promise<'invalidated' | 'deferred'>, pageSize: number): Promise<{ complete: boolean; drained: number }> {
    let drained = 0;
    // Bounded: a log that keeps growing faster than it drains is left for the next round.
    for (let page = 0; page < 20; page++) {
      let dirty: { gid: string; line: string }[];
      try {
        ({ dirty } = await this.o.client.call(site, 'dirty', { limit: pageSize }));
      } catch {
        return { complete: false, drained };
      }
      if (dirty.length === 0) return { complete: true, drained };
      if ((await invalidate([...new Set(dirty.map((d) => d.line))])) !== 'invalidated') return { complete: false, drained };
      try {
        await this.o.client.call(site, 'clean', { rows: dirty });
      } catch {
        // Delivered but not deleted: invalidating again next round is harmless. The round is complete
        // only if this page was the log's end: a full page leaves rows no one has read, let alone invalidated.
        return { complete: dirty.length < pageSize, drained };
      }
      drained += dirty.length;
      if (dirty.length < pageSize) return { complete: true, drained };
    }
    return { complete: false, drained };
  }

  /** In-flight transactions of this gateway, for the managers' `transactions` query. */
  inFlightView(): TxView[] {
    return [...this.inFlight.values()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.phase2Retries);
  }
}

function refusal(vote: { vote: 'REFUSED' | 'BUSY'; code?: string; message?: string; holder?: string }): GraphQLError {
  if (vote.vote === 'BUSY') return libfedError('TX_LOCK_TIMEOUT', `the rows are held by transaction ${vote.holder}; retry later`);
  // A site speaks the catalogue's codes; anything else is a bug there, but the refusal still changed nothing.
  if (isErrorCode(vote.code)) return libfedError(vote.code, vote.message ?? 'refused');
  return libfedError('INTERNAL_SERVER_ERROR', `a branch refused with an unknown code ${JSON.stringify(vote.code)}; nothing was changed`, { nothingChanged: true });
}

const GID = new RegExp(`^(${SITE_ID_PATTERN})\\.[0-9a-z]+-([0-9a-z]+)-[0-9a-f]+$`);

/** A gid's commit site and start time (see `newGid`); undefined for an id this coordinator could not have made. */
export function parseGid(gid: string): { commitSite: string; startedAt: number } | undefined {
  const m = GID.exec(gid);
  if (!m) return undefined;
  const startedAt = parseInt(m[2], 36);
  return Number.isFinite(startedAt) ? { commitSite: m[1], startedAt } : undefined;
}

function inDoubt(gid: string, site: string, reason: string): GraphQLError {
  return libfedError(
    'TX_IN_DOUBT',
    `transaction ${gid}: the deciding branch ${site} did not answer (${reason}); the mutation may have committed. Query transaction(gid: "${gid}") for the outcome before retrying, or retry with the same idempotencyKey`,
    { gid, site },
  );
}

function unavailable(error: ParticipantUnreachable): GraphQLError {
  return libfedError('BRANCH_UNAVAILABLE', `${error.message}; nothing was changed`, { site: error.siteId });
}

import { randomBytes } from 'node:crypto';
import { libfedError } from '../../schema';
import type { GraphQLError } from 'graphql';
import { ParticipantUnreachable, type Applied, type LocalResult, type Operation, type Outcome, type ParticipantClient, type Vote } from '../../subgraphs/participant';
import type { TxInfo, WaitForGraph } from './waitfor';

/** A mutation as the coordinator runs it: operations per site, and the site whose commit decides. */
export interface TxPlan {
  ops: Map<string, Operation[]>;
  commitSite: string;
  /** Entity cache lines (`Type:key`) whose cached answers the mutation makes stale (DESIGN §5). */
  lines: string[];
  /** A copy or reader that the mutation moves, and its new site: the gateway remembers it at once. */
  moved?: { id: string; site: string };
}

/** Test hook: the coordinator stops dead at this point, as if its process died (DESIGN §4 crash points). */
export type CrashPoint = 'after-prepare' | 'after-decision';
export class CoordinatorCrashed extends Error {}

export interface CoordinatorOptions {
  client: ParticipantClient;
  waitFor: WaitForGraph;
  /** Longest a transaction waits for locks held by others before it gives up. */
  lockWaitMs?: number;
  /** A prepared participant's deadline: past it, recovery may resolve it. */
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
 * Runs mutations (DESIGN §4): one site → one local transaction; several sites →
 * two-phase commit with presumed abort, the commit-point site's local commit as
 * the decision, and a wait-for graph for deadlocks.
 */
export class Coordinator {
  private readonly o: Required<Omit<CoordinatorOptions, 'crashAt' | 'sequentialPrepare'>> & Pick<CoordinatorOptions, 'crashAt' | 'sequentialPrepare'>;
  private readonly inFlight = new Map<string, TxView>();
  private readonly phase2Retries = new Set<Promise<void>>();
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

  newGid(): string {
    return `${this.o.gatewayId}-${this.o.clock().toString(36)}-${randomBytes(4).toString('hex')}`;
  }

  /** Runs `plan`; returns what the deciding site applied, or throws a GraphQL error with a stable code. */
  async run(plan: TxPlan, gid = this.newGid()): Promise<Applied[]> {
    const tx: TxInfo = { gid, startedAt: this.o.clock(), prepared: false };
    const view: TxView = { gid, phase: 'preparing', sites: [...plan.ops.keys()], commitSite: plan.commitSite, startedAt: new Date(tx.startedAt).toISOString() };
    this.inFlight.set(gid, view);
    try {
      if (plan.ops.size === 1) return await this.oneSite(tx, plan);
      return await this.twoPhase(tx, plan, view);
    } finally {
      this.inFlight.delete(gid);
      await this.o.waitFor.forget(gid);
    }
  }

  private async oneSite(tx: TxInfo, plan: TxPlan): Promise<Applied[]> {
    const [site, ops] = [...plan.ops][0];
    const result = await this.untilNotBusy(tx, site, () => this.o.client.call<LocalResult>(site, 'local', { gid: tx.gid, ops, lines: plan.lines }));
    if ('outcome' in result) return result.applied;
    throw refusal(result);
  }

  private async twoPhase(tx: TxInfo, plan: TxPlan, view: TxView): Promise<Applied[]> {
    const participants = [...plan.ops.keys()].filter((s) => s !== plan.commitSite);
    const deadline = new Date(this.o.clock() + this.o.preparedTtlMs).toISOString();
    const prepared: string[] = [];
    // Phase 1: every participant but the commit point votes.
    const failure = await this.prepareAll(tx, plan, participants, deadline, prepared);
    if (failure) {
      view.phase = 'aborting';
      await this.abortAll(tx.gid, prepared);
      throw failure;
    }
    tx.prepared = true;
    await this.o.waitFor.update(tx);
    this.crashIf('after-prepare');
    // The decision: the commit point's local commit writes COMMITTED(gid), or nothing.
    view.phase = 'deciding';
    let decided: LocalResult;
    try {
      decided = await this.untilNotBusy(tx, plan.commitSite, () =>
        this.o.client.call<LocalResult>(plan.commitSite, 'commit-point', { gid: tx.gid, ops: plan.ops.get(plan.commitSite), lines: plan.lines }),
      );
    } catch (error) {
      if (error instanceof ParticipantUnreachable && !error.delivered) {
        view.phase = 'aborting';
        await this.abortAll(tx.gid, prepared);
        throw unavailable(error);
      }
      if (error instanceof ParticipantUnreachable) {
        // The request may have committed there: only the commit point knows. Recovery will ask it.
        throw libfedError('TX_IN_DOUBT', `transaction ${tx.gid}: commit point ${plan.commitSite} did not answer; the outcome is settled by recovery`, { gid: tx.gid, site: plan.commitSite });
      }
      throw error;
    }
    if (!('outcome' in decided)) {
      view.phase = 'aborting';
      await this.abortAll(tx.gid, prepared);
      throw refusal(decided);
    }
    this.crashIf('after-decision');
    // Phase 2: the decision is durable, so commit is retried until every participant has it.
    view.phase = 'committing';
    await Promise.all(prepared.map((site) => this.commitAt(site, tx.gid)));
    view.phase = 'done';
    return decided.applied;
  }

  private async prepareAll(tx: TxInfo, plan: TxPlan, sites: string[], deadline: string, prepared: string[]): Promise<GraphQLError | undefined> {
    const prepareAt = async (site: string): Promise<GraphQLError | undefined> => {
      try {
        const vote = await this.untilNotBusy(tx, site, () =>
          this.o.client.call<Vote>(site, 'prepare', { gid: tx.gid, ops: plan.ops.get(site), commitSite: plan.commitSite, deadline, lines: plan.lines }),
        );
        if (vote.vote === 'PREPARED') {
          prepared.push(site);
          return undefined;
        }
        return refusal(vote);
      } catch (error) {
        // A prepare that may have arrived is aborted too: abort is idempotent and fences a late prepare.
        if (error instanceof ParticipantUnreachable) {
          prepared.push(site);
          return unavailable(error);
        }
        if ((error as GraphQLError).extensions?.code) return error as GraphQLError;
        throw error;
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
  private async untilNotBusy<T extends LocalResult | Vote>(tx: TxInfo, site: string, call: () => Promise<T>): Promise<T> {
    const started = this.o.clock();
    for (;;) {
      const answer = await call();
      if (!('vote' in answer) || answer.vote !== 'BUSY') {
        await this.o.waitFor.forget(tx.gid).then(() => this.o.waitFor.update(tx));
        return answer;
      }
      const victim = await this.o.waitFor.wait(tx, answer.holder);
      if (victim === tx.gid) {
        throw libfedError('TX_ABORTED_DEADLOCK', `transaction ${tx.gid} was chosen as deadlock victim (it waited for ${answer.holder} at ${site}, which waits for it); retry the mutation`, { gid: tx.gid, holder: answer.holder, site });
      }
      if (this.o.clock() - started > this.o.lockWaitMs) {
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
    for (const site of sites) {
      let status: { prepared: { gid: string; commitSite: string; deadline: string }[] };
      try {
        status = await this.o.client.call(site, 'status', {});
      } catch {
        continue;
      }
      for (const t of status.prepared) {
        if (new Date(t.deadline).getTime() > this.o.clock()) continue;
        try {
          const { outcome } = await this.o.client.call<{ outcome: Outcome }>(t.commitSite, 'decide', { gid: t.gid });
          await this.o.client.call(site, outcome === 'COMMITTED' ? 'commit' : 'abort', { gid: t.gid });
          resolved.push({ site, gid: t.gid, outcome });
        } catch {
          // The commit point or the site is down: try again on the next round.
        }
      }
    }
    return resolved;
  }

  /**
   * DESIGN §5 after a crash: the lines each commit made stale are logged at its
   * deciding site; this drains them into the cache (invalidating again what the
   * committing gateway already did is harmless) and clears the log.
   */
  async drainDirty(sites: string[], invalidate: (lines: string[]) => Promise<unknown>): Promise<number> {
    let drained = 0;
    for (const site of sites) {
      try {
        const { dirty } = await this.o.client.call<{ dirty: { gid: string; line: string }[] }>(site, 'dirty', {});
        if (dirty.length === 0) continue;
        await invalidate([...new Set(dirty.map((d) => d.line))]);
        await this.o.client.call(site, 'clean', { gids: [...new Set(dirty.map((d) => d.gid))] });
        drained += dirty.length;
      } catch {
        // The site is down: its log waits for the next round.
      }
    }
    return drained;
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
  return libfedError(vote.code as never, vote.message ?? 'refused');
}

function unavailable(error: ParticipantUnreachable): GraphQLError {
  return libfedError('BRANCH_UNAVAILABLE', `${error.message}; nothing was changed`, { site: error.siteId });
}

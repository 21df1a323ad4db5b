import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { libfedError, MAX_IDEMPOTENCY_KEY_LENGTH as MAX_KEY_LENGTH } from '../../schema';
import type { MutationResult, MutationRunner, RequestContext } from '../router';
import { ANONYMOUS, type Caller } from '../auth/caller';
import { branchRefusal } from '../auth/policy';
import type { LoginService } from '../auth/login';
import type { AuditTrail } from './audit';
import { ParticipantFailed, ParticipantUnreachable, replicaKey, staleLines, type Decision, type Idempotency, type Operation, type ParticipantClient, type ReplicaRepair } from '../../contracts';
import { Coordinator, type TxView } from './coordinator';
import { planMutation, type PlanningContext } from './mutations';
import type { WaitForGraph } from './waitfor';

/**
 * The write side of the coherence cache: called after commit, before the
 * client's answer. `deferred` means other gateways were not reached.
 */
export interface CacheWriter {
  write(lines: readonly string[]): Promise<{ kind: 'invalidated' | 'deferred' }>;
}

export interface MutationServiceOptions {
  coordinator: Coordinator;
  cache?: CacheWriter;
  /**
   * The coherence bound (cache README, rule "acknowledged means coherent"): no
   * gateway serves a cached answer longer than this after a commit unless it
   * has drained the commit's dirty-line record. A write whose invalidation was
   * deferred answers only once this much time has passed since its commit.
   */
  coherenceBoundMs: number;
  planning: PlanningContext;
  client: ParticipantClient;
  waitFor: WaitForGraph;
  log: Logger;
  /** Where every mutation's audit line goes (a committed one's rides with its commit); without one, only the log has them. */
  audit?: AuditTrail;
  /** Answers `login`; a gateway without one has no logins. */
  login?: LoginService;
  sleep?: (ms: number) => Promise<void>;
  /** Sites being removed (`libfed sites remove`): a write that would put a copy, reader or loan there is refused with BRANCH_DRAINING. */
  draining?: (site: string) => boolean;
}

/** The operations that add something a draining site would have to keep: what BRANCH_DRAINING refuses. */
const FILLING_OPS = new Set(['copy.add', 'copy.insert', 'reader.register', 'reader.insert', 'loan.open']);

/** The caller the request's context names; a context without one (an internal read) is anonymous. */
function callerOf(context: RequestContext): Caller {
  return (context.caller as Caller | undefined) ?? ANONYMOUS;
}


/** What managers see through `transactions`. */
export interface TransactionsReport {
  inFlight: TxView[];
  inDoubt: { site: string; gid: string; commitSite: string; deadline: string; createdAt: string; reason: string | null }[];
  waitFor: { waiter: string; holder: string }[];
  unavailableSites: string[];
}

/** The gateway's write path: plan, run, audit-log; answers the key of the entity to read back. */
export class MutationService implements MutationRunner {
  /** Keyed requests running on this gateway, by idempotency key. */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(private readonly o: MutationServiceOptions) {}

  /**
   * Plans, runs and audit-logs one mutation. The client is told exactly one
   * of: committed (the entity's key), a refusal whose code guarantees nothing
   * changed, or TX_IN_DOUBT with the gid. Only the commit-point site's outcome
   * decides which; nothing that fails after it (the cache, the wait-for graph)
   * turns a commit into an error.
   */
  async run(field: string, args: Record<string, unknown>, key?: string, context: RequestContext = {}): Promise<MutationResult> {
    const caller = callerOf(context);
    if (key === undefined) return this.runOnce(field, args, caller);
    // A retry that arrives while the first attempt still runs here waits for it, rather than racing it
    // (its outcome is not recorded yet, so the key lookup would not find it).
    const running = this.running.get(key);
    if (running) return running.then(() => this.runOnce(field, args, caller, key));
    const attempt = this.runOnce(field, args, caller, key).finally(() => this.running.delete(key));
    this.running.set(key, attempt.catch(() => undefined));
    return attempt;
  }

  private async runOnce(field: string, args: Record<string, unknown>, caller: Caller, key?: string): Promise<MutationResult> {
    const started = Date.now();
    const idempotency = key === undefined ? undefined : idempotencyOf(field, args, key);
    let gid: string | undefined;
    let sites: string[] = [];
    /** Set once the plan went to the coordinator: from then on an unexplained failure may hide a commit. */
    let handedOver = false;
    /** The log line of every outcome, and the durable audit line of every outcome but a commit (whose line commits with it). */
    const audit = async (outcome: string, extra: { code?: string; firstGid?: string; refusedWith?: string } = {}) => {
      this.o.log.info({ audit: true, mutation: field, user: caller.username, role: caller.role, idempotencyKey: key, gid, sites, outcome, ms: Date.now() - started, ...extra }, `mutation ${outcome.toLowerCase()}`);
      if (outcome !== 'COMMITTED') await this.o.audit?.record(this.o.audit.entry(caller, field, args, sites, outcome, extra.code ?? extra.refusedWith ?? null, gid ?? extra.firstGid ?? null));
    };
    try {
      // A retry of a request that already committed answers its first outcome.
      const first = idempotency && (await this.firstOutcome(idempotency));
      if (first) {
        await audit('REPLAYED', { firstGid: first.gid });
        return first;
      }
      const plan = await planMutation(this.o.planning, field, args);
      sites = [...plan.ops.keys()];
      // Planning only read; a librarian may act only at their own branch, checked before anything is written.
      const refused = branchRefusal(caller, field, plan.actsAt);
      if (refused) throw refused;
      this.refuseDraining(plan.ops);
      gid = this.o.coordinator.newGid(plan.commitSite);
      handedOver = true;
      const entry = this.o.audit?.entry(caller, field, args, sites, 'COMMITTED', null, gid);
      const applied = await this.o.coordinator.run(plan, gid, idempotency, entry);
      const committedAt = Date.now();
      await this.invalidate(plan.lines, committedAt);
      const entity = applied.find((a) => a.entity)?.entity;
      if (!entity) throw new Error(`mutation ${field} produced no entity to answer with`);
      await audit('COMMITTED');
      return { key: entity.id, gid, moved: plan.moved };
    } catch (error) {
      const e = this.coded(error, handedOver, gid);
      const code = (e as { extensions?: { code?: string } }).extensions?.code ?? 'INTERNAL_SERVER_ERROR';
      // A refusal of a keyed retry may only mean the first attempt got there first (its effect is why this one is refused).
      if (idempotency && code !== 'TX_IN_DOUBT' && code !== 'INTERNAL_SERVER_ERROR') {
        const first = await this.firstOutcome(idempotency).catch(() => undefined);
        if (first) {
          await audit('REPLAYED', { firstGid: first.gid, refusedWith: code });
          return first;
        }
      }
      if (code === 'DUPLICATE_REQUEST') {
        await audit('IN_DOUBT', { code });
        throw libfedError('TX_IN_DOUBT', `a request with idempotency key "${key}" committed, but its outcome could not be read; retry with the same key`, { gid });
      }
      await audit(code === 'TX_IN_DOUBT' ? 'IN_DOUBT' : code.startsWith('FORBIDDEN') ? 'FORBIDDEN' : 'REFUSED', { code });
      throw e;
    }
  }

  /**
   * A site being drained takes no new copies, readers or loans, so that what
   * it holds only shrinks until it can be removed; returns, transfers and
   * moves away, and write-all replicated writes, still reach it.
   */
  private refuseDraining(ops: ReadonlyMap<string, readonly { kind: string }[]>): void {
    for (const [site, siteOps] of ops) {
      const filling = siteOps.find((op) => FILLING_OPS.has(op.kind));
      if (filling && this.o.draining?.(site)) {
        throw libfedError('BRANCH_DRAINING', `branch ${site} is being removed from the chain and takes no new copies, readers or loans (${filling.kind}); nothing was changed, act at another branch`, { branch: site });
      }
    }
  }

  /**
   * Every failure as a coded error the client can act on. An unexplained one
   * (a bug, a site's HTTP error) before the coordinator had the plan changed
   * nothing; after, it may hide a commit: TX_IN_DOUBT with the gid, never a
   * plain failure.
   */
  private coded(error: unknown, handedOver: boolean, gid: string | undefined): unknown {
    if (error instanceof ParticipantUnreachable) return libfedError('BRANCH_UNAVAILABLE', `${error.message}; nothing was changed`, { site: error.siteId });
    if ((error as { extensions?: { code?: string } }).extensions?.code) return error;
    // Planning only reads: a site that failed a read (its database restarting, say) changed nothing.
    if (error instanceof ParticipantFailed && !handedOver) {
      return libfedError('BRANCH_UNAVAILABLE', `branch site ${error.siteId} failed a planning read (HTTP ${error.status}); nothing was changed, retry later`, { site: error.siteId });
    }
    this.o.log.error({ err: String((error as Error)?.stack ?? error), gid }, 'mutation failed unexpectedly');
    if (handedOver && gid) {
      return libfedError('TX_IN_DOUBT', `transaction ${gid} failed unexpectedly after it started; query transaction(gid: "${gid}") for the outcome before retrying`, { gid });
    }
    return libfedError('INTERNAL_SERVER_ERROR', 'internal error before anything was written: nothing was changed; the gateway log has the details', { nothingChanged: true });
  }

  /**
   * docs/ARCHITECTURE.md §5, "acknowledged means coherent": every other gateway's copy of
   * what changed is invalid before the client hears of the commit. When this
   * gateway cannot reach the directory, the commit's dirty-line record at its
   * deciding site reaches every gateway instead, and no gateway serves a hit
   * past the coherence bound without having drained it: so wait that out.
   */
  private async invalidate(lines: string[], committedAt: number): Promise<void> {
    if (!this.o.cache) return;
    let deferred: boolean;
    try {
      deferred = (await this.o.cache.write(lines)).kind === 'deferred';
    } catch (error) {
      this.o.log.warn({ err: String(error) }, 'cache write failed after commit; waiting out the coherence bound');
      deferred = true;
    }
    if (!deferred) return;
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    // A timer may fire a millisecond early: the bound is passed only once the clock says so.
    const until = committedAt + this.o.coherenceBoundMs;
    while (Date.now() <= until) await sleep(until - Date.now() + 1);
  }

  /** The committed decision that recorded this key at any site, as the first attempt's result. */
  private async firstOutcome(idempotency: Idempotency): Promise<MutationResult | undefined> {
    const answers = await Promise.all(
      this.o.planning.siteIds.map((site) =>
        this.o.client.call(site, 'by-key', { key: idempotency.key }).then(
          (a) => a.decision,
          () => null,
        ),
      ),
    );
    const found = answers.find((d): d is Decision => d !== null);
    if (!found) return undefined;
    if (found.idempotency && found.idempotency.fingerprint !== idempotency.fingerprint) {
      throw libfedError('IDEMPOTENCY_KEY_REUSED', `idempotency key "${idempotency.key}" was used for a different mutation or arguments (transaction ${found.gid}); use a new key for a new request`, { gid: found.gid });
    }
    if (!found.entity) throw libfedError('TX_IN_DOUBT', `transaction ${found.gid} committed, but recorded no entity to answer with`, { gid: found.gid });
    return { key: found.entity.id, gid: found.gid };
  }

  view(field: string, args: Record<string, unknown>, context: RequestContext = {}): Promise<unknown> {
    switch (field) {
      case 'login':
        if (!this.o.login) throw libfedError('FORBIDDEN', 'this gateway has no staff logins');
        return this.o.login.login(String(args.username ?? ''), String(args.password ?? ''), String(context.clientAddress ?? 'unknown'));
      case 'auditLog':
        if (!this.o.audit) throw libfedError('FORBIDDEN', 'this gateway keeps no audit trail');
        return this.o.audit.page(args);
      case 'transactions':
        return this.transactions();
      case 'transaction':
        return this.o.coordinator.outcome(String(args.gid ?? ''));
      default:
        throw new Error(`no coordinator view ${field}`);
    }
  }

  /**
   * `libfed recover`: one recovery round now, the one every gateway runs
   * periodically (participants PREPARED past their deadline are resolved by
   * their commit point's decision), then what is still prepared and why.
   * Nothing within its deadline is touched: its coordinator may be alive.
   */
  async recoverNow(): Promise<{ resolved: { site: string; gid: string; outcome: string }[]; report: TransactionsReport }> {
    const resolved = await this.o.coordinator.recover([...this.o.planning.siteIds]);
    return { resolved, report: await this.transactions() };
  }

  /**
   * `libfed check-replicas --repair`: one replicated row made the same at
   * every site by a write-all transaction (two-phase commit, like
   * `updateBook`), made coherent in the caches and audit-logged like a
   * mutation. Each site's `replica.put` carries the version that site had
   * when compared, so a write since then refuses the repair (CONFLICT).
   */
  async repairReplica(repair: ReplicaRepair): Promise<{ gid: string }> {
    const siteIds = [...this.o.planning.siteIds];
    const ops = new Map(siteIds.map((site) => [site, [{ kind: 'replica.put' as const, version: repair.version, expectVersion: repair.expect[site] ?? null, row: repair.row }]]));
    const plan = { ops, commitSite: siteIds[0], actsAt: null, lines: staleLines([...ops.values()].flat()) };
    const gid = this.o.coordinator.newGid(plan.commitSite);
    const args = { table: repair.row.table, key: replicaKey(repair.row), version: repair.version };
    const operator = { username: null, role: 'QUANLY' as const };
    try {
      await this.o.coordinator.run(plan, gid, undefined, this.o.audit?.entry(operator, 'repairReplica', args, siteIds, 'COMMITTED', null, gid));
    } catch (error) {
      const code = (error as { extensions?: { code?: string } }).extensions?.code ?? 'INTERNAL_SERVER_ERROR';
      await this.o.audit?.record(this.o.audit.entry(operator, 'repairReplica', args, siteIds, code === 'TX_IN_DOUBT' ? 'IN_DOUBT' : 'REFUSED', code, gid));
      throw error;
    }
    await this.invalidate(plan.lines, Date.now());
    return { gid };
  }

  /**
   * A joining site's copy of the replicated rows (`libfed sites add`): one
   * local transaction at that site alone, each `replica.put` carrying the
   * version the site had (none, the first time), so a write that reached it
   * meanwhile refuses the copy (CONFLICT) rather than being overwritten.
   */
  async putReplicas(site: string, puts: Extract<Operation, { kind: 'replica.put' }>[]): Promise<{ gid: string }> {
    const plan = { ops: new Map([[site, puts as Operation[]]]), commitSite: site, actsAt: null, lines: staleLines(puts) };
    const gid = this.o.coordinator.newGid(site);
    await this.o.coordinator.run(plan, gid);
    await this.invalidate(plan.lines, Date.now());
    return { gid };
  }

  async transactions(): Promise<TransactionsReport> {
    const inDoubt: TransactionsReport['inDoubt'] = [];
    const unavailableSites: string[] = [];
    await Promise.all(
      this.o.planning.siteIds.map(async (site) => {
        try {
          const status = await this.o.client.call(site, 'status', {});
          inDoubt.push(...status.prepared.map((p) => ({ site, ...p, reason: this.o.coordinator.stuckReason(site, p.gid) ?? null })));
        } catch {
          unavailableSites.push(site);
        }
      }),
    );
    const inFlight = this.o.coordinator.inFlightView().map((t) => ({ ...t, phase: t.phase.toUpperCase() as TxView['phase'] }));
    return { inFlight, inDoubt, waitFor: await this.o.waitFor.edges(), unavailableSites };
  }
}

/** What the request was: the mutation and its arguments (the key aside), hashed; a key is bound to one request. */
function idempotencyOf(field: string, args: Record<string, unknown>, key: string): Idempotency {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw libfedError('BAD_USER_INPUT', `idempotencyKey must be 1 to ${MAX_KEY_LENGTH} characters, got ${key.length}`, { argument: 'idempotencyKey' });
  }
  const { idempotencyKey: _, ...rest } = args;
  const fingerprint = createHash('sha256').update(JSON.stringify([field, canonical(rest)])).digest('hex').slice(0, 32);
  return { key, fingerprint };
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  return value;
}

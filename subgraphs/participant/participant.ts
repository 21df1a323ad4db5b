import { raw, sql, SqlFailure, type SqlExecutor } from '../../sql';
import type { Applied, AuditEntry, Decision, Idempotency, InDoubt, LocalResult, Operation, Outcome, Vote } from '../../contracts';
import { writeAudit } from './audit';
import { apply, check, refuse, resources, type Refusal } from './ops';
import { Wakeup } from './wakeup';

/**
 * The 2PC participant every site runs (docs/ARCHITECTURE.md §4). No database lock is held
 * across a network round trip: PREPARE is one short local transaction that
 * takes LibFed's own lock rows, checks preconditions and logs the redo; phase 2
 * is another one. Committed rows are untouched until phase 2, so readers see
 * committed data only.
 */
class Busy extends Error {
  constructor(readonly resource: string) {
    super(`lock ${resource} is held`);
  }
}
class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

/** Test hook: where a participant may be held inside a protocol step (the transaction is open). */
export type ParticipantStep = 'prepare-voted';

export interface ParticipantOptions {
  siteId: string;
  db: SqlExecutor;
  clock?: () => Date;
  /** Test hook: awaited at `step` inside its transaction, to freeze a site between two statements. */
  pauseAt?: (step: ParticipantStep, gid: string) => Promise<void>;
}

/** The gid's phase-1 slot was taken first by another message (an abort, or an earlier prepare). */
class Fenced extends Error {}

export class Participant {
  private readonly clock: () => Date;
  /** The gateways' watches waiting here; a commit that logs dirty lines wakes them. */
  private readonly watches = new Wakeup();

  constructor(private readonly o: ParticipantOptions) {
    this.clock = o.clock ?? (() => new Date());
  }

  /**
   * One-phase: every operation of the mutation is here, so one local
   * transaction is the whole commit. It records the decision too, as a commit
   * point does: so `decide` can fence a request that arrives late (presumed
   * abort), and a retry with the same idempotency key finds the outcome.
   */
  local(gid: string, ops: Operation[], lines: string[] = [], idempotency?: Idempotency, audit?: AuditEntry): Promise<LocalResult> {
    return this.commitPoint(gid, ops, lines, idempotency, audit);
  }

  /**
   * The commit-point site (Oracle's design) is never prepared: this local
   * commit applies its operations AND inserts the decision row, and that row
   * IS the global decision. A recoverer's ABORTED(gid) makes the insert fail;
   * so does a committed decision with the same idempotency key (DUPLICATE_REQUEST).
   */
  async commitPoint(gid: string, ops: Operation[], lines: string[] = [], idempotency?: Idempotency, audit?: AuditEntry): Promise<LocalResult> {
    const result = await this.guarded(gid, ops, async (tx) => {
      await this.recordDecision(tx, gid, 'COMMITTED', idempotency);
      // The audit line of an allowed mutation commits with its effect, or not at all.
      if (audit) await writeAudit(tx, { ...audit, gid, outcome: 'COMMITTED' });
      const applied = await this.checkAndApply(tx, gid, ops);
      const entity = applied.find((a) => a.entity)?.entity;
      if (entity) await tx.query(sql`UPDATE libfed_decision SET entity_type = ${entity.type}, entity_id = ${entity.id} WHERE gid = ${gid}`);
      await this.recordDirty(tx, gid, lines);
      await tx.query(sql`INSERT INTO libfed_barrier (gid, op) VALUES (${gid}, 'commit')`);
      return { outcome: 'COMMITTED' as const, applied };
    });
    if (result === FENCED) throw new Error('a commit point takes no phase-1 slot');
    if ('outcome' in result && lines.length) this.watches.wake();
    return result;
  }

  /**
   * Phase 1: take the gid's phase-1 slot (the `prepare` barrier row), lock,
   * check, log the redo, commit locally. The slot serialises PREPARE with an
   * ABORT of the same gid, whichever arrives first (an abort takes the slot
   * too): an abort that comes first fences the prepare out; one that comes
   * second waits for the prepare's transaction and then sees, and releases,
   * everything it wrote. Answers a duplicate PREPARE with the same vote.
   */
  async prepare(gid: string, ops: Operation[], commitSite: string, deadline: Date, lines: string[] = []): Promise<Vote> {
    const result = await this.guarded(
      gid,
      ops,
      async (tx) => {
        await this.o.pauseAt?.('prepare-voted', gid);
        for (const op of ops) {
          const refusal = await check(tx, this.o.siteId, op);
          if (refusal) throw new Refused(refusal);
        }
        const now = this.clock();
        await tx.query(sql`INSERT INTO libfed_tx (gid, state, commit_site, redo, lines, deadline, created_at, updated_at)
          VALUES (${gid}, 'PREPARED', ${commitSite}, ${JSON.stringify(ops)}, ${JSON.stringify(lines)}, ${deadline}, ${now}, ${now})`);
        return { vote: 'PREPARED' as const };
      },
      (tx) => this.takePhaseOneSlot(tx, gid),
    );
    if (result === FENCED) return this.voteAfterFence(gid);
    return result;
  }

  /** Phase 2, commit: the decision is durable, so this only ever succeeds or is retried. Runs once per gid (barrier). */
  async commit(gid: string): Promise<Applied[]> {
    let logged = false;
    const applied = await this.o.db.transaction(async (tx) => {
      if (!(await this.insertBarrier(tx, gid, 'commit'))) return [];
      const [row] = await tx.query<{ redo: string; lines: string }>(sql`SELECT redo, lines FROM libfed_tx WHERE gid = ${gid}`);
      if (!row) return [];
      const applied: Applied[] = [];
      for (const op of JSON.parse(row.redo) as Operation[]) applied.push(await apply(tx, this.o.siteId, op));
      // Whoever commits here (coordinator or recovery), the caches hear of it through this site's log.
      const lines = JSON.parse(row.lines) as string[];
      await this.recordDirty(tx, gid, lines);
      await this.finish(tx, gid, 'COMMITTED');
      logged = lines.length > 0;
      return applied;
    });
    // After the commit, not inside it: a woken watch reads the log, and must find the rows there.
    if (logged) this.watches.wake();
    return applied;
  }

  /**
   * Phase 2, abort: releases the locks. Also fences a PREPARE that arrives late
   * (barrier). A late ABORT for a gid committed here changes nothing: the
   * decision was COMMITTED, so no coordinator can rightly send it.
   */
  async abort(gid: string): Promise<'ABORTED' | 'COMMITTED'> {
    try {
      // Taking the phase-1 slot waits for a PREPARE of this gid still running here, or fences one yet to come.
      return await this.o.db.transaction(async (tx) => {
        await this.takePhaseOneSlot(tx, gid);
        return this.abortIn(tx, gid);
      });
    } catch (error) {
      if (!(error instanceof Fenced)) throw error;
    }
    // The slot was taken (by a prepare that has committed, or an earlier abort): what it wrote is visible now.
    return this.o.db.transaction((tx) => this.abortIn(tx, gid));
  }

  /** Idempotent: releases whatever the gid still holds here, however often it runs. */
  private async abortIn(tx: SqlExecutor, gid: string): Promise<'ABORTED' | 'COMMITTED'> {
    const barriers = await this.barriers(gid, tx);
    if (barriers.has('commit')) return 'COMMITTED';
    if (!barriers.has('abort')) await tx.query(sql`INSERT INTO libfed_barrier (gid, op) VALUES (${gid}, 'abort')`);
    await this.finish(tx, gid, 'ABORTED');
    return 'ABORTED';
  }

  /** At the commit-point site: the decision, writing ABORTED first if there is none (presumed abort). */
  async decide(gid: string): Promise<Outcome> {
    try {
      await this.o.db.query(sql`INSERT INTO libfed_decision (gid, outcome, decided_at) VALUES (${gid}, 'ABORTED', ${this.clock()})`);
      return 'ABORTED';
    } catch (error) {
      if (!this.o.db.dialect.isUniqueViolation(error)) throw error;
      const [row] = await this.o.db.query<{ outcome: Outcome }>(sql`SELECT outcome FROM libfed_decision WHERE gid = ${gid}`);
      return row.outcome;
    }
  }

  /** The decision recorded here for `gid`, without deciding anything (`decide` presumes abort). */
  async decision(gid: string): Promise<{ decision: Decision | null }> {
    const [row] = await this.o.db.query<DecisionRow>(sql`SELECT ${DECISION_COLUMNS} FROM libfed_decision WHERE gid = ${gid}`);
    return { decision: row ? decisionOf(row) : null };
  }

  /** The committed decision that recorded idempotency key `key`, if this site decided one. */
  async byKey(key: string): Promise<Decision | null> {
    const [row] = await this.o.db.query<DecisionRow>(sql`SELECT ${DECISION_COLUMNS} FROM libfed_decision WHERE idem_key = ${key}`);
    return row ? decisionOf(row) : null;
  }

  /**
   * Cache lines made stale by commits here that no gateway has confirmed
   * invalidating yet (at most `limit`), by transaction.
   */
  async dirty(limit = 1000): Promise<{ gid: string; line: string }[]> {
    const rows = await this.o.db.query<{ gid: string; line: string }>(sql`SELECT gid, line FROM libfed_dirty ORDER BY gid, line ${this.o.db.dialect.limit(limit)}`);
    return rows;
  }

  /** Deletes exactly these rows: the ones a gateway read and delivered (a row it did not read stays). */
  async clean(rows: { gid: string; line: string }[]): Promise<void> {
    for (const { gid, line } of rows) await this.o.db.query(sql`DELETE FROM libfed_dirty WHERE gid = ${gid} AND line = ${line}`);
  }

  /**
   * A gateway's watch (docs/ARCHITECTURE.md §5, "Watching the sites"): waits
   * up to `waitMs` — not at all when `wakeOnDirty` and the log has rows, less
   * when a commit here logs one — then says whether the log has rows and how
   * many participants are PREPARED past their deadline, as of the answer.
   */
  async watch(waitMs: number, wakeOnDirty: boolean): Promise<{ dirty: boolean; overdue: number }> {
    const wait = this.watches.wait(waitMs, wakeOnDirty);
    try {
      if (!wakeOnDirty || !(await this.hasDirty())) await wait.done;
    } finally {
      wait.end();
    }
    const [overdue] = await this.o.db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM libfed_tx WHERE state = 'PREPARED' AND deadline <= ${this.clock()}`);
    return { dirty: await this.hasDirty(), overdue: Number(overdue.n) };
  }

  /** Ends every watch waiting here at once (the site is stopping). */
  endWatches(): void {
    this.watches.close();
  }

  private async hasDirty(): Promise<boolean> {
    return (await this.dirty(1)).length > 0;
  }

  /** Participants still PREPARED (in doubt once past their deadline), and the number of held locks. */
  async status(): Promise<{ prepared: InDoubt[]; locks: number; logged: number; decisions: number }> {
    const rows = await this.o.db.query<{ gid: string; state: string; commit_site: string; deadline: Date; created_at: Date }>(
      sql`SELECT gid, state, commit_site, deadline, created_at FROM libfed_tx WHERE state = 'PREPARED' ORDER BY created_at`,
    );
    const count = async (table: 'libfed_lock' | 'libfed_tx' | 'libfed_decision') =>
      Number((await this.o.db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${raw(table)}`))[0].n);
    return {
      locks: await count('libfed_lock'),
      logged: await count('libfed_tx'),
      decisions: await count('libfed_decision'),
      prepared: rows.map((r) => ({ gid: r.gid, state: r.state, commitSite: r.commit_site, deadline: r.deadline.toISOString(), createdAt: r.created_at.toISOString() })),
    };
  }

  /** Recovery: resolves every participant PREPARED past its deadline by asking its commit-point site. */
  async recover(askDecision: (commitSite: string, gid: string) => Promise<Outcome>, all = false): Promise<{ gid: string; outcome: Outcome }[]> {
    const now = this.clock().getTime();
    const resolved: { gid: string; outcome: Outcome }[] = [];
    for (const t of (await this.status()).prepared) {
      if (!all && new Date(t.deadline).getTime() > now) continue;
      try {
        const outcome = await askDecision(t.commitSite, t.gid);
        if (outcome === 'COMMITTED') await this.commit(t.gid);
        else await this.abort(t.gid);
        resolved.push({ gid: t.gid, outcome });
      } catch {
        // One unreachable commit site must not stall the others' in-doubt transactions: next round.
      }
    }
    await this.releaseOrphanLocks();
    return resolved;
  }

  /**
   * Lock rows are committed only together with a PREPARED participant row
   * (local and commit-point transactions delete theirs before committing), so
   * a committed lock whose gid is not PREPARED here is an orphan: release it.
   */
  async releaseOrphanLocks(): Promise<string[]> {
    const orphans = await this.o.db.query<{ gid: string }>(
      sql`SELECT DISTINCT l.gid AS gid FROM libfed_lock l WHERE NOT EXISTS (SELECT 1 FROM libfed_tx t WHERE t.gid = l.gid AND t.state = 'PREPARED')`,
    );
    for (const { gid } of orphans) await this.o.db.query(sql`DELETE FROM libfed_lock WHERE gid = ${gid} AND NOT EXISTS (SELECT 1 FROM libfed_tx t WHERE t.gid = ${gid} AND t.state = 'PREPARED')`);
    return orphans.map((o) => o.gid);
  }

  private async checkAndApply(tx: SqlExecutor, gid: string, ops: Operation[]): Promise<Applied[]> {
    for (const op of ops) {
      const refusal = await check(tx, this.o.siteId, op);
      if (refusal) throw new Refused(refusal);
    }
    const applied: Applied[] = [];
    for (const op of ops) applied.push(await apply(tx, this.o.siteId, op));
    await tx.query(sql`DELETE FROM libfed_lock WHERE gid = ${gid}`);
    return applied;
  }

  /**
   * Runs `work` in one transaction after taking the operations' lock rows. A lock
   * held by another transaction answers BUSY(holder); a refused precondition
   * answers REFUSED; both roll everything back.
   */
  private async guarded<T>(
    gid: string,
    ops: Operation[],
    work: (tx: SqlExecutor) => Promise<T>,
    first?: (tx: SqlExecutor) => Promise<void>,
  ): Promise<T | Exclude<Vote, { vote: 'PREPARED' }> | typeof FENCED> {
    try {
      return await this.o.db.transaction(async (tx) => {
        await first?.(tx);
        // One global order (sorted by resource): two transactions over the same rows meet at their
        // first shared lock row and never each hold one of a pair, which SQL Server would end as a deadlock.
        for (const resource of [...new Set(ops.flatMap(resources))].sort()) {
          try {
            await tx.query(sql`INSERT INTO libfed_lock (resource, gid, created_at) VALUES (${resource}, ${gid}, ${this.clock()})`);
          } catch (error) {
            // Committed by another transaction (unique), or still being inserted by one: SQL Server waits for
            // an uncommitted row with the same key until its lock timeout (1222), PostgreSQL until lock_timeout.
            if (this.o.db.dialect.isUniqueViolation(error) || (error instanceof SqlFailure && error.kind === 'lockTimeout')) throw new Busy(resource);
            throw error;
          }
        }
        return work(tx);
      });
    } catch (error) {
      if (error instanceof Refused) return { vote: 'REFUSED', ...error.refusal };
      if (error instanceof Fenced) return FENCED;
      if (error instanceof Busy) return { vote: 'BUSY', holder: await this.holderOf(error.resource), resource: error.resource };
      if (this.o.db.dialect.isUniqueViolation(error)) return this.whyDecided(gid);
      if (error instanceof SqlFailure) {
        // Nothing of this transaction remains: the database rolled it back. A row lock held past the lock
        // timeout, or a deadlock the executor's retries did not get past, is a wait like a held lock row:
        // BUSY, so the coordinator retries within its lock-wait bound (and its wait-for graph sees it).
        if (error.kind === 'lockTimeout' || error.kind === 'deadlock') return { vote: 'BUSY', holder: 'unknown', resource: `database:${error.kind}` };
        if (error.kind === 'constraint') {
          return { vote: 'REFUSED', ...refuse('CONSTRAINT_VIOLATION', `the database at ${this.o.siteId} refused the write under a foreign key or CHECK constraint (${error.engineCode}); nothing changed`) };
        }
      }
      throw error;
    }
  }

  /** Who holds a lock row, for the wait-for graph; 'unknown' when it is gone, or still uncommitted and so unreadable in time. */
  private async holderOf(resource: string): Promise<string> {
    try {
      const [row] = await this.o.db.query<{ gid: string }>(sql`SELECT gid FROM libfed_lock WHERE resource = ${resource}`);
      return row?.gid ?? 'unknown';
    } catch (error) {
      if (error instanceof SqlFailure && error.kind === 'lockTimeout') return 'unknown';
      throw error;
    }
  }

  /** A decision insert failed: the gid was decided already (presumed abort), or its idempotency key was. */
  private async whyDecided(gid: string): Promise<Exclude<Vote, { vote: 'PREPARED' }>> {
    const { decision } = await this.decision(gid);
    if (decision) return { vote: 'REFUSED', ...refuse('TX_ABORTED', `transaction ${gid} was already decided ${decision.outcome}`) };
    return { vote: 'REFUSED', ...refuse('DUPLICATE_REQUEST', `a request with the same idempotency key was already committed here`) };
  }

  /** Inserts the gid's phase-1 slot; a taken slot (after waiting for its holder's transaction) throws Fenced. */
  private async takePhaseOneSlot(tx: SqlExecutor, gid: string): Promise<void> {
    try {
      await tx.query(sql`INSERT INTO libfed_barrier (gid, op) VALUES (${gid}, 'prepare')`);
    } catch (error) {
      if (this.o.db.dialect.isUniqueViolation(error)) throw new Fenced(gid);
      throw error;
    }
  }

  /** A PREPARE that found its slot taken: prepared already (a duplicate), or fenced out by an abort. */
  private async voteAfterFence(gid: string): Promise<Vote> {
    const [row] = await this.o.db.query<{ state: string }>(sql`SELECT state FROM libfed_tx WHERE gid = ${gid}`);
    if (row && row.state !== 'ABORTED') return { vote: 'PREPARED' };
    return { vote: 'REFUSED', ...refuse('TX_ABORTED', `transaction ${gid} was already aborted at ${this.o.siteId}`) };
  }

  private async recordDecision(tx: SqlExecutor, gid: string, outcome: Outcome, idempotency?: Idempotency): Promise<void> {
    await tx.query(sql`INSERT INTO libfed_decision (gid, outcome, decided_at, idem_key, fingerprint)
      VALUES (${gid}, ${outcome}, ${this.clock()}, ${idempotency?.key ?? null}, ${idempotency?.fingerprint ?? null})`);
  }

  private async recordDirty(tx: SqlExecutor, gid: string, lines: string[]): Promise<void> {
    for (const line of [...new Set(lines)]) await tx.query(sql`INSERT INTO libfed_dirty (gid, line) VALUES (${gid}, ${line})`);
  }

  private async barriers(gid: string, db: SqlExecutor = this.o.db): Promise<Set<string>> {
    const rows = await db.query<{ op: string }>(sql`SELECT op FROM libfed_barrier WHERE gid = ${gid}`);
    return new Set(rows.map((r) => r.op));
  }

  /** False when this phase already ran for `gid` (a duplicate or late message). */
  private async insertBarrier(tx: SqlExecutor, gid: string, op: 'commit' | 'abort'): Promise<boolean> {
    const existing = await this.barriers(gid, tx);
    if (existing.has(op)) return false;
    await tx.query(sql`INSERT INTO libfed_barrier (gid, op) VALUES (${gid}, ${op})`);
    return true;
  }

  private async finish(tx: SqlExecutor, gid: string, state: Outcome): Promise<void> {
    await tx.query(sql`DELETE FROM libfed_lock WHERE gid = ${gid}`);
    await tx.query(sql`UPDATE libfed_tx SET state = ${state}, updated_at = ${this.clock()} WHERE gid = ${gid} AND state = 'PREPARED'`);
  }
}

const FENCED = Symbol('fenced');

interface DecisionRow {
  gid: string;
  outcome: Outcome;
  idem_key: string | null;
  fingerprint: string | null;
  entity_type: string | null;
  entity_id: string | null;
}
const DECISION_COLUMNS = raw('gid, outcome, idem_key, fingerprint, entity_type, entity_id');

function decisionOf(row: DecisionRow): Decision {
  return {
    gid: row.gid,
    outcome: row.outcome,
    idempotency: row.idem_key ? { key: row.idem_key, fingerprint: row.fingerprint ?? '' } : undefined,
    entity: row.entity_type && row.entity_id ? { type: row.entity_type, id: row.entity_id } : undefined,
  };
}

import { list, raw, sql, type SqlExecutor } from '../../sql';
import { apply, check, resources, type Applied, type Operation, type Refusal } from './ops';

/**
 * The 2PC participant every site runs (DESIGN §4). No database lock is held
 * across a network round trip: PREPARE is one short local transaction that
 * takes LibFed's own lock rows, checks preconditions and logs the redo; phase 2
 * is another one. Committed rows are untouched until phase 2, so readers see
 * committed data only.
 */
export type Vote =
  | { vote: 'PREPARED' }
  | { vote: 'REFUSED'; code: string; message: string }
  | { vote: 'BUSY'; holder: string; resource: string };

export type Outcome = 'COMMITTED' | 'ABORTED';

export type LocalResult = { outcome: 'COMMITTED'; applied: Applied[] } | Exclude<Vote, { vote: 'PREPARED' }>;

export interface InDoubt {
  gid: string;
  state: string;
  commitSite: string;
  deadline: string;
  createdAt: string;
}

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

export interface ParticipantOptions {
  siteId: string;
  db: SqlExecutor;
  clock?: () => Date;
}

export class Participant {
  private readonly clock: () => Date;

  constructor(private readonly o: ParticipantOptions) {
    this.clock = o.clock ?? (() => new Date());
  }

  /** One-phase: every operation of the mutation is here, so one local transaction is the whole commit. */
  local(gid: string, ops: Operation[], lines: string[] = []): Promise<LocalResult> {
    return this.guarded(gid, ops, async (tx) => {
      const applied = await this.checkAndApply(tx, gid, ops);
      await this.recordDirty(tx, gid, lines);
      return { outcome: 'COMMITTED', applied };
    });
  }

  /**
   * The commit-point site (Oracle's design) is never prepared: this local
   * commit applies its operations AND inserts the decision row, and that row
   * IS the global decision. A recoverer's ABORTED(gid) makes the insert fail.
   */
  commitPoint(gid: string, ops: Operation[], lines: string[] = []): Promise<LocalResult> {
    return this.guarded(gid, ops, async (tx) => {
      await tx.query(sql`INSERT INTO libfed_decision (gid, outcome, decided_at) VALUES (${gid}, 'COMMITTED', ${this.clock()})`);
      const applied = await this.checkAndApply(tx, gid, ops);
      await this.recordDirty(tx, gid, lines);
      await tx.query(sql`INSERT INTO libfed_barrier (gid, op) VALUES (${gid}, 'commit')`);
      return { outcome: 'COMMITTED', applied };
    });
  }

  /** Phase 1: lock, check, log the redo, commit locally. Answers a duplicate PREPARE with the same vote. */
  async prepare(gid: string, ops: Operation[], commitSite: string, deadline: Date, lines: string[] = []): Promise<Vote> {
    const barriers = await this.barriers(gid);
    if (barriers.has('abort')) return { vote: 'REFUSED', code: 'TX_ABORTED', message: `transaction ${gid} was already aborted` };
    if (barriers.has('prepare')) return { vote: 'PREPARED' };
    const result = await this.guarded(gid, ops, async (tx) => {
      await tx.query(sql`INSERT INTO libfed_barrier (gid, op) VALUES (${gid}, 'prepare')`);
      for (const op of ops) {
        const refusal = await check(tx, this.o.siteId, op);
        if (refusal) throw new Refused(refusal);
      }
      const now = this.clock();
      await tx.query(sql`INSERT INTO libfed_tx (gid, state, commit_site, redo, lines, deadline, created_at, updated_at)
        VALUES (${gid}, 'PREPARED', ${commitSite}, ${JSON.stringify(ops)}, ${JSON.stringify(lines)}, ${deadline}, ${now}, ${now})`);
      return { vote: 'PREPARED' as const };
    });
    return result;
  }

  /** Phase 2, commit: the decision is durable, so this only ever succeeds or is retried. Runs once per gid (barrier). */
  async commit(gid: string): Promise<Applied[]> {
    return this.o.db.transaction(async (tx) => {
      if (!(await this.insertBarrier(tx, gid, 'commit'))) return [];
      const [row] = await tx.query<{ redo: string; lines: string }>(sql`SELECT redo, lines FROM libfed_tx WHERE gid = ${gid}`);
      if (!row) return [];
      const applied: Applied[] = [];
      for (const op of JSON.parse(row.redo) as Operation[]) applied.push(await apply(tx, this.o.siteId, op));
      // Whoever commits here (coordinator or recovery), the caches hear of it through this site's log.
      await this.recordDirty(tx, gid, JSON.parse(row.lines) as string[]);
      await this.finish(tx, gid, 'COMMITTED');
      return applied;
    });
  }

  /**
   * Phase 2, abort: releases the locks. Also fences a PREPARE that arrives late
   * (barrier). A late ABORT for a gid committed here changes nothing: the
   * decision was COMMITTED, so no coordinator can rightly send it.
   */
  async abort(gid: string): Promise<'ABORTED' | 'COMMITTED'> {
    return this.o.db.transaction(async (tx) => {
      if ((await this.barriers(gid, tx)).has('commit')) return 'COMMITTED';
      if (await this.insertBarrier(tx, gid, 'abort')) await this.finish(tx, gid, 'ABORTED');
      return 'ABORTED';
    });
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

  /**
   * Cache lines made stale by commits here that no gateway has confirmed
   * invalidating yet (at most `limit`), by transaction.
   */
  async dirty(limit = 1000): Promise<{ gid: string; line: string }[]> {
    const rows = await this.o.db.query<{ gid: string; line: string }>(sql`SELECT gid, line FROM libfed_dirty ORDER BY gid ${this.o.db.dialect.limit(limit)}`);
    return rows;
  }

  async clean(gids: string[]): Promise<void> {
    if (gids.length) await this.o.db.query(sql`DELETE FROM libfed_dirty WHERE gid IN ${list(gids)}`);
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
      const outcome = await askDecision(t.commitSite, t.gid);
      if (outcome === 'COMMITTED') await this.commit(t.gid);
      else await this.abort(t.gid);
      resolved.push({ gid: t.gid, outcome });
    }
    return resolved;
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
  private async guarded<T>(gid: string, ops: Operation[], work: (tx: SqlExecutor) => Promise<T>): Promise<T | Exclude<Vote, { vote: 'PREPARED' }>> {
    try {
      return await this.o.db.transaction(async (tx) => {
        for (const resource of [...new Set(ops.flatMap(resources))]) {
          try {
            await tx.query(sql`INSERT INTO libfed_lock (resource, gid, created_at) VALUES (${resource}, ${gid}, ${this.clock()})`);
          } catch (error) {
            if (this.o.db.dialect.isUniqueViolation(error)) throw new Busy(resource);
            throw error;
          }
        }
        return work(tx);
      });
    } catch (error) {
      if (error instanceof Refused) return { vote: 'REFUSED', ...error.refusal };
      if (error instanceof Busy) {
        const [row] = await this.o.db.query<{ gid: string }>(sql`SELECT gid FROM libfed_lock WHERE resource = ${error.resource}`);
        return { vote: 'BUSY', holder: row?.gid ?? 'unknown', resource: error.resource };
      }
      if (this.o.db.dialect.isUniqueViolation(error)) {
        return { vote: 'REFUSED', code: 'TX_ABORTED', message: `transaction ${gid} was already decided` };
      }
      throw error;
    }
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
    await tx.query(sql`UPDATE libfed_tx SET state = ${state}, updated_at = ${this.clock()} WHERE gid = ${gid}`);
  }
}

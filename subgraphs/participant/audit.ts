import type { AuditEntry, AuditQuery } from '../../contracts';
import { join, sql, type Sql, type SqlExecutor } from '../../sql';

/**
 * The audit trail kept at this site (docs/ARCHITECTURE.md §6): a line per
 * mutation it decided, written in the deciding transaction, and a line per
 * refused mutation aimed at this branch. Managers read it through the
 * gateway, which merges every site's lines newest first.
 */
export async function writeAudit(db: SqlExecutor, e: AuditEntry): Promise<void> {
  await db.query(sql`INSERT INTO libfed_audit (id, at, username, role, operation, arguments, branches, gid, outcome, code)
    VALUES (${e.id}, ${new Date(e.at)}, ${e.username}, ${e.role}, ${e.operation}, ${e.arguments}, ${JSON.stringify(e.branches)}, ${e.gid}, ${e.outcome}, ${e.code})`);
}

interface AuditRow {
  id: string;
  at: Date;
  username: string | null;
  role: AuditEntry['role'];
  operation: string;
  arguments: string;
  branches: string;
  gid: string | null;
  outcome: string;
  code: string | null;
}

/** This site's lines matching `q`, newest first (at, then id), at most `q.limit`. */
export async function readAudit(db: SqlExecutor, q: AuditQuery): Promise<AuditEntry[]> {
  const where: Sql[] = [sql`1 = 1`];
  if (q.from) where.push(sql`at >= ${new Date(q.from)}`);
  if (q.to) where.push(sql`at < ${new Date(q.to)}`);
  if (q.username) where.push(sql`username = ${q.username}`);
  // Branch ids are site ids (upper-case letters and digits): the quoted id cannot match inside another.
  if (q.branchId) where.push(sql`branches LIKE ${`%"${q.branchId}"%`}`);
  if (q.before) {
    const at = new Date(q.before.at);
    where.push(sql`(at < ${at} OR (at = ${at} AND id < ${q.before.id}))`);
  }
  const rows = await db.query<AuditRow>(
    sql`SELECT id, at, username, role, operation, arguments, branches, gid, outcome, code FROM libfed_audit
        WHERE ${join(where, ' AND ')} ORDER BY at DESC, id DESC ${db.dialect.limit(q.limit)}`,
  );
  return rows.map((r) => ({ ...r, at: new Date(r.at).toISOString(), branches: JSON.parse(r.branches) as string[] }));
}

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditEntry, ParticipantClient } from '../../contracts';
import { libfedError, MAX_PAGE_SIZE, parsePeriod } from '../../schema';

/**
 * The audit trail (docs/ARCHITECTURE.md §6): every mutation, allowed or
 * refused, with who, role, operation, arguments, branches, gid and outcome.
 * A committed one's line is written by its commit point in the deciding
 * transaction (`entry` rides with the commit); any other is written here, at
 * the branch it was aimed at or the first site that takes it. Managers read
 * the merged trail with `auditLog`.
 */
export interface AuditCaller {
  username: string | null;
  role: AuditEntry['role'];
}

const MAX_ARGUMENTS = 4000;
const SECRET_ARGUMENTS = new Set(['password']);

export class AuditTrail {
  constructor(
    private readonly client: ParticipantClient,
    /** Read on each use: the site list changes while the gateway runs (gateway/sites). */
    private readonly sites: () => readonly string[],
    private readonly log: Logger,
  ) {}

  /** A line for `operation`, not yet stored; the commit point stores a committed one. */
  entry(caller: AuditCaller, operation: string, args: Record<string, unknown>, branches: string[], outcome: string, code: string | null = null, gid: string | null = null): AuditEntry {
    return { id: randomUUID(), at: new Date().toISOString(), username: caller.username, role: caller.role, operation, arguments: argumentsText(args), branches, gid, outcome, code };
  }

  /** Stores a line that no commit carries, at its first branch or else any site that takes it. */
  async record(entry: AuditEntry): Promise<void> {
    const siteIds = this.sites();
    const order = [...new Set([...entry.branches, ...siteIds])].filter((s) => siteIds.includes(s));
    for (const site of order) {
      try {
        await this.client.call(site, 'audit', { entry });
        return;
      } catch {
        // the next site
      }
    }
    // No site took it: the gateway log keeps it, so the operator still has it.
    this.log.error({ audit: entry }, 'audit line could not be stored at any site');
  }

  /** `auditLog(from, to, branchId, user, first, after)`: every site's lines, newest first. */
  async page(args: { from?: unknown; to?: unknown; branchId?: unknown; user?: unknown; first?: unknown; after?: unknown }) {
    const first = args.first ?? 20;
    if (!Number.isInteger(first) || (first as number) < 0 || (first as number) > MAX_PAGE_SIZE) {
      throw libfedError('PAGE_SIZE_OUT_OF_RANGE', `first must be between 0 and ${MAX_PAGE_SIZE}, got ${JSON.stringify(first)}`, { argument: 'first', max: MAX_PAGE_SIZE });
    }
    const before = args.after == null ? undefined : decodeCursor(String(args.after));
    // The reports' rule (schema/period.ts), checked before any site is asked: a site's refusal would read as that site being down.
    const period = parsePeriod(args.from, args.to);
    if ('message' in period) throw libfedError('INVALID_PERIOD', period.message, { argument: period.extensions.argument });
    const query = {
      from: period.from?.toISOString(),
      to: period.to?.toISOString(),
      branchId: args.branchId == null ? undefined : String(args.branchId),
      username: args.user == null ? undefined : String(args.user),
      limit: (first as number) + 1,
      before,
    };
    const answers = await Promise.all(
      this.sites().map((site) =>
        this.client.call(site, 'audit-log', query).catch(() => {
          throw libfedError('BRANCH_UNAVAILABLE', `branch site ${site} did not answer for its audit lines; the trail would be incomplete, retry later`, { site });
        }),
      ),
    );
    const merged = answers.flatMap((a) => a.entries).sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1));
    const page = merged.slice(0, first as number);
    const edges = page.map((e) => ({ cursor: encodeCursor(e), node: { ...e, user: e.username } }));
    return {
      edges,
      pageInfo: { hasNextPage: merged.length > page.length, hasPreviousPage: before !== undefined, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
    };
  }
}

function argumentsText(args: Record<string, unknown>): string {
  const text = JSON.stringify(args, (key, value) => (SECRET_ARGUMENTS.has(key) ? '[secret]' : value));
  return text.length > MAX_ARGUMENTS ? `${text.slice(0, MAX_ARGUMENTS - 12)}…[truncated]` : text;
}

function encodeCursor(e: AuditEntry): string {
  return Buffer.from(JSON.stringify({ at: e.at, id: e.id })).toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const { at, id } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { at: unknown; id: unknown };
    if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at)) && id.length <= 40) return { at: new Date(at).toISOString(), id };
  } catch {
    // below
  }
  throw libfedError('INVALID_CURSOR', 'after must be an endCursor of auditLog; pass pageInfo.endCursor unchanged');
}

import type { Logger } from 'pino';
import { REPLICATED_TABLES, replicaKey, typeLine, type Operation, type ParticipantClient, type VersionedRow } from '../../contracts';
import type { SiteClient } from '../router';
import type { MutationService } from '../coordinator';
import type { MutableSiteDirectory } from './directory';

type Put = Extract<Operation, { kind: 'replica.put' }>;

/** A site to add: where it answers, and its CHINHANH row. */
export interface NewSite {
  id: string;
  url: string;
  name: string;
  address: string;
}

/** What a site being removed still holds (its own rows; replicated tables aside). */
export interface Holdings {
  copies: number;
  readers: number;
  openLoans: number;
}

export interface SiteChanges {
  /**
   * `join`: this gateway seeds the site — copies the replicated tables into it,
   * routes to it, adds its CHINHANH row at every site (one 2PC), then copies
   * once more what was written meanwhile. Without `join` the site is only
   * routed (another gateway seeded it).
   */
  add(site: NewSite, options: { join: boolean }): Promise<{ site: string; copied: number; caughtUp: number; branch: string | null }>;
  /** Drains the site; removes it from routing once it holds nothing, or at once with `force`. */
  remove(id: string, options: { force: boolean }): Promise<{ site: string; removed: boolean; holds: Holdings | null }>;
}

const OPERATOR = { caller: { username: null, role: 'QUANLY', branch: null } };
/** Rows per copying transaction: within the /tx limits (50 operations, 100 stale lines: one per row and its type line). */
const PUTS_PER_TX = 40;
/** The type lines of the rows a site holds (contracts/lines.ts): every list or count over them depends on them. */
const REMOVED_LINES = ['Copy', 'Reader', 'Loan', 'Book', 'Branch'].map(typeLine);
const HOLDINGS_QUERY = '{ systemStats { totals { copies readers openLoans } } }';

export function siteChanges(o: { directory: MutableSiteDirectory; client: ParticipantClient; sites: SiteClient; mutations: MutationService; cache?: { write(lines: readonly string[]): Promise<unknown> }; log: Logger }): SiteChanges {
  /** Copies every replicated row the target lacks or has older, from the first routed site; answers how many. */
  const copyReplicas = async (target: string): Promise<number> => {
    const source = o.directory.ids().find((s) => s !== target && o.directory.state(s) === 'active');
    if (!source) throw new Error(`no active site to copy the replicated tables from into ${target}`);
    let copied = 0;
    for (const table of REPLICATED_TABLES) {
      const [from, to] = await Promise.all([o.client.call(source, 'replica-rows', { table }), o.client.call(target, 'replica-rows', { table })]);
      const held = new Map(to.rows.map((r: VersionedRow) => [replicaKey(r.row), r.version]));
      const puts: Put[] = from.rows
        .filter((r) => (held.get(replicaKey(r.row)) ?? -1) < r.version)
        .map((r) => ({ kind: 'replica.put', version: Math.max(1, r.version), expectVersion: held.get(replicaKey(r.row)) ?? null, row: r.row }));
      for (let i = 0; i < puts.length; i += PUTS_PER_TX) await o.mutations.putReplicas(target, puts.slice(i, i + PUTS_PER_TX));
      copied += puts.length;
    }
    return copied;
  };

  const holdings = async (id: string): Promise<Holdings | null> => {
    try {
      const answer = await o.sites.send(id, 'loans', { query: HOLDINGS_QUERY });
      const totals = (answer.data as { systemStats?: { totals?: Holdings } } | null | undefined)?.systemStats?.totals;
      return totals ? { copies: totals.copies, readers: totals.readers, openLoans: totals.openLoans } : null;
    } catch {
      return null;
    }
  };

  return {
    async add(site, { join }) {
      if (!join) {
        o.directory.add(site, 'active');
        return { site: site.id, copied: 0, caughtUp: 0, branch: null };
      }
      // Callable before routed: no read reaches it before it holds the replicated tables.
      o.directory.add(site, 'joining');
      const copied = await copyReplicas(site.id);
      o.directory.add(site, 'active');
      // A branch is a site: now that the site is routed, its CHINHANH row goes to every site in one 2PC.
      const branches = await o.client.call(site.id, 'replica-rows', { table: 'CHINHANH' });
      let branch: string | null = null;
      if (!branches.rows.some((r) => r.row.table === 'CHINHANH' && r.row.id === site.id)) {
        branch = (await o.mutations.run('addBranch', { input: { id: site.id, name: site.name, address: site.address } }, undefined, OPERATOR)).gid;
      }
      // Replicated writes that planned over the old list (while it was copying) missed it: copy them now.
      const caughtUp = await copyReplicas(site.id);
      o.log.info({ site: site.id, copied, caughtUp, branch }, `site ${site.id} joined the chain`);
      return { site: site.id, copied, caughtUp, branch };
    },
    async remove(id, { force }) {
      if (!o.directory.state(id)) return { site: id, removed: true, holds: null };
      o.directory.drain(id);
      const holds = await holdings(id);
      const empty = holds !== null && holds.copies === 0 && holds.readers === 0 && holds.openLoans === 0;
      if (!empty && !force) return { site: id, removed: false, holds };
      o.directory.remove(id);
      // Its rows leave every gathered list and count without a write: every gateway drops those answers.
      await o.cache?.write(REMOVED_LINES).catch((error: unknown) => o.log.warn({ err: String(error) }, 'cache write after a site removal failed'));
      o.log.info({ site: id, holds, force }, `site ${id} removed from routing`);
      return { site: id, removed: true, holds };
    },
  };
}

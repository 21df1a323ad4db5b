import { canonicalRow, ParticipantUnreachable, replicaKey, REPLICATED_TABLES, type ParticipantClient, type ReplicaRepair, type ReplicatedTable, type VersionedRow } from '../contracts';
import { ChainUnreachable } from './target';

/**
 * `libfed check-replicas`: the replicated tables compared across sites,
 * first by each site's checksum per table, then row by row for a table whose
 * checksums differ. For each row that differs, the winner is the content at
 * the highest version; several contents at that version (a row changed
 * outside LibFed, which bumps no version) are decided by how many sites hold
 * each, then by the sites config's order. A repair writes the winner at every
 * site at one version above any site's, so afterwards every site agrees and
 * the repair is newer than everything it replaced.
 */
export interface SiteRow {
  site: string;
  /** null: the site lacks the row. */
  version: number | null;
  /** The content as canonical text (contracts/replicas.ts); null when missing. */
  content: string | null;
}

export interface Difference {
  table: ReplicatedTable;
  key: string;
  /** Every site's version of the row. */
  sites: SiteRow[];
  /** The sites whose row is not the winner's. */
  differing: string[];
  /** The sites holding the winning row. */
  winners: string[];
  repair: ReplicaRepair;
}

export interface Comparison {
  tables: { table: ReplicatedTable; checksums: Record<string, string>; agree: boolean }[];
  differences: Difference[];
}

/** Calls a site; one that does not answer makes the comparison impossible (exit 3). */
async function ask<T>(site: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ParticipantUnreachable) throw new ChainUnreachable(`cannot compare replicas: ${error.message}`);
    throw error;
  }
}

export async function compareReplicas(client: ParticipantClient, siteIds: string[]): Promise<Comparison> {
  const summaries = await Promise.all(siteIds.map((site) => ask(site, () => client.call(site, 'replica-summary', {}))));
  const tables = REPLICATED_TABLES.map((table) => {
    const checksums = Object.fromEntries(siteIds.map((site, i) => [site, summaries[i].tables.find((t) => t.table === table)?.checksum ?? '']));
    return { table, checksums, agree: new Set(Object.values(checksums)).size === 1 };
  });
  const differences: Difference[] = [];
  for (const { table } of tables.filter((t) => !t.agree)) {
    const rows = await Promise.all(siteIds.map((site) => ask(site, () => client.call(site, 'replica-rows', { table }))));
    differences.push(...rowDifferences(table, siteIds, rows.map((r) => r.rows)));
  }
  return { tables, differences };
}

/** The rows of one table that are not the same at every site, each with its winner. */
export function rowDifferences(table: ReplicatedTable, siteIds: string[], rowsBySite: VersionedRow[][]): Difference[] {
  const byKey = new Map<string, (VersionedRow | undefined)[]>();
  rowsBySite.forEach((rows, i) => {
    for (const r of rows) {
      const key = replicaKey(r.row);
      if (!byKey.has(key)) byKey.set(key, new Array(siteIds.length).fill(undefined));
      byKey.get(key)![i] = r;
    }
  });
  const differences: Difference[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const held = byKey.get(key)!;
    const contents = held.map((r) => (r ? canonicalRow(r) : null));
    if (new Set(contents).size === 1) continue;
    const winner = pickWinner(held);
    const winning = canonicalRow(winner);
    const sites = siteIds.map((site, i) => ({ site, version: held[i]?.version ?? null, content: contents[i] }));
    const maxVersion = Math.max(...held.map((r) => r?.version ?? 0));
    differences.push({
      table,
      key,
      sites,
      differing: sites.filter((s) => s.content !== winning).map((s) => s.site),
      winners: sites.filter((s) => s.content === winning).map((s) => s.site),
      repair: { version: maxVersion + 1, row: winner.row, expect: Object.fromEntries(sites.map((s) => [s.site, s.version])) },
    });
  }
  return differences;
}

/** Highest version; among contents at that version, the one most sites hold; then the first site's. */
function pickWinner(held: (VersionedRow | undefined)[]): VersionedRow {
  const present = held.filter((r): r is VersionedRow => r !== undefined);
  const top = Math.max(...present.map((r) => r.version));
  const candidates = present.filter((r) => r.version === top);
  const count = (r: VersionedRow) => candidates.filter((c) => canonicalRow(c) === canonicalRow(r)).length;
  return candidates.reduce((best, r) => (count(r) > count(best) ? r : best));
}

/** One line per difference, for people: the row, who differs, and every site's version. */
export function describeDifference(d: Difference): string {
  const versions = d.sites.map((s) => `${s.site}=${s.version === null ? 'missing' : `v${s.version}`}`).join(' ');
  return `${d.table} ${d.key}: ${d.differing.join(', ')} differ${d.differing.length === 1 ? 's' : ''} from ${d.winners.join(', ')} (${versions})`;
}

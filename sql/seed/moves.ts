import { birthSite } from '../../contracts';
import type { Branch, Copy, Location, Reader } from './model';
import type { Rng } from './random';

/** Share of prefixed copies and readers that have moved since they were registered. */
export const MOVED_SHARE = 0.01;


/**
 * Some copies were transferred and some readers changed home branch before
 * today: the row now lives at another site while its id still names its birth
 * site, which keeps a location row (docs/ARCHITECTURE.md §3 rule 4). Only copies on the shelf
 * move, as a transfer requires; their past loans stay at the branch that lent them.
 */
export function applyMoves(
  rng: Rng,
  branches: readonly Branch[],
  copies: Copy[],
  readers: Reader[],
): { copies: Copy[]; readers: Reader[]; locations: Location[] } {
  if (branches.length < 2) return { copies, readers, locations: [] };
  const locations: Location[] = [];
  const elsewhere = (site: string) => {
    const others = branches.filter((b) => b.id !== site);
    return others[Math.floor(rng.next() * others.length)].id;
  };
  const move = <T extends { id: string }>(rows: T[], entity: Location['entity'], current: (row: T) => string, to: (row: T, site: string) => T, eligible: (row: T) => boolean) =>
    rows.map((row) => {
      const born = birthSite(branches.map((b) => b.id), row.id);
      if (!born || born !== current(row) || !eligible(row) || rng.next() >= MOVED_SHARE) return row;
      const site = elsewhere(born);
      locations.push({ entity, id: row.id, site });
      return to(row, site);
    });
  return {
    copies: move(copies, 'Copy', (c) => c.branchId, (c, site) => ({ ...c, branchId: site }), (c) => c.status === 'Có sẵn'),
    readers: move(readers, 'Reader', (r) => r.homeBranchId, (r, site) => ({ ...r, homeBranchId: site }), () => true),
    locations,
  };
}

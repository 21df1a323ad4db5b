/**
 * The one list of sites a gateway routes to, changed while it runs (`libfed
 * sites add|remove`, through the signed `/admin/sites/*` routes). Everything
 * that used to fix the list at start — the router, the failure monitor, the
 * participant and site clients' URL maps, the coordinator's planning, the
 * gather fan-out — reads it here on each use, so a new site is routable
 * without a restart (docs/ARCHITECTURE.md §3, "The site list at run time").
 *
 * A site is `joining` (its URL is known, so the coordinator can copy the
 * replicated tables into it, but nothing routes to it yet), `active`, or
 * `draining`: still routed (its rows are still read,
 * loans there can still be returned, copies moved away), but new writes that
 * would put something there are refused with BRANCH_DRAINING.
 */
export type SiteState = 'joining' | 'active' | 'draining';

export interface DirectorySite {
  id: string;
  url: string;
}

export interface SiteDirectory {
  /** Every routed site (joining ones aside), in the order they joined (the configuration's order first). The same array until the list changes. */
  ids(): readonly string[];
  url(id: string): string | undefined;
  state(id: string): SiteState | undefined;
  /** Told of every change, after it is made (the monitor watches a new site, the clients learn its URL). */
  onChange(listener: (change: SiteChange) => void): void;
}

export type SiteChange = { kind: 'added'; site: DirectorySite } | { kind: 'draining'; id: string } | { kind: 'removed'; id: string };

/** The mutable directory behind the read-only interface: only the admin routes change it. */
export class MutableSiteDirectory implements SiteDirectory {
  private readonly sites = new Map<string, DirectorySite & { state: SiteState }>();
  private listed: readonly string[] = [];
  private readonly listeners: ((change: SiteChange) => void)[] = [];

  constructor(initial: readonly DirectorySite[]) {
    for (const s of initial) this.sites.set(s.id, { id: s.id, url: s.url.replace(/\/+$/, ''), state: 'active' });
    this.relist();
  }

  private relist(): void {
    this.listed = [...this.sites.values()].filter((s) => s.state !== 'joining').map((s) => s.id);
  }

  ids(): readonly string[] {
    return this.listed;
  }

  url(id: string): string | undefined {
    return this.sites.get(id)?.url;
  }

  state(id: string): SiteState | undefined {
    return this.sites.get(id)?.state;
  }

  /** Every site this gateway may call, joining ones included, with its URL (the clients' URL maps, `/ready`). */
  all(): DirectorySite[] {
    return [...this.sites.values()].map(({ id, url }) => ({ id, url }));
  }

  onChange(listener: (change: SiteChange) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Adds a site in `state` (idempotent: a known site keeps its place, takes the
   * new URL, and a draining one becomes active again). `joining` makes it
   * callable, not routed; `active` routes to it.
   */
  add(site: DirectorySite, state: 'joining' | 'active' = 'active'): void {
    const known = this.sites.get(site.id);
    const entry = { id: site.id, url: site.url.replace(/\/+$/, ''), state: known?.state === 'active' ? 'active' : state };
    this.sites.set(site.id, entry);
    this.relist();
    this.tell({ kind: 'added', site: { id: entry.id, url: entry.url } });
  }

  drain(id: string): boolean {
    const known = this.sites.get(id);
    if (!known) return false;
    known.state = 'draining';
    this.tell({ kind: 'draining', id });
    return true;
  }

  remove(id: string): boolean {
    if (!this.sites.delete(id)) return false;
    this.relist();
    this.tell({ kind: 'removed', id });
    return true;
  }

  private tell(change: SiteChange): void {
    for (const l of this.listeners) l(change);
  }
}

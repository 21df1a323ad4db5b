import { LRUCache } from 'lru-cache';

/**
 * docs/ARCHITECTURE.md §3 rule 4: where entities that left their birth site live now, as far
 * as this gateway has seen. A hint, not the truth — the birth site is, through
 * ENTITY_MOVED — so a remembered site that is down or no longer has the entity
 * sends the router back to the birth site. One store per gateway, shared by
 * every FragmentRouter: a move committed through one router is known to all
 * of them before its answer is read back.
 */
export interface Locations {
  get(id: string): string | undefined;
  set(id: string, site: string): void;
  delete(id: string): void;
}

export interface LruLocationsOptions {
  /** Entities remembered; the least recently used are forgotten (and found again through their birth site). */
  max?: number;
}

export function lruLocations(options: LruLocationsOptions = {}): Locations {
  const lru = new LRUCache<string, string>({ max: options.max ?? 100_000 });
  return {
    get: (id) => lru.get(id),
    set: (id, site) => void lru.set(id, site),
    delete: (id) => void lru.delete(id),
  };
}

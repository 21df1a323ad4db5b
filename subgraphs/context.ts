import DataLoader from 'dataloader';
import type { SqlExecutor } from '../sql';

/** What every site resolver gets. Made anew per request: DataLoader memo lives for one request only. */
export interface SiteContext {
  siteId: string;
  db: SqlExecutor;
  /** Injected clock: `overdue` and due dates are computed against it. */
  now: Date;
  loaders: Map<string, DataLoader<string, unknown>>;
}

/** Keys per DataLoader batch. The batch functions split their IN lists under the dialect's parameter limit themselves (sql/batch.ts), whatever this is. */
export const MAX_BATCH_SIZE = 500;

/**
 * A DataLoader that answers a key that is not a string (a representation's
 * null or number from a caller) with null, as it answers an unknown key.
 * DataLoader itself throws at once for null; inside `_entities` that throw
 * left the other keys' failed batch unhandled, and the site process died.
 */
class KeyLoader<V> extends DataLoader<string, V> {
  override load(key: string): Promise<V> {
    if (typeof key !== 'string') return Promise.resolve(null as V);
    return super.load(key);
  }
}

/**
 * The request's loader named `name`, made on first use. `batch` gets distinct keys
 * and returns rows; `keyOf` says which key a row answers, so results come back in
 * key order with null for a missing key. With `many`, a key gathers all its rows.
 */
export function loader<T>(
  ctx: SiteContext,
  name: string,
  batch: (keys: readonly string[]) => Promise<T[]>,
  keyOf: (row: T) => string,
): DataLoader<string, T | null> {
  let found = ctx.loaders.get(name);
  if (!found) {
    found = new KeyLoader<T | null>(
      async (keys) => {
        const byKey = new Map((await batch(keys)).map((row) => [keyOf(row), row]));
        return keys.map((key) => byKey.get(key) ?? null);
      },
      { maxBatchSize: MAX_BATCH_SIZE },
    );
    ctx.loaders.set(name, found);
  }
  return found as DataLoader<string, T | null>;
}

export function listLoader<T>(
  ctx: SiteContext,
  name: string,
  batch: (keys: readonly string[]) => Promise<T[]>,
  keyOf: (row: T) => string,
): DataLoader<string, T[]> {
  let found = ctx.loaders.get(name);
  if (!found) {
    found = new KeyLoader<T[]>(
      async (keys) => {
        const byKey = new Map<string, T[]>(keys.map((key) => [key, []]));
        for (const row of await batch(keys)) byKey.get(keyOf(row))?.push(row);
        return keys.map((key) => byKey.get(key) ?? []);
      },
      { maxBatchSize: MAX_BATCH_SIZE },
    );
    ctx.loaders.set(name, found);
  }
  return found as DataLoader<string, T[]>;
}

import { libfedError } from '../schema';
import { inChunks, list, sql } from '../sql';
import { loader, type SiteContext } from './context';

export type LocatedEntity = 'Copy' | 'Reader';

/**
 * docs/ARCHITECTURE.md §3 rule 4: a birth site keeps the current site of entities born here
 * that have moved away. When a key is not held locally, the site looks here and
 * answers ENTITY_MOVED with the current site; the gateway follows once.
 */
export async function notHeldHere(ctx: SiteContext, entity: LocatedEntity, id: string): Promise<null> {
  const found = await loader(
    ctx,
    `location:${entity}`,
    (ids) =>
      inChunks<{ id: string; site: string }, string>(ctx.db, ids, (chunk) => sql`SELECT id, site FROM libfed_location WHERE entity = ${entity} AND id IN ${list(chunk, 'varchar')}`),
    (row) => row.id,
  ).load(id);
  if (found && found.site !== ctx.siteId) {
    throw libfedError('ENTITY_MOVED', `${entity} ${id} now lives at site ${found.site}`, { site: found.site, entity, id });
  }
  return null;
}

import { codeOf, errorJson } from '../../schema';
import type { GatheredField } from './plan';
import { argumentValue } from './selection';
import type { SiteUnavailable, SubgraphError, SubgraphResponse } from './sites';

/** What sites answered, and the small steps every routing path takes on those answers. */

export type Json = Record<string, unknown>;
export type Answer = { site: string; response: SubgraphResponse } | { site: string; down: SiteUnavailable };

export const unavailable = (e: SiteUnavailable, path?: (string | number)[]): SubgraphError =>
  errorJson('BRANCH_UNAVAILABLE', e.message, { site: e.siteId }, path);

export function movedTo(response: SubgraphResponse, path: (string | number)[]): string | undefined {
  const error = response.errors?.find(
    (e) => codeOf(e) === 'ENTITY_MOVED' && JSON.stringify(e.path?.slice(0, path.length)) === JSON.stringify(path),
  );
  return error?.extensions?.site as string | undefined;
}

export function withoutMoved(errors: SubgraphError[] | undefined): SubgraphError[] {
  return (errors ?? []).filter((e) => codeOf(e) !== 'ENTITY_MOVED');
}

export function limitOf(g: GatheredField, variables: Json): number | undefined {
  const arg = g.shape.rule.limitArg;
  if (!arg) return undefined;
  const value = argumentValue(g.field, arg, variables);
  // Absent or null: the schema's default page size, which is what every site applies too.
  return typeof value === 'number' ? value : g.shape.rule.limitDefault;
}

export function responseOf(answer: Answer, path: (string | number)[]): SubgraphResponse {
  if ('down' in answer) return { data: { [String(path[0])]: null }, errors: [unavailable(answer.down, path)] };
  return answer.response;
}

/** A site's error path `_entities[j]` is position j of the subset it was sent; the gateway needs the original index. */
export function reindex(error: SubgraphError, indices: number[]): SubgraphError {
  if (error.path?.[0] !== '_entities' || typeof error.path[1] !== 'number') return error;
  return { ...error, path: ['_entities', indices[error.path[1]], ...error.path.slice(2)] };
}

/**
 * Where, in a merged gathered value, lies what `path` names in one site's part
 * of it. A site's list index is its own; merges keep the sites' item objects,
 * so the item is found in the merged list by identity. An item that is not in
 * the merged answer (past `first`, or summed into a new group) leaves the path
 * at its list.
 */
export function pathInMerged(path: readonly (string | number)[], part: unknown, merged: unknown): (string | number)[] {
  const out: (string | number)[] = [];
  for (const step of path) {
    if (typeof step === 'number') {
      const item = Array.isArray(part) ? (part[step] as unknown) : undefined;
      const at = item !== null && typeof item === 'object' && Array.isArray(merged) ? merged.indexOf(item) : -1;
      if (at < 0) return out;
      out.push(at);
      part = item;
      merged = (merged as unknown[])[at];
    } else {
      out.push(step);
      part = (part as Json | null | undefined)?.[step];
      merged = (merged as Json | null | undefined)?.[step];
    }
  }
  return out;
}

/** Every site raises the same argument error; the client should see it once. */
export function dedupe(errors: SubgraphError[]): SubgraphError[] | undefined {
  const seen = new Set<string>();
  const out = errors.filter((e) => {
    const key = JSON.stringify([e.message, e.path, e.extensions?.code, e.extensions?.site]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return out.length ? out : undefined;
}

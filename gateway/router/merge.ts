import type { Direction, SortKey } from '../../schema';
import { CURSORS, GROUP, groupAlias, MORE, sortKeyAlias, sumAlias, type MergeShape } from './inject';

/**
 * Merging the answers several sites gave for one gathered field (docs/ARCHITECTURE.md §3
 * rule 1). Inputs are in site order; a missing site is simply absent.
 */

type Json = Record<string, unknown>;
type Value = string | number | boolean | null | undefined;

/**
 * The one text order every merge uses: Unicode code points, which is what the
 * sites' binary collation sorts by (PostgreSQL's "C" compares UTF-8 bytes, and
 * UTF-8 byte order is code-point order). JavaScript's `<` compares UTF-16 code
 * units instead, which disagrees for a character above U+FFFF against one in
 * U+E000..U+FFFF (a surrogate 0xD800.. sorts before 0xE000..): a k-way merge on
 * `<` then skips rows.
 */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Only where both are surrogate or both are not does code-unit order equal code-point order.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx === sy) return x - y;
    return sx ? 1 : -1; // a surrogate half starts a code point above U+FFFF
  }
  return a.length - b.length;
}

/** Code-point order for strings (see `compareText`), numeric for numbers, nulls last. */
export function compareValues(a: Value, b: Value, direction: Direction): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  const order = typeof a === 'number' && typeof b === 'number' ? a - b : compareText(String(a), String(b));
  return direction === 'DESC' ? -order : order;
}

function compareTuples(a: readonly Value[], b: readonly Value[], keys: readonly SortKey[]): number {
  for (let i = 0; i < keys.length; i++) {
    const c = compareValues(a[i], b[i], keys[i].direction);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * K-way merge of lists each already sorted by `keys`. Returns (list, index) pairs
 * in merged order, at most `limit` of them. Ties keep site order, so the merge is stable.
 */
export function kWayMerge(lists: readonly (readonly Value[])[][], keys: readonly SortKey[], limit = Infinity): [number, number][] {
  const heads = lists.map(() => 0);
  const out: [number, number][] = [];
  while (out.length < limit) {
    let best = -1;
    for (let l = 0; l < lists.length; l++) {
      if (heads[l] >= lists[l].length) continue;
      if (best < 0 || compareTuples(lists[l][heads[l]], lists[best][heads[best]], keys) < 0) best = l;
    }
    if (best < 0) break;
    out.push([best, heads[best]++]);
  }
  return out;
}

/** A cursor's values (the sort key, then its scope); an unreadable one is empty. */
export function decodeCursor(cursor: unknown): Value[] {
  try {
    const values = JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8'));
    return Array.isArray(values) ? values : [];
  } catch {
    return [];
  }
}

function mergeConnection(parts: Json[], shape: MergeShape, limit: number | undefined): Json {
  const rule = shape.rule;
  if (rule.merge !== 'SORTED') throw new Error('connections merge SORTED');
  const cursors = parts.map((p) => ((p[CURSORS] as Json[] | undefined) ?? []).map((e) => e.cursor as string));
  const order = kWayMerge(cursors.map((list) => list.map(decodeCursor)), rule.orderBy, limit ?? Infinity);
  const total = cursors.reduce((n, list) => n + list.length, 0);
  const hasNextPage = order.length < total || parts.some((p) => (p[MORE] as Json | undefined)?.hasNextPage === true);
  const endCursor = order.length ? cursors[order[order.length - 1][0]][order[order.length - 1][1]] : null;
  const startCursor = order.length ? cursors[order[0][0]][order[0][1]] : null;
  // Only keys the sites answered: a field under @skip / @include(if: false) is absent, and stays absent.
  const answered = (key: string) => parts.some((p) => key in p);
  const merged: Json = { ...parts[0] };
  for (const key of shape.keys('edges').filter(answered)) merged[key] = order.map(([l, i]) => ((parts[l][key] as unknown[] | undefined) ?? [])[i] ?? null);
  for (const key of shape.keys('totalCount').filter(answered)) merged[key] = parts.reduce((n, p) => n + Number(p[key] ?? 0), 0);
  for (const info of shape.pageInfoKeys.filter((i) => answered(i.key))) {
    const page: Json = { ...(parts.find((p) => info.key in p)![info.key] as Json) };
    for (const k of info.hasNextPage) if (k in page) page[k] = hasNextPage;
    for (const k of info.endCursor) if (k in page) page[k] = endCursor;
    // hasPreviousPage stays as the sites said: each was sent the same `after`.
    for (const k of info.startCursor) if (k in page) page[k] = startCursor;
    merged[info.key] = page;
  }
  return merged;
}

function mergeSortedList(parts: Json[][], shape: MergeShape, limit: number | undefined): Json[] {
  if (shape.rule.merge !== 'SORTED') throw new Error('unreachable');
  const keys = shape.rule.orderBy;
  const tuples = parts.map((list) => list.map((item) => keys.map((_, i) => item[sortKeyAlias(i)] as Value)));
  return kWayMerge(tuples, keys, limit ?? Infinity).map(([l, i]) => parts[l][i]);
}

function groupKey(item: Json, path: string[]): string {
  let value: unknown = item[GROUP];
  for (const step of path.slice(1)) value = (value as Json | null)?.[step];
  return JSON.stringify(value ?? null);
}

/** Top k over groups summed across sites: sites send every group, never their own top k, so no group is missed. */
function mergeTopK(parts: Json[][], shape: MergeShape, limit: number | undefined): Json[] {
  const rule = shape.rule;
  if (rule.merge !== 'TOPK') throw new Error('unreachable');
  const groups = new Map<string, { item: Json; sums: number[] }>();
  for (const item of parts.flat()) {
    const key = groupKey(item, rule.groupBy);
    const sums = rule.sum.map((_, i) => Number(item[sumAlias(i)] ?? 0));
    const found = groups.get(key);
    if (found) found.sums = found.sums.map((s, i) => s + sums[i]);
    else groups.set(key, { item: { ...item }, sums });
  }
  const ranked = [...groups].map(([key, g]) => {
    rule.sum.forEach((name, i) => {
      for (const k of shape.keys(name)) if (k in g.item) g.item[k] = g.sums[i];
    });
    const sortValues = rule.orderBy.map((k) => g.sums[rule.sum.indexOf(k.field)] as Value);
    return { key, item: g.item, sortValues };
  });
  ranked.sort((a, b) => compareTuples(a.sortValues, b.sortValues, rule.orderBy) || compareText(a.key, b.key));
  return ranked.slice(0, limit ?? ranked.length).map((r) => r.item);
}

function valueAt(item: unknown, path: readonly string[]): unknown {
  let value = item;
  for (const step of path) value = (value as Json | null | undefined)?.[step];
  return value;
}

/**
 * Every group summed across sites, in group-key order (code points, part by
 * part). Sites send one item per group they hold; an item whose key is still
 * empty (a reader no answering site holds) is dropped: the site that holds the
 * reader is down, and the gather reports it as BRANCH_UNAVAILABLE.
 */
function mergeGroups(parts: Json[][], shape: MergeShape): Json[] {
  const rule = shape.rule;
  if (rule.merge !== 'GROUPS') throw new Error('unreachable');
  const groups = new Map<string, { item: Json; values: string[]; sums: number[] }>();
  for (const item of parts.flat()) {
    const values = rule.groupBy.map((path, i) => valueAt(item[groupAlias(i)], path.slice(1)));
    if (values.some((v) => v === null || v === undefined || v === '')) continue;
    const key = JSON.stringify(values);
    const sums = rule.sum.map((_, i) => Number(item[sumAlias(i)] ?? 0));
    const found = groups.get(key);
    if (!found) groups.set(key, { item: { ...item }, values: values.map(String), sums });
    else {
      found.sums = found.sums.map((n, i) => n + sums[i]);
      // A label (a branch's name) may be known to one site's item only.
      for (const [k, v] of Object.entries(item)) if (found.item[k] === null && v !== null) found.item[k] = v;
    }
  }
  const merged = [...groups.values()].sort((a, b) => {
    for (let i = 0; i < a.values.length; i++) {
      const c = compareText(a.values[i], b.values[i]);
      if (c !== 0) return c;
    }
    return 0;
  });
  return merged.map((g) => {
    rule.sum.forEach((name, i) => {
      for (const k of shape.keys(name)) if (k in g.item) g.item[k] = g.sums[i];
    });
    return g.item;
  });
}

/**
 * SUM with its exceptions: lists named in `concat` are appended in site order,
 * and the figures at the `once` paths are replicated data, equal at every site,
 * so they are taken from the first site that answered rather than multiplied
 * by the number of sites.
 */
function mergeSum(parts: Json[], shape: MergeShape): unknown {
  const rule = shape.rule;
  if (rule.merge !== 'SUM') throw new Error('unreachable');
  if (!rule.concat.length && !rule.once.length) return sumDeep(parts);
  const concatKeys = new Set(rule.concat.flatMap((name) => shape.keys(name)));
  const rest = parts.map((p) => Object.fromEntries(Object.entries(p).filter(([k]) => !concatKeys.has(k))));
  const out = sumDeep(rest) as Json;
  for (const key of concatKeys) if (parts.some((p) => key in p)) out[key] = parts.flatMap((p) => (p[key] as unknown[] | null | undefined) ?? []);
  for (const path of rule.once.flatMap((p) => shape.paths(p))) {
    const holder = valueAt(out, path.slice(0, -1)) as Json | null | undefined;
    const first = parts.map((p) => valueAt(p, path)).find((v) => v !== undefined && v !== null);
    if (holder && path[path.length - 1] in holder) holder[path[path.length - 1]] = first ?? null;
  }
  return out;
}

/** Adds every number, at any depth; other values come from the first site. */
export function sumDeep(parts: unknown[]): unknown {
  const present = parts.filter((p) => p !== null && p !== undefined);
  if (present.length === 0) return parts[0] ?? null;
  if (present.every((p) => typeof p === 'number')) return (present as number[]).reduce((a, b) => a + b, 0);
  if (present.every((p) => typeof p === 'object' && !Array.isArray(p))) {
    const out: Json = {};
    for (const key of Object.keys(present[0] as Json)) out[key] = sumDeep(present.map((p) => (p as Json)[key]));
    return out;
  }
  return present[0];
}

/** Merges one gathered field's per-site answers (`null` entries are dropped first). */
export function mergeGathered(parts: unknown[], shape: MergeShape, limit: number | undefined): unknown {
  const present = parts.filter((p) => p !== null && p !== undefined);
  if (present.length === 0) return parts.length ? parts[0] : null;
  const rule = shape.rule;
  switch (rule.merge) {
    case 'CONCAT':
      return rule.shape === 'list' ? (present as unknown[][]).flat().slice(0, limit ?? Infinity) : present[0];
    case 'SUM':
      return mergeSum(present as Json[], shape);
    case 'GROUPS':
      return mergeGroups(present as Json[][], shape);
    case 'SORTED':
      return rule.shape === 'connection'
        ? mergeConnection(present as Json[], shape, limit)
        : mergeSortedList(present as Json[][], shape, limit);
    case 'TOPK':
      return mergeTopK(present as Json[][], shape, limit);
  }
}

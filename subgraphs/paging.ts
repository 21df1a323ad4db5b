import { createHash } from 'node:crypto';
import { DEFAULT_PAGE_SIZE, firstUnstorable, libfedError, MAX_PAGE_SIZE } from '../schema';
import { sql, type Sql, type SqlExecutor } from '../sql';

/** Relay-style connections with keyset cursors. A cursor holds the sort-key values of its row. */
export { MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE };

export type CursorValue = string | number;

export function pageSize(first: number | null | undefined): number {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw libfedError('PAGE_SIZE_OUT_OF_RANGE', `first must be between 0 and ${MAX_PAGE_SIZE}, got ${first}`, { max: MAX_PAGE_SIZE });
  }
  return size;
}

/**
 * What a cursor belongs to: the list and its filters. It
 * rides at the END of the cursor's values, after the sort key, so the gateway's
 * merge (which compares the leading sort-key values) reads it unchanged, and a
 * site refuses a cursor of another list or other filters with INVALID_CURSOR.
 */
export function cursorScope(list: string, filters: Record<string, unknown>): string {
  const canonical = Object.keys(filters).sort().map((k) => [k, filters[k] ?? null]);
  return `${list}:${createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 12)}`;
}

export function encodeCursor(values: readonly CursorValue[], scope?: string): string {
  return Buffer.from(JSON.stringify(scope === undefined ? values : [...values, scope])).toString('base64url');
}

/** Decodes a cursor made by `encodeCursor` for a list whose sort key has `kinds` (one per key part). */
export function decodeCursor(cursor: string, kinds: readonly ('string' | 'number')[], scope?: string): CursorValue[] {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    values = undefined;
  }
  const length = kinds.length + (scope === undefined ? 0 : 1);
  if (
    !Array.isArray(values) ||
    values.length !== length ||
    values.slice(0, kinds.length).some((v, i) => typeof v !== kinds[i]) ||
    (scope !== undefined && values[kinds.length] !== scope) ||
    // Text no database stores can only be a crafted cursor: refused here, not by the SQL below.
    firstUnstorable(values, 'cursor') !== undefined
  ) {
    throw libfedError('INVALID_CURSOR', `after must be a cursor returned by this list with the same filters (pageInfo.endCursor), got "${cursor.slice(0, 80)}"`);
  }
  return values.slice(0, kinds.length) as CursorValue[];
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /** A function, so the count query runs only when a client selects totalCount. */
  totalCount: () => Promise<number>;
}

/** `rows` were fetched with limit first + 1: the extra row only tells that there is a next page. */
export function connection<T>(
  rows: T[],
  first: number,
  scope: string,
  sortKey: (row: T) => readonly CursorValue[],
  count: () => Promise<number>,
  after?: string | null,
): Connection<T> {
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ cursor: encodeCursor(sortKey(node), scope), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > first,
      // Relay Cursor Connections: with first/after, true when rows come before `after` (its own row does).
      hasPreviousPage: after != null,
      startCursor: edges.length ? edges[0].cursor : null,
      endCursor: edges.length ? edges[edges.length - 1].cursor : null,
    },
    totalCount: count,
  };
}

export function emptyConnection<T>(after?: string | null): Connection<T> {
  return { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: after != null, startCursor: null, endCursor: null }, totalCount: async () => 0 };
}

export interface TextIdPage<T> {
  select: Sql;
  from: Sql;
  where: Sql;
  /** The sort columns: a text (a title, a name), then the unique id that breaks ties. */
  text: Sql;
  id: Sql;
  first: number;
  after?: string | null;
  keyOf: (row: T) => [string, string];
  /** The list and filters its cursors belong to (`cursorScope`). */
  scope: string;
}

/**
 * One page of rows in (text, id) code-point order, after a cursor holding the
 * last row's (text, id). Every site sorts this way, so the gateway can merge
 * pages from several sites by cursor; the count runs only if it is selected.
 */
export async function pageByTextAndId<T extends object>(db: SqlExecutor, q: TextIdPage<T>): Promise<Connection<T>> {
  const d = db.dialect;
  const text = sql`${q.text} ${d.binaryCollation}`;
  const id = sql`${q.id} ${d.binaryCollation}`;
  let after = sql`1 = 1`;
  if (q.after) {
    const [t, i] = decodeCursor(q.after, ['string', 'string'], q.scope);
    after = sql`(${text} > ${t} OR (${text} = ${t} AND ${id} > ${i}))`;
  }
  const rows = await db.query<T>(sql`SELECT ${q.select} FROM ${q.from} WHERE ${q.where} AND ${after} ORDER BY ${text}, ${id} ${d.limit(q.first + 1)}`);
  return connection(
    rows,
    q.first,
    q.scope,
    q.keyOf,
    async () => {
      const [row] = await db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${q.from} WHERE ${q.where}`);
      return Number(row.n);
    },
    q.after,
  );
}

import { groupAlias, READER, type MergeShape } from './inject';
import type { Answer, Json } from './answers';

/**
 * Readers borrow at any branch (docs/ARCHITECTURE.md §1), and a loan slip
 * names the reader, not the reader's home branch, which only the home site
 * knows (readers move, and legacy ids carry no site). A site groups the loans
 * of its own readers by home branch itself and names each other reader once,
 * with its counts already summed (so what it sends is bounded by the number of
 * such readers, not loans). The gateway asks every site, in one statement
 * each, which of those readers it holds, and puts each one's home branch into
 * the group key before the groups are merged.
 */
export const READER_HOMES_QUERY = 'query($ids: [ID!]!) { readerHomes(ids: $ids) { reader branch branchName } }';

interface Home {
  branch: string;
  name: string;
}

/** The readers left unplaced in sites' parts. */
export function unresolvedReaders(parts: unknown[]): string[] {
  const ids = new Set<string>();
  for (const part of parts) for (const item of (part as Json[] | null) ?? []) if (typeof item?.[READER] === 'string') ids.add(item[READER] as string);
  return [...ids];
}

/** The home branch of each reader some answering site holds. */
export function homesFrom(answers: Answer[]): Map<string, Home> {
  const homes = new Map<string, Home>();
  for (const a of answers) {
    if (!('response' in a)) continue;
    for (const row of (a.response.data?.readerHomes as Json[] | undefined) ?? []) homes.set(String(row.reader), { branch: String(row.branch), name: String(row.branchName) });
  }
  return homes;
}

function setAt(target: Json, path: string[], value: unknown): void {
  let holder = target;
  for (const step of path.slice(0, -1)) {
    const next = holder[step];
    if (!next || typeof next !== 'object') return;
    holder = (holder[step] = { ...(next as Json) });
  }
  holder[path[path.length - 1]] = value;
}

/** Writes each placed reader's home into its items (group key, the client's fields, and a `label` as the branch's name), in place. */
export function placeReaders(parts: unknown[], shape: MergeShape, homes: Map<string, Home>): void {
  const rule = shape.rule;
  if (rule.merge !== 'GROUPS' || !rule.resolveHome) return;
  const path = rule.resolveHome;
  const index = rule.groupBy.findIndex((p) => p.join('.') === path.join('.'));
  for (const part of parts) {
    for (const item of (part as Json[] | null) ?? []) {
      const reader = item?.[READER];
      if (typeof reader !== 'string') continue;
      const home = homes.get(reader);
      if (!home) continue;
      if (path.length === 1) item[groupAlias(index)] = home.branch;
      else setAt(item, [groupAlias(index), ...path.slice(1)], home.branch);
      for (const p of shape.paths(path)) setAt(item, p, home.branch);
      for (const k of shape.keys('label')) if (k in item) item[k] = home.name;
    }
  }
}

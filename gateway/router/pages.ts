import type { SortKey } from '../../schema';
import type { Answer, Json } from './answers';
import { CURSORS, MORE } from './inject';
import { decodeCursor, kWayMerge } from './merge';
import type { SubgraphError } from './sites';

/**
 * A gathered page (docs/ARCHITECTURE.md §3 rule 1, "Gathered pages"): a
 * SORTED connection whose page of `first` rows is the k-way merge of every
 * site's rows. Asking every site for `first` rows sends k times the page; most
 * of it is thrown away. So each site is first asked for its likely share
 * (`perSiteLimit`), and only a site whose rows may still belong on the page is
 * asked again, once, for exactly as many more as could reach it
 * (`secondRound`). After that round the page is exact (the argument is at
 * `secondRound`).
 */

/**
 * Rows to ask each of `sites` sites for, for a page of `first`: the even share
 * plus two standard deviations of it (a site's share of the page is about
 * binomial), plus one. With rows spread evenly over sites a second round is
 * then rare; with skewed ones it is one more round trip, never a wrong page.
 */
export function perSiteLimit(first: number, sites: number): number {
  if (sites <= 1 || first === 0) return first;
  const share = first / sites;
  return Math.min(first, Math.ceil(share + 2 * Math.sqrt(share)) + 1);
}

/** What the merge needs of one site's part of a page: its rows' cursors, and whether it had more. */
interface PartRows {
  cursors: string[];
  more: boolean;
}

function rowsOf(part: unknown): PartRows | undefined {
  if (part === null || typeof part !== 'object') return undefined;
  const edges = ((part as Json)[CURSORS] as Json[] | undefined) ?? [];
  return { cursors: edges.map((e) => e.cursor as string), more: ((part as Json)[MORE] as Json | undefined)?.hasNextPage === true };
}

/** A second-round request: part `index` asked for `first` more rows after `after`. */
export interface MoreRows {
  index: number;
  first: number;
  after: string | null;
  /** How many rows of the first round's merge sort up to and including this part's last row. */
  rank: number;
}

/**
 * Which parts (null for a site that gave none) must be asked for more rows.
 *
 * A part that had more holds rows sorting after its last one, L. Rows are
 * unique in the sort key (it ends in the id), so an unseen row u of it sorts
 * strictly after L. If L is at or past position `first` of the merge of every
 * row seen, u cannot reach the page: seeing more rows only moves the page's
 * last row earlier. Otherwise the part is asked for `first - rank(L)` more,
 * rank(L) counting the rows seen up to L: any later row of that part has at
 * least rank(L) rows before it (all seen, none of them its own later rows)
 * plus the `first - rank(L)` fetched, so if it is not fetched it is past the
 * page. Hence one second round makes the page exact, and `hasNextPage` (rows
 * left over, or a part with more) stays exact.
 */
export function secondRound(parts: readonly unknown[], keys: readonly SortKey[], first: number, after: string | null): MoreRows[] {
  const rows = parts.map(rowsOf);
  const lists = rows.map((r) => (r?.cursors ?? []).map(decodeCursor));
  const order = kWayMerge(lists, keys);
  const rankOfLast = new Map<number, number>();
  order.forEach(([l, i], at) => {
    if (i === lists[l].length - 1) rankOfLast.set(l, at + 1);
  });
  const out: MoreRows[] = [];
  rows.forEach((r, index) => {
    if (!r?.more) return;
    // A site that had more but sent no row (it was asked for none) is asked for the whole page.
    const rank = r.cursors.length ? rankOfLast.get(index)! : 0;
    if (rank < first) out.push({ index, first: first - rank, after: r.cursors.length ? r.cursors[r.cursors.length - 1] : after, rank });
  });
  return out;
}

/**
 * One site's part of a page with its second-round rows appended: every list
 * in it (the edges, under the client's keys and the merge's) grows, and
 * whether the site has more is the second round's word.
 */
export function appendRows(part: Json, more: Json): Json {
  const out: Json = { ...part };
  for (const [key, value] of Object.entries(more)) {
    if (Array.isArray(value) && Array.isArray(part[key])) out[key] = [...(part[key] as unknown[]), ...value];
  }
  out[MORE] = more[MORE];
  return out;
}

/** A site's error in its second-round part, pointed at the rows' places in the appended part. */
export function shiftError(error: SubgraphError, key: string, part: Json): SubgraphError {
  const [root, list, index, ...rest] = error.path ?? [];
  if (root !== key || typeof list !== 'string' || typeof index !== 'number' || !Array.isArray(part[list])) return error;
  return { ...error, path: [root, list, index + (part[list] as unknown[]).length, ...rest] };
}

/** The first round's answers with the second round's appended, site by site; a site that failed there is in `failed`. */
export function withSecondRound(key: string, first: readonly Answer[], asked: readonly MoreRows[], second: readonly Answer[]): { answers: Answer[]; failed: { more: MoreRows; answer: Answer }[] } {
  const answers = [...first];
  const failed: { more: MoreRows; answer: Answer }[] = [];
  asked.forEach((more, j) => {
    const was = first[more.index];
    const now = second[j];
    const extra = 'response' in now ? (now.response.data?.[key] as Json | null | undefined) : undefined;
    if (!('response' in was) || !extra) {
      failed.push({ more, answer: now });
      return;
    }
    const part = was.response.data![key] as Json;
    const errors = [...(was.response.errors ?? []), ...((now as Extract<Answer, { response: unknown }>).response.errors ?? []).map((e) => shiftError(e, key, part))];
    answers[more.index] = { site: was.site, response: { data: { ...was.response.data, [key]: appendRows(part, extra) }, errors } };
  });
  return { answers, failed };
}

import fc from 'fast-check';
import { loadDistribution } from '../../../schema';
import { CURSORS, MORE } from '../inject';
import { mergeGathered } from '../merge';
import { planFetch, type FetchPlan } from '../plan';

/**
 * Merges work on whatever selection the query planner sends.
 * A field under `@skip(if: true)` / `@include(if: false)` is absent from every
 * site's answer: the merged answer leaves it absent (it crashed on `edges`).
 * Generated: which of edges / totalCount / pageInfo are skipped, and the pages.
 */
const loans = loadDistribution().get('loans')!;
const cursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');

function shapeOf(query: string) {
  const plan = planFetch(query, loans) as Extract<FetchPlan, { kind: 'roots' }>;
  return plan.fields[0].gathered!;
}

describe('merging a connection whose fields are skipped by directives', () => {
  it('keeps exactly the answered fields, for any combination and any site pages', () => {
    const row = fc.record({ at: fc.date({ min: new Date('2026-01-01'), max: new Date('2026-06-01'), noInvalidDate: true }).map((d) => d.toISOString()), n: fc.integer({ min: 1, max: 9999 }) });
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.boolean(), fc.array(fc.array(row, { maxLength: 4 }), { minLength: 1, maxLength: 3 }), (skipEdges, skipTotal, skipInfo, sites) => {
        const query = `query($a: Boolean!, $b: Boolean!, $c: Boolean!) { loans(first: 3) {
          totalCount @skip(if: $b) pageInfo @include(if: $c) { hasNextPage endCursor } edges @skip(if: $a) { node { id } } } }`;
        const g = shapeOf(query);
        const parts = sites.map((rows, s) => {
          const sorted = rows.map((r) => ({ ...r, id: `Q${s}-${String(r.n).padStart(8, '0')}` })).sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : x.id < y.id ? 1 : -1));
          const part: Record<string, unknown> = {
            [CURSORS]: sorted.map((r) => ({ cursor: cursor(r.at, r.id) })),
            [MORE]: { hasNextPage: false },
          };
          if (!skipTotal) part.totalCount = sorted.length;
          if (!skipInfo) part.pageInfo = { hasNextPage: false, endCursor: sorted.length ? cursor(sorted.at(-1)!.at, sorted.at(-1)!.id) : null };
          if (!skipEdges) part.edges = sorted.map((r) => ({ node: { id: r.id } }));
          return part;
        });
        const merged = mergeGathered(parts, g.shape, 3) as Record<string, unknown>;
        expect('edges' in merged).toBe(!skipEdges);
        expect('totalCount' in merged).toBe(!skipTotal);
        expect('pageInfo' in merged).toBe(!skipInfo);
        const all = sites.flat().length;
        if (!skipEdges) expect((merged.edges as unknown[]).length).toBe(Math.min(3, all));
        if (!skipTotal) expect(merged.totalCount).toBe(all);
        if (!skipInfo) expect((merged.pageInfo as { hasNextPage: boolean }).hasNextPage).toBe(all > 3);
      }),
      { numRuns: 200, seed: 1252 },
    );
  });
});

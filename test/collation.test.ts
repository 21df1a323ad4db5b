import fc from 'fast-check';
import { openPostgres, raw, sql } from '../sql';
import { compareText, kWayMerge } from '../gateway/router/merge';

/**
 * The merge order is defined once (`compareText`) and equals
 * the sites' SQL order. Names that mix characters above U+FFFF (Hán-Nôm, CJK
 * Extension B) with ones in U+E000..U+FFFF made JavaScript's `<` disagree with
 * PostgreSQL's "C" collation, and paging readers skipped rows.
 */
const pgIt = process.env.PG_URL ? it : it.skip;

/** Any Unicode text PostgreSQL can store: every code point but NUL and lone surrogates. */
const text = fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => !s.includes('\u0000') && !/\p{Cs}/u.test(s));
const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe('the merge text order', () => {
  it('is code-point order, i.e. UTF-8 byte order, for any Unicode text', () => {
    fc.assert(
      fc.property(text, text, (a, b) => Math.sign(compareText(a, b)) === Math.sign(utf8Order(a, b))),
      { numRuns: 2000, seed: 1252 },
    );
    // The case that skipped rows: U+20024 (astral) sorts after U+E000 by code point, before it by UTF-16 code unit.
    expect(compareText('\u{20024}', '\uE000')).toBeGreaterThan(0);
    expect('\u{20024}' < '\uE000').toBe(true);
  });

  it('a k-way merge of per-site sorted lists is the global sorted list', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(text, fc.integer({ min: 0, max: 2 })), { maxLength: 40 }), (rows) => {
        const sorted = (xs: string[]) => [...xs].sort(compareText);
        const sites = [0, 1, 2].map((s) => sorted(rows.filter(([, site]) => site === s).map(([name]) => name)).map((name) => [name]));
        const merged = kWayMerge(sites, [{ field: 'name', direction: 'ASC' }], Number.POSITIVE_INFINITY).map(([l, i]) => sites[l][i][0]);
        return JSON.stringify(merged) === JSON.stringify(sorted(rows.map(([name]) => name)));
      }),
      { numRuns: 300, seed: 1252 },
    );
  });

  pgIt('equals PostgreSQL ORDER BY ... COLLATE "C" on a real server', async () => {
    const db = openPostgres(process.env.PG_URL!);
    try {
      await fc.assert(
        fc.asyncProperty(fc.uniqueArray(text, { minLength: 2, maxLength: 30 }), async (names) => {
          const values = names.map((n, i) => sql`(${i}, ${n})`);
          const joined = values.slice(1).reduce((acc, v) => sql`${acc}, ${v}`, values[0]);
          const rows = await db.query<{ name: string }>(sql`SELECT name FROM (VALUES ${joined}) AS t(i, name) ORDER BY name ${raw('COLLATE "C"')}`);
          return JSON.stringify(rows.map((r) => r.name)) === JSON.stringify([...names].sort(compareText));
        }),
        { numRuns: 60, seed: 1252 },
      );
    } finally {
      await db.close();
    }
  });
});

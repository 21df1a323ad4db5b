import fc from 'fast-check';
import type { ParticipantClient } from '../../../contracts';
import { planMutation, type PlanningContext } from '../mutations';

/**
 * Keys are taken exactly as given, the way reads take them: a branch id with
 * anything around it names no branch (UNKNOWN_BRANCH) and nothing is asked
 * of any site; only display text (names, titles, addresses) is trimmed.
 */
const SITES = ['Q1', 'Q3', 'Q5'];

function context(): { ctx: PlanningContext; asked: unknown[] } {
  const asked: unknown[] = [];
  const client = { call: async (...call: unknown[]) => void asked.push(call) } as unknown as ParticipantClient;
  const ctx: PlanningContext = { client, siteIds: SITES, birthSite: (id) => SITES.find((s) => id.startsWith(`${s}-`)), now: () => new Date('2026-12-01T00:00:00Z'), maxOpenLoans: 5, loanDays: 14 };
  return { ctx, asked };
}

const padding = fc.constantFrom(' ', '\t', '\n', '\u00a0', '\ufeff', '\u3000', '  ');
const padded = fc.record({ site: fc.constantFrom(...SITES), before: fc.option(padding, { nil: '' }), after: fc.option(padding, { nil: '' }) })
  .filter(({ before, after }) => before + after !== '')
  .map(({ site, before, after }) => `${before}${site}${after}`);

const WITH_BRANCH: [string, (branch: string) => Record<string, unknown>][] = [
  ['addCopy', (b) => ({ isbn: '9786047730247', branchId: b })],
  ['registerReader', (b) => ({ input: { name: 'Nguyễn Văn An', branchId: b } })],
  ['transferCopy', (b) => ({ copyId: 'Q1-QS00001', toBranchId: b })],
  ['moveReader', (b) => ({ readerId: 'Q1-DG0001', toBranchId: b })],
  ['createStaffAccount', (b) => ({ input: { username: 'thuthu_moi', password: 'một mật khẩu dài', role: 'THUTHU', branchId: b } })],
];

const codeOf = (p: Promise<unknown>) => p.then(() => 'planned', (e: { extensions?: { code?: string } }) => e.extensions?.code);

describe('planning a mutation', () => {
  it.each(WITH_BRANCH)('%s refuses a padded branch id with UNKNOWN_BRANCH, asking no site', async (field, args) => {
    await fc.assert(
      fc.asyncProperty(padded, async (branch) => {
        const { ctx, asked } = context();
        expect(await codeOf(planMutation(ctx, field, args(branch)))).toBe('UNKNOWN_BRANCH');
        expect(asked).toEqual([]);
      }),
    );
  });

  it('takes the exact branch id, and trims display text', async () => {
    const { ctx } = context();
    const plan = await planMutation(ctx, 'registerReader', { input: { name: '  Trần Thị Bích  ', branchId: 'Q3' } });
    expect([...plan.ops.entries()]).toEqual([['Q3', [{ kind: 'reader.register', name: 'Trần Thị Bích', branchId: 'Q3' }]]]);
  });
});

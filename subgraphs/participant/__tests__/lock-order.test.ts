import fc from 'fast-check';
import { recordingExecutor } from '../../../sql/__tests__/tsql';
import type { Operation } from '../../../contracts';
import { Participant } from '../participant';

/**
 * Lock rows are inserted in one global order (sorted by resource), whatever order the
 * operations come in: two transactions that lock the same rows then wait for each other
 * at most once at the first shared row, and never hold one each of a pair (a database
 * deadlock on libfed_lock's key).
 */
const ROW = { n: 0, status: 'Có sẵn', isbn: '9786040000017', gid: 'other' };

function lockOrder(texts: string[], values: unknown[][]): string[] {
  return texts.flatMap((t, i) => (/^INSERT INTO libfed_lock/.test(t) ? [String(values[i][0])] : []));
}

describe('participant lock rows', () => {
  it('are inserted sorted by resource, for any order of operations', async () => {
    const ids = fc.uniqueArray(fc.stringMatching(/^Q1-DG\d{4}$/), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(ids, async (readers) => {
        const [db, texts, values] = recordingExecutor(ROW);
        const ops: Operation[] = readers.map((readerId) => ({ kind: 'reader.releaseLoan', readerId }));
        await new Participant({ siteId: 'Q1', db }).prepare('g1', ops, 'Q3', new Date());
        const order = lockOrder(texts, values);
        expect(order).toEqual(readers.map((r) => `DOCGIA:${r}`).sort());
      }),
      { numRuns: 50 },
    );
  });
});

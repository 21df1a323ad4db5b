import type { ParticipantClient } from '../../../contracts';
import { Coordinator } from '../coordinator';
import { LocalWaitForGraph } from '../waitfor';

/**
 * A durable invalidation record is deleted only after the
 * invalidation it records was delivered, row by row. The drain read a page
 * `ORDER BY gid LIMIT 1000` and deleted by gid — losing the rows of the gid
 * that straddled the page — and deleted rows whose invalidation was deferred.
 */
function siteLog(rows: { gid: string; line: string }[]): [ParticipantClient, { action: string; body: any }[]] {
  const log = [...rows].sort((a, b) => (a.gid + a.line < b.gid + b.line ? -1 : 1));
  const calls: { action: string; body: any }[] = [];
  const client: ParticipantClient = {
    call: async (_site, action, body: any) => {
      calls.push({ action, body });
      if (action === 'dirty') return { dirty: log.slice(0, body.limit) } as any;
      if (action === 'clean') {
        for (const r of body.rows) log.splice(log.findIndex((x) => x.gid === r.gid && x.line === r.line), 1);
        return { ok: true } as any;
      }
      throw new Error(`unexpected ${action}`);
    },
  };
  return [client, calls];
}

describe('draining the dirty-line log', () => {
  it('deletes exactly the rows it delivered, page by page, including a gid that straddles a page', async () => {
    // gid "b" has rows on both sides of the page boundary (page size 3).
    const rows = [{ gid: 'a', line: 'Loan:*' }, { gid: 'b', line: 'Copy:1' }, { gid: 'b', line: 'Copy:*' }, { gid: 'b', line: 'Reader:1' }, { gid: 'c', line: 'Book:*' }];
    const [client, calls] = siteLog(rows);
    const delivered: string[][] = [];
    const coordinator = new Coordinator({ client, waitFor: new LocalWaitForGraph() });
    const round = await coordinator.drainDirty(['Q1'], async (lines) => (delivered.push(lines), 'invalidated'), 3);
    expect(round).toEqual({ complete: true, drained: 5 });
    const cleaned = calls.filter((c) => c.action === 'clean').flatMap((c) => c.body.rows);
    expect(cleaned).toEqual([...rows].sort((a, b) => (a.gid + a.line < b.gid + b.line ? -1 : 1)));
    expect(delivered.flat().sort()).toEqual(rows.map((r) => r.line).sort());
  });

  it('deletes nothing whose invalidation was deferred, and says the round was not complete', async () => {
    const [client, calls] = siteLog([{ gid: 'a', line: 'Loan:*' }]);
    const coordinator = new Coordinator({ client, waitFor: new LocalWaitForGraph() });
    expect(await coordinator.drainDirty(['Q1'], async () => 'deferred')).toEqual({ complete: false, drained: 0 });
    expect(calls.filter((c) => c.action === 'clean')).toEqual([]);
  });
});

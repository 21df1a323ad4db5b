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

  it('calls a round whose delete failed complete only if it read the log to its end', async () => {
    const failingClean = (rows: { gid: string; line: string }[]): ParticipantClient => {
      const [inner] = siteLog(rows);
      return { call: async (site, action, body: any) => (action === 'clean' ? Promise.reject(new Error('timeout')) : inner.call(site, action as any, body)) } as ParticipantClient;
    };
    const lines = (n: number) => Array.from({ length: n }, (_, i) => ({ gid: `g${String(i).padStart(3, '0')}`, line: `Copy:${i}` }));
    // A full page (3 of 4 rows read): the fourth was never invalidated, so the fence must not be renewed.
    const full = new Coordinator({ client: failingClean(lines(4)), waitFor: new LocalWaitForGraph() });
    expect(await full.drainDirty(['Q1'], async () => 'invalidated', 3)).toEqual({ complete: false, drained: 0 });
    // A short page is the whole log: every line was delivered, only the delete failed.
    const short = new Coordinator({ client: failingClean(lines(2)), waitFor: new LocalWaitForGraph() });
    expect(await short.drainDirty(['Q1'], async () => 'invalidated', 3)).toEqual({ complete: true, drained: 0 });
  });
});

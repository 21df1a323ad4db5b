import fc from 'fast-check';
import type { ParticipantClient } from '../../../contracts';
import { SiteWatch } from '../watch';

type Reply = { dirty: boolean; overdue: number } | Error;

/** One watch a site has not answered yet: the test answers it. */
interface Pending {
  site: string;
  waitMs: number;
  wakeOnDirty: boolean;
  answer(reply: Reply): void;
}

/** A client whose watches wait until the test answers them: `[client, pending]`. */
function heldWatches(): [ParticipantClient, Pending[]] {
  const pending: Pending[] = [];
  const client = {
    call: (site: string, action: string, body: { waitMs: number; wakeOnDirty: boolean }) => {
      if (action !== 'watch') throw new Error(`unexpected ${action}`);
      return new Promise((resolve, reject) => pending.push({ site, ...body, answer: (r) => (r instanceof Error ? reject(r) : resolve(r as never)) }));
    },
  } as ParticipantClient;
  return [client, pending];
}

/** Lets the loops run: their pauses are 1 ms timers. */
const settle = () => new Promise((r) => setTimeout(r, 5));
/** Answers `site`'s watch, once its loop has sent it (after a failure it pauses first). */
const answer = async (pending: Pending[], site: string, reply: Reply) => {
  for (let tries = 0; !pending.some((p) => p.site === site); tries++) {
    if (tries > 200) throw new Error(`${site} sent no watch`);
    await settle();
  }
  const i = pending.findIndex((p) => p.site === site);
  const [p] = pending.splice(i, 1);
  p.answer(reply);
  await settle();
};
const SITES = ['Q1', 'Q3', 'Q5'];

describe('SiteWatch', () => {
  let watch: SiteWatch | undefined;
  afterEach(() => watch?.stop());

  it('renews the fence only from a round every site has been read to the end after; never from a later one', async () => {
    const step = fc.record({ site: fc.constantFrom(...SITES), dirty: fc.boolean(), drained: fc.boolean(), fails: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 25 }), async (steps) => {
        const [client, pending] = heldWatches();
        // Per fence round (numbered as its watch was sent): the sites read to the end since then.
        const rounds: Set<string>[] = [];
        const confirmed: number[] = [];
        const drained = new Map<string, boolean>();
        const w = new SiteWatch({
          client,
          siteIds: () => SITES,
          waitMs: 1000,
          retryMs: 1,
          recoveryIntervalMs: 1000,
          heard: () => undefined,
          recover: async () => undefined,
          drain: async (site) => drained.get(site)!,
          startFenceRound: () => {
            const n = rounds.push(new Set()) - 1;
            return () => confirmed.push(n);
          },
        });
        watch = w;
        // A complete answer from `site` means it was read to the end after every round started so far.
        const readToEnd = (site: string) => rounds.forEach((r) => r.add(site));
        try {
          w.start();
          await settle();
          for (const s of steps) {
            drained.set(s.site, s.drained);
            if (s.fails) await answer(pending, s.site, new Error('site down'));
            else {
              const complete = !s.dirty || s.drained;
              if (complete) readToEnd(s.site);
              await answer(pending, s.site, { dirty: s.dirty, overdue: 0 });
            }
            for (const n of confirmed) expect([...rounds[n]].sort()).toEqual([...SITES].sort());
          }
        } finally {
          w.stop();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('asks at once first and after a failure, then waits; drains only a log with rows; wakes on dirty lines only with a drain', async () => {
    const [client, pending] = heldWatches();
    const drains: string[] = [];
    watch = new SiteWatch({ client, siteIds: () => ['Q1'], waitMs: 800, retryMs: 1, recoveryIntervalMs: 1000, heard: () => undefined, recover: async () => undefined, drain: async (s) => (drains.push(s), true) });
    watch.start();
    await settle();
    expect(pending.map((p) => [p.waitMs, p.wakeOnDirty])).toEqual([[0, true]]);
    await answer(pending, 'Q1', { dirty: false, overdue: 0 });
    expect(pending.map((p) => p.waitMs)).toEqual([800]);
    expect(drains).toEqual([]);
    await answer(pending, 'Q1', { dirty: true, overdue: 0 });
    expect(drains).toEqual(['Q1']);
    await answer(pending, 'Q1', new Error('refused'));
    expect(pending.map((p) => p.waitMs)).toEqual([0]);
    watch.stop();

    const [plain, asked] = heldWatches();
    watch = new SiteWatch({ client: plain, siteIds: () => ['Q1'], waitMs: 800, retryMs: 1, recoveryIntervalMs: 1000, heard: () => undefined, recover: async () => undefined });
    watch.start();
    await settle();
    expect(asked.map((p) => p.wakeOnDirty)).toEqual([false]);
  });

  it('recovers a site that reports overdue participants, once at a time, without holding up its watch (a stuck PREPARED participant is retried)', async () => {
    const [client, pending] = heldWatches();
    const heard: string[] = [];
    const recovering: (() => void)[] = [];
    watch = new SiteWatch({
      client,
      siteIds: () => ['Q1'],
      waitMs: 1000,
      retryMs: 1,
      recoveryIntervalMs: 0,
      heard: (s) => heard.push(s),
      // The commit point does not answer: this round hangs until the test lets it go.
      recover: () => new Promise<void>((r) => recovering.push(r)),
    });
    watch.start();
    await settle();
    await answer(pending, 'Q1', { dirty: false, overdue: 1 });
    await answer(pending, 'Q1', { dirty: false, overdue: 1 });
    // The watch went on (heartbeats kept coming) while the first round hung; no second round meanwhile.
    expect(heard).toEqual(['Q1', 'Q1']);
    expect(pending).toHaveLength(1);
    expect(recovering).toHaveLength(1);
    recovering[0]();
    await settle();
    // Still overdue at the next answer: recovered again.
    await answer(pending, 'Q1', { dirty: false, overdue: 1 });
    expect(recovering).toHaveLength(2);
    await answer(pending, 'Q1', { dirty: false, overdue: 0 });
    expect(recovering).toHaveLength(2);
  });

  it('stops watching a site that left the list, and forgets its fence round', async () => {
    const [client, pending] = heldWatches();
    let sites = ['Q1', 'Q3'];
    const confirmed: string[] = [];
    let round = 0;
    watch = new SiteWatch({
      client,
      siteIds: () => sites,
      waitMs: 1000,
      retryMs: 1,
      recoveryIntervalMs: 1000,
      heard: () => undefined,
      recover: async () => undefined,
      drain: async () => true,
      startFenceRound: () => {
        const n = ++round;
        return () => confirmed.push(`round ${n}`);
      },
    });
    watch.start();
    await settle();
    await answer(pending, 'Q1', { dirty: false, overdue: 0 });
    expect(confirmed).toEqual([]);
    sites = ['Q1'];
    await answer(pending, 'Q3', { dirty: false, overdue: 0 });
    // Q3's answer came after it left: only Q1 counts, and its next watch renews.
    expect(pending.map((p) => p.site)).toEqual(['Q1']);
    await answer(pending, 'Q1', { dirty: false, overdue: 0 });
    expect(confirmed.length).toBe(1);
  });

  it('recovers a site whose watches keep failing (one that answers everything else), at its own pace', async () => {
    const [client, pending] = heldWatches();
    const recovered: string[] = [];
    watch = new SiteWatch({ client, siteIds: () => ['Q1'], waitMs: 1000, retryMs: 1, recoveryIntervalMs: 0, heard: () => undefined, recover: async (s) => void recovered.push(s) });
    watch.start();
    await answer(pending, 'Q1', new Error('404 no route /tx/watch'));
    await answer(pending, 'Q1', new Error('404 no route /tx/watch'));
    expect(recovered).toEqual([]);
    await answer(pending, 'Q1', new Error('404 no route /tx/watch'));
    expect(recovered).toEqual(['Q1']);
    // A watch that works again ends the blind rounds: nothing overdue, nothing recovered.
    await answer(pending, 'Q1', { dirty: false, overdue: 0 });
    await answer(pending, 'Q1', new Error('reset'));
    expect(recovered).toEqual(['Q1']);
  });

  // Microtask ticks between the removal's answer and the re-add: one of them falls between the loop's return and its finally.
  it.each([0, 1, 2, 3, 4, 5])('watches a site removed and added again while its old loop was ending (%i ticks later)', async (ticks) => {
    const [client, pending] = heldWatches();
    let sites = ['Q1', 'Q3'];
    watch = new SiteWatch({ client, siteIds: () => sites, waitMs: 1000, retryMs: 1, recoveryIntervalMs: 1000, heard: () => undefined, recover: async () => undefined });
    watch.start();
    await settle();
    sites = ['Q1'];
    // Q3's loop sees it gone on this answer; it is back before the loop's end has run.
    const q3 = pending.findIndex((p) => p.site === 'Q3');
    pending.splice(q3, 1)[0].answer({ dirty: false, overdue: 0 });
    for (let i = 0; i < ticks; i++) await Promise.resolve();
    sites = ['Q1', 'Q3'];
    watch.follow('Q3');
    await settle();
    expect(pending.map((p) => p.site).sort()).toEqual(['Q1', 'Q3']);
  });
});

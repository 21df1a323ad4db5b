import fc from 'fast-check';
import { staleness } from '../scenarios/staleness';

/** The staleness count: reads after a write's ack that show the status from before it. */
describe('staleness', () => {
  it('counts stale reads and the time until the first fresh one, capped at the next write of the copy', () => {
    const writes = [
      { copyId: 'A', sentAt: 0, ackAt: 10, status: 'ON_LOAN' },
      { copyId: 'A', sentAt: 100, ackAt: 110, status: 'AVAILABLE' },
    ];
    const reads = [
      { copyId: 'A', sentAt: 5, status: 'AVAILABLE' }, // before the ack: not counted
      { copyId: 'A', sentAt: 20, status: 'AVAILABLE' }, // stale
      { copyId: 'A', sentAt: 30, status: 'ON_LOAN' }, // fresh: 20 ms after the ack
      { copyId: 'A', sentAt: 120, status: 'ON_LOAN' }, // stale, never fresh until the end
      { copyId: 'B', sentAt: 120, status: 'ON_LOAN' }, // another copy
    ];
    expect(staleness(writes, reads, 200)).toEqual({ staleReads: 2, counted: 3, perWriteMs: [20, 90], staleWrites: 2 });
  });

  it('finds nothing stale when every read after an ack shows its status', () => {
    const status = fc.constantFrom('ON_LOAN', 'AVAILABLE');
    fc.assert(
      fc.property(fc.array(fc.record({ copyId: fc.constantFrom('A', 'B'), gap: fc.nat(50), status }), { maxLength: 20 }), fc.array(fc.nat(1000), { maxLength: 50 }), (steps, times) => {
        let t = 0;
        const writes = steps.map((s) => {
          t += s.gap + 1;
          return { copyId: s.copyId, sentAt: t, ackAt: t, status: s.status };
        });
        // Each read answers with the status of the copy's latest write acknowledged before it was sent.
        const reads = times.flatMap((at) =>
          (['A', 'B'] as const).flatMap((copyId) => {
            const last = writes.filter((w) => w.copyId === copyId && w.ackAt <= at).pop();
            return last ? [{ copyId, sentAt: at, status: last.status }] : [];
          }),
        );
        const s = staleness(writes, reads, 2000);
        return s.staleReads === 0 && s.staleWrites === 0 && s.perWriteMs.every((ms) => ms === 0);
      }),
    );
  });
});

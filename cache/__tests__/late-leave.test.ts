import type { CoherenceBus } from '../bus';
import { describeEachBus } from './helpers';

/**
 * A fire-and-forget LEAVE (after an invalidation's ack, or
 * an eviction) that is overtaken by a newer JOIN of the same line — a NOSCRIPT
 * retry sends it a round trip late — must not erase that newer registration:
 * the holder would keep the line with no directory entry and miss every later
 * write. A LEAVE names the registration it leaves.
 */
describeEachBus('a LEAVE that arrives after a newer JOIN of the same line', (makeKind) => {
  it('removes nothing, so the next write still invalidates the holder', async () => {
    const kind = makeKind();
    const [a, b]: CoherenceBus[] = [kind.busFor('A'), kind.busFor('B')];
    const line = 'Reader:Q1-DG0042';
    try {
      for (const bus of [a, b]) if ('waitUntilUp' in bus) expect(await (bus as { waitUntilUp(ms: number): Promise<boolean> }).waitUntilUp(3000)).toBe(true);
      await a.apply({ kind: 'register', instanceId: 'A', token: 'ta', leaseMs: 10_000 });
      await b.apply({ kind: 'register', instanceId: 'B', token: 'tb', leaseMs: 10_000 });
      const first = await a.apply({ kind: 'join', instanceId: 'A', token: 'ta', line });
      if (first.kind !== 'joined') throw new Error('A was expelled');
      const written = await b.apply({ kind: 'write', instanceId: 'B', token: 'tb', lines: [line] });
      if (written.kind !== 'written') throw new Error('B was expelled');
      const mark = written.lines[0].targets.find((t) => t.instanceId === 'A')!;
      expect(mark.serial).toBe(first.serial);
      // A dropped the line and acked; its LEAVE of that registration is delayed. Meanwhile A reads the line again.
      const second = await a.apply({ kind: 'join', instanceId: 'A', token: 'ta', line });
      if (second.kind !== 'joined') throw new Error('A was expelled');
      expect(second.serial).not.toBe(first.serial);
      await a.apply({ kind: 'leave', instanceId: 'A', token: 'ta', lines: [{ line, serial: mark.serial }] });
      const again = await b.apply({ kind: 'write', instanceId: 'B', token: 'tb', lines: [line] });
      if (again.kind !== 'written') throw new Error('B was expelled');
      expect(again.lines[0].targets.map((t) => [t.instanceId, t.serial])).toEqual([['A', second.serial]]);
      // The LEAVE of the current registration does remove it.
      await a.apply({ kind: 'leave', instanceId: 'A', token: 'ta', lines: [{ line, serial: second.serial }] });
      const last = await b.apply({ kind: 'write', instanceId: 'B', token: 'tb', lines: [line] });
      expect(last.kind === 'written' && last.lines[0].targets).toEqual([]);
    } finally {
      await kind.cleanup();
    }
  });
});

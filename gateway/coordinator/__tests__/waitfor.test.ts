import { randomBytes } from 'node:crypto';
import { findVictim, LocalWaitForGraph, type TxInfo, type WaitForGraph } from '../waitfor';
import { RedisWaitForGraph } from '../redis-waitfor';

const tx = (gid: string, startedAt: number, prepared = false): TxInfo => ({ gid, startedAt, prepared });

describe('findVictim', () => {
  const info = new Map([tx('a', 1), tx('b', 2), tx('c', 3)].map((t) => [t.gid, t]));

  it('finds no victim without a cycle through the start', () => {
    expect(findVictim('a', new Map([['a', 'b'], ['b', 'c']]), info)).toBeUndefined();
    expect(findVictim('a', new Map([['a', 'b'], ['b', 'c'], ['c', 'b']]), info)).toBeUndefined();
  });

  it('picks the youngest transaction of the cycle', () => {
    expect(findVictim('a', new Map([['a', 'b'], ['b', 'c'], ['c', 'a']]), info)).toBe('c');
    expect(findVictim('b', new Map([['a', 'b'], ['b', 'a']]), info)).toBe('b');
  });

  it('never picks a prepared transaction', () => {
    const withPrepared = new Map(info);
    withPrepared.set('c', tx('c', 3, true));
    expect(findVictim('a', new Map([['a', 'b'], ['b', 'c'], ['c', 'a']]), withPrepared)).toBe('b');
  });
});

const graphs: [string, () => [WaitForGraph, WaitForGraph, () => Promise<void>]][] = [
  ['in memory', () => {
    const g = new LocalWaitForGraph();
    return [g, g, async () => {}];
  }],
];
if (process.env.REDIS_URL) {
  graphs.push(['shared through Redis by two gateways', () => {
    const keyPrefix = `libfed-test-${randomBytes(4).toString('hex')}:`;
    const a = new RedisWaitForGraph({ url: process.env.REDIS_URL!, keyPrefix });
    const b = new RedisWaitForGraph({ url: process.env.REDIS_URL!, keyPrefix });
    return [a, b, async () => {
      await a.forget('t1');
      await a.forget('t2');
      await a.stop();
      await b.stop();
    }];
  }]);
}

describe.each(graphs)('wait-for graph %s', (_, make) => {
  it('reports the cycle two coordinators close, naming the younger as victim', async () => {
    const [a, b, done] = make();
    try {
      const t1 = tx('t1', 100);
      const t2 = tx('t2', 200);
      expect(await a.wait(t1, 't2')).toBeUndefined();
      expect(await b.wait(t2, 't1')).toBe('t2');
      expect(await a.wait(t1, 't2')).toBe('t2');
      expect((await a.edges()).sort((x, y) => x.waiter.localeCompare(y.waiter))).toEqual([
        { waiter: 't1', holder: 't2' },
        { waiter: 't2', holder: 't1' },
      ]);
      await b.forget('t2');
      expect(await a.wait(t1, 't2')).toBeUndefined();
    } finally {
      await done();
    }
  });
});

(process.env.REDIS_URL ? describe : describe.skip)('wait-for graph through Redis, gateways with different clocks', () => {
  afterEach(() => jest.useRealTimers());

  it('finds the cycle although the second gateway\'s clock runs a minute ahead of the first', async () => {
    const keyPrefix = `libfed-test-${randomBytes(4).toString('hex')}:`;
    const a = new RedisWaitForGraph({ url: process.env.REDIS_URL!, keyPrefix });
    const b = new RedisWaitForGraph({ url: process.env.REDIS_URL!, keyPrefix });
    // Only Date is faked: the connection's timers keep running.
    const timers = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'nextTick', 'queueMicrotask', 'hrtime', 'performance'] as const;
    try {
      jest.useFakeTimers({ now: Date.now(), doNotFake: [...timers] });
      expect(await a.wait(tx('t1', 100), 't2')).toBeUndefined();
      jest.setSystemTime(Date.now() + 60_000); // "gateway B"
      expect(await b.wait(tx('t2', 200), 't1')).toBe('t2');
    } finally {
      jest.useRealTimers();
      await a.forget('t1');
      await a.forget('t2');
      await a.stop();
      await b.stop();
    }
  });
});

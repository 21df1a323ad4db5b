import { Redis } from 'ioredis';
import fc from 'fast-check';
import { RedisCoherenceBus } from '../redis-bus';
import { deleteKeys, keysUnder, REDIS_URL } from './helpers';
import { randomUUID } from 'node:crypto';

/**
 * Redis hygiene (docs/ARCHITECTURE.md §5): lines nobody live holds are deleted by
 * a sweep, and the last gateway out leaves no key; a live holder's registration
 * is never swept, whatever else happened to the line.
 */
(REDIS_URL ? describe : describe.skip)('directory sweep', () => {
  const url = REDIS_URL ?? '';
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(url);
  });
  afterAll(() => admin.disconnect());

  const keys = (prefix: string) => keysUnder(admin, prefix);

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('removes a crashed holder\'s lines, keeps a live holder\'s, and leaves nothing once the last one revokes', async () => {
    const prefix = `libfed-test:${randomUUID()}:`;
    const options = { url, keyPrefix: prefix, sweepIntervalMs: 0 };
    const crashed = new RedisCoherenceBus({ ...options, connectionName: `${prefix}crashed` });
    const live = new RedisCoherenceBus({ ...options, connectionName: `${prefix}live` });
    try {
      await Promise.all([crashed.waitUntilUp(2000), live.waitUntilUp(2000)]);
      await crashed.apply({ kind: 'register', instanceId: 'A', token: 'ta', leaseMs: 150 });
      await live.apply({ kind: 'register', instanceId: 'B', token: 'tb', leaseMs: 60_000 });
      for (const line of ['Copy:1', 'Copy:2']) await crashed.apply({ kind: 'join', instanceId: 'A', token: 'ta', line });
      await live.apply({ kind: 'join', instanceId: 'B', token: 'tb', line: 'Copy:2' });
      await live.apply({ kind: 'write', instanceId: 'B', token: 'tb', lines: ['Reader:9'] });
      await sleep(250); // A's lease ends: it crashed without revoking

      expect(await live.sweep()).toBe(1);
      expect(await keys(`${prefix}dir:`)).toEqual([`${prefix}dir:Copy:2`, `${prefix}dir:Reader:9`]);
      expect(Object.keys(await admin.hgetall(`${prefix}dir:Copy:2`)).filter((f) => f.startsWith('h:'))).toEqual(['h:B']);

      await live.apply({ kind: 'revoke', instanceId: 'B', token: 'tb' });
      expect(await live.sweep()).toBe(2);
      expect(await keys(prefix)).toEqual([]);
    } finally {
      await Promise.all([crashed.stop(), live.stop()]);
      await deleteKeys(url, prefix);
    }
  });

  it('never sweeps a registration whose membership is live (generated histories)', async () => {
    const ops = fc.array(
      fc.record({ who: fc.constantFrom('A', 'B', 'C'), what: fc.constantFrom('join', 'write', 'leave', 'revoke', 'sweep'), line: fc.constantFrom('L:1', 'L:2', 'L:3') }),
      { minLength: 1, maxLength: 25 },
    );
    await fc.assert(
      fc.asyncProperty(ops, async (history) => {
        const prefix = `libfed-test:${randomUUID()}:`;
        const bus = new RedisCoherenceBus({ url, keyPrefix: prefix, sweepIntervalMs: 0 });
        try {
          await bus.waitUntilUp(2000);
          const token = new Map<string, string>();
          const held = new Map<string, number>(); // who|line -> serial
          const register = async (who: string) => {
            const t = randomUUID();
            token.set(who, t);
            await bus.apply({ kind: 'register', instanceId: who, token: t, leaseMs: 60_000 });
          };
          for (const who of ['A', 'B', 'C']) await register(who);
          for (const { who, what, line } of history) {
            const t = token.get(who)!;
            if (what === 'join') {
              const reply = await bus.apply({ kind: 'join', instanceId: who, token: t, line });
              if (reply.kind === 'joined') held.set(`${who}|${line}`, reply.serial);
            } else if (what === 'write') {
              const reply = await bus.apply({ kind: 'write', instanceId: who, token: t, lines: [line] });
              if (reply.kind === 'written') {
                for (const key of [...held.keys()]) if (key.endsWith(`|${line}`)) held.delete(key);
                held.set(`${who}|${line}`, reply.lines[0].serial);
              }
            } else if (what === 'leave') {
              const serial = held.get(`${who}|${line}`);
              if (serial !== undefined) await bus.apply({ kind: 'leave', instanceId: who, token: t, lines: [{ line, serial }] });
              held.delete(`${who}|${line}`);
            } else if (what === 'revoke') {
              await bus.apply({ kind: 'revoke', instanceId: who, token: t });
              for (const key of [...held.keys()]) if (key.startsWith(`${who}|`)) held.delete(key);
              await register(who);
            } else {
              await bus.sweep();
            }
          }
          await bus.sweep();
          // Every registration a live member still holds (not yet invalidated by another's write) is in the directory.
          for (const [key, serial] of held) {
            const [who, line] = key.split('|');
            const value = await admin.hget(`${prefix}dir:${line}`, `h:${who}`);
            expect(value).not.toBeNull();
            expect(value!.endsWith(`:${token.get(who)}:${serial}`)).toBe(true);
          }
        } finally {
          await bus.stop();
          await deleteKeys(url, prefix);
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { BusEvent, BusListener, BusMessage, CoherenceBus, DirectoryOp } from '../bus';
import type { Clock } from '../clock';
import { CoherentCache, type CoherentCacheOptions } from '../coherent-cache';
import { LocalCoherenceBus } from '../local-bus';
import { RedisCoherenceBus, type RedisCoherenceBusOptions } from '../redis-bus';

/** Redis tests run only when REDIS_URL is set (CI and this machine: redis://127.0.0.1:6379). */
export const REDIS_URL = process.env.REDIS_URL;

/** A clock that moves only when told: ack timeouts and leases without sleeping. */
export function manualClock(start = 0) {
  let now = start;
  const sleepers: { until: number; wake: () => void }[] = [];
  const clock: Clock & { advance(ms: number): Promise<void> } = {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const sleeper = { until: now + ms, wake: resolve };
        sleepers.push(sleeper);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      }),
    /** Moves time forward in steps, waking each sleeper at its deadline and letting its work run. */
    async advance(ms: number) {
      const target = now + ms;
      for (;;) {
        await settle();
        const next = sleepers.filter((s) => s.until <= target).sort((a, b) => a.until - b.until)[0];
        if (!next) break;
        now = Math.max(now, next.until);
        sleepers.splice(sleepers.indexOf(next), 1);
        next.wake();
      }
      now = target;
      await settle();
    },
  };
  return clock;
}

/** Lets every pending message delivery and promise continuation run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

export type BusCall = { method: 'apply'; op: DirectoryOp } | { method: 'send'; to: string; message: BusMessage };

/** Records every directory transition and message a cache makes. Returns [bus, calls]. */
export function spyBus(inner: CoherenceBus): [CoherenceBus, BusCall[]] {
  const calls: BusCall[] = [];
  const bus: CoherenceBus = {
    apply: (op) => {
      calls.push({ method: 'apply', op: op as DirectoryOp });
      return inner.apply(op);
    },
    send: (to, message) => {
      calls.push({ method: 'send', to, message });
      return inner.send(to, message);
    },
    listen: (id, listener) => inner.listen(id, listener),
    stop: () => inner.stop(),
  };
  return [bus, calls];
}

/** A bus whose instance never receives the messages `lose` picks (a holder that missed them). */
export function losingBus(inner: CoherenceBus, lose: (message: BusMessage) => boolean): CoherenceBus {
  const filter = (listener: BusListener) => (event: BusEvent) => {
    if (event.type === 'message' && lose(event.message)) return;
    listener(event);
  };
  return { ...delegate(inner), listen: (id, listener) => inner.listen(id, filter(listener)) };
}

function delegate(inner: CoherenceBus): CoherenceBus {
  return {
    apply: (op) => inner.apply(op),
    send: (to, message) => inner.send(to, message),
    listen: (id, listener) => inner.listen(id, listener),
    stop: () => inner.stop(),
  };
}

/** Polls until `check` stops throwing, for effects that arrive as messages (downgrades, reconnection). */
export async function eventually(check: () => void, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** How tests get a bus per gateway instance: one shared in-process bus, or one Redis connection pair each. */
export interface BusKind {
  name: 'local' | 'redis';
  /** The bus instance `id` uses. */
  busFor(id: string): CoherenceBus;
  /** Stops the buses and removes every key the test made. */
  cleanup(): Promise<void>;
}

export function localBuses(clock?: Clock): BusKind {
  const bus = new LocalCoherenceBus({ clock });
  return { name: 'local', busFor: () => bus, cleanup: () => bus.stop() };
}

/** Each instance gets its own connections, as separate gateway processes would; keys under a unique prefix. */
export function redisBuses(url: string, options: Partial<RedisCoherenceBusOptions> = {}): BusKind & { prefix: string } {
  const prefix = `libfed-test:${randomUUID()}:`;
  const buses: RedisCoherenceBus[] = [];
  return {
    name: 'redis',
    prefix,
    busFor: (id) => {
      const bus = new RedisCoherenceBus({ url, keyPrefix: prefix, connectionName: `${prefix}${id}`, ...options });
      buses.push(bus);
      return bus;
    },
    cleanup: async () => {
      await Promise.all(buses.map((bus) => bus.stop()));
      await deleteKeys(url, prefix);
    },
  };
}

/** Every key under `prefix`, sorted (SCAN, so a large database is not blocked). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    const keys = await keysUnder(redis, prefix);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/**
 * Declares a suite twice: over the in-process bus, and over Redis — skipped
 * (and counted as skipped) when REDIS_URL is unset.
 */
export function describeEachBus(title: string, body: (makeKind: () => BusKind) => void): void {
  describe(`${title} over the local bus`, () => body(() => localBuses()));
  (REDIS_URL ? describe : describe.skip)(`${title} over the redis bus`, () => body(() => redisBuses(REDIS_URL ?? '')));
}

export type CacheOverrides = Partial<Omit<CoherentCacheOptions, 'instanceId' | 'bus' | 'registry'>>;

const registries = new WeakMap<CoherentCache, Registry>();

/** The registry `startCaches` gave a cache. */
export function registryOf(cache: CoherentCache): Registry {
  const registry = registries.get(cache);
  if (!registry) throw new Error('cache not made by startCaches');
  return registry;
}

/** Starts one cache per id over `kind`, each with its own registry, and waits until all are coherent. */
export async function startCaches(kind: BusKind, ids: string[], overrides: CacheOverrides = {}, wrap = (_id: string, bus: CoherenceBus) => bus) {
  const caches = ids.map((id) => {
    const registry = new Registry();
    const cache = new CoherentCache({ instanceId: id, bus: wrap(id, kind.busFor(id)), registry, ackTimeoutMs: 1000, ...overrides });
    registries.set(cache, registry);
    return cache;
  });
  await Promise.all(caches.map((cache) => cache.start()));
  await eventually(() => caches.forEach((cache) => expect(cache.phase).toBe('coherent')));
  return caches;
}

/** A counter's value in a cache's registry, 0 when never incremented. */
export async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([key, value]) => v.labels[key] === value));
  return match?.value ?? 0;
}

/** A promise with its resolver, to hold a fill while the test makes a write happen. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

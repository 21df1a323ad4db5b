import Redis from 'ioredis';
import { findVictim, type TxInfo, type WaitForGraph } from './waitfor';

export interface RedisWaitForGraphOptions {
  url: string;
  /** Every key lives under this prefix, so gateways of one chain share a graph and tests can isolate theirs. */
  keyPrefix: string;
  /** An edge not refreshed for this long belongs to a gateway that stopped: it is ignored and removed. */
  staleMs?: number;
  /** Redis CLIENT name of the connection, so an operator (or the chaos run) can find it. */
  connectionName?: string;
  /** A command not answered by then fails; the coordinator then relies on its lock-wait bound. */
  commandTimeoutMs?: number;
}

/**
 * The wait-for graph shared by every gateway through Redis (docs/ARCHITECTURE.md §4), so a
 * deadlock between transactions of two gateways is found. Each waiter refreshes
 * its edge on every BUSY retry and re-runs the cycle check over the whole graph,
 * so a cycle closed by another gateway is seen on the next retry.
 */
export class RedisWaitForGraph implements WaitForGraph {
  private readonly redis: Redis;
  private readonly edgesKey: string;
  private readonly infoKey: string;
  private readonly staleMs: number;

  constructor(o: RedisWaitForGraphOptions) {
    this.redis = new Redis(o.url, { lazyConnect: false, maxRetriesPerRequest: 2, connectionName: o.connectionName, commandTimeout: o.commandTimeoutMs ?? 500 });
    // An unreachable Redis must not crash the gateway: calls fail and the coordinator falls back to its lock-wait bound.
    this.redis.on('error', () => {});
    this.edgesKey = `${o.keyPrefix}waitfor:edges`;
    this.infoKey = `${o.keyPrefix}waitfor:info`;
    this.staleMs = o.staleMs ?? 30_000;
  }

  /**
   * Edge ages are measured on Redis's clock, the one clock every gateway
   * shares: gateways whose own clocks differ by more than `staleMs` would
   * otherwise delete each other's live edges as stale.
   */
  private async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  async wait(waiter: TxInfo, holder: string): Promise<string | undefined> {
    const now = await this.now();
    await this.redis.multi().hset(this.edgesKey, waiter.gid, holder).hset(this.infoKey, waiter.gid, JSON.stringify({ ...waiter, seenAt: now })).exec();
    const [edges, info] = await Promise.all([this.redis.hgetall(this.edgesKey), this.redis.hgetall(this.infoKey)]);
    const live = new Map<string, TxInfo>();
    const stale: string[] = [];
    for (const [gid, json] of Object.entries(info)) {
      const t = JSON.parse(json) as TxInfo & { seenAt: number };
      if (now - t.seenAt > this.staleMs) stale.push(gid);
      else live.set(gid, t);
    }
    if (stale.length) await this.redis.multi().hdel(this.edgesKey, ...stale).hdel(this.infoKey, ...stale).exec();
    const graph = new Map(Object.entries(edges).filter(([gid]) => live.has(gid)));
    return findVictim(waiter.gid, graph, live);
  }

  async update(tx: TxInfo): Promise<void> {
    if (await this.redis.hexists(this.infoKey, tx.gid)) {
      await this.redis.hset(this.infoKey, tx.gid, JSON.stringify({ ...tx, seenAt: await this.now() }));
    }
  }

  async forget(gid: string): Promise<void> {
    await this.redis.multi().hdel(this.edgesKey, gid).hdel(this.infoKey, gid).exec();
  }

  async edges(): Promise<{ waiter: string; holder: string }[]> {
    return Object.entries(await this.redis.hgetall(this.edgesKey)).map(([waiter, holder]) => ({ waiter, holder }));
  }

  async stop(): Promise<void> {
    this.redis.disconnect();
  }
}

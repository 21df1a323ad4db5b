import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { BusListener, BusMessage, CoherenceBus, DirectoryOp, DirectoryOpOf, DirectoryReplies, WrittenLine } from './bus';
import { FORGET, JOIN, LEAVE, REGISTER, RENEW, REVOKE, SWEEP, WRITE } from './redis-scripts';

const SCRIPTS = [FORGET, JOIN, LEAVE, REGISTER, RENEW, REVOKE, SWEEP, WRITE];

export interface RedisCoherenceBusOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Every key and channel starts with it (e.g. `libfed:cache:`), so deployments and tests never share a directory. */
  keyPrefix: string;
  /** A command not answered in this time fails, and the cache bypasses rather than wait. Default 1000. */
  commandTimeoutMs?: number;
  /** Redis CLIENT name of the two connections, suffixed `:commands` / `:subscriber`. Default: the key prefix. */
  connectionName?: string;
  /** Wait before each reconnection attempt. Default 200. */
  reconnectDelayMs?: number;
  /** Connection errors, for the gateway's log; the cache learns of them as connection events. */
  onError?: (error: Error) => void;
  /** How often the directory is swept of lines nobody holds (a crashed gateway's). Default 60000; 0 turns it off. */
  sweepIntervalMs?: number;
}

type AnyReply = DirectoryReplies[DirectoryOp['kind']];

/**
 * The directory in Redis hashes, changed only by the Lua scripts of
 * `redis-scripts.ts` (one atomic transition each), and an inbox channel per
 * instance for invalidations, acks and downgrades. Two connections: commands,
 * and a subscriber (a subscribed connection cannot run commands).
 *
 * The connections are set to fail rather than wait or retry (see `connectionOptions`):
 * a cache that cannot reach the directory must bypass, not serve from an L1 that
 * may have missed invalidations.
 */
export class RedisCoherenceBus implements CoherenceBus {
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly listeners = new Map<string, BusListener>();
  private readonly shas = new Map<string, string>();
  private readonly prefix: string;
  private readonly onError: (error: Error) => void;
  private subscribed = false;
  private scriptsLoaded = false;
  private up = false;
  private stopping?: Promise<void>;
  private readonly sweeper?: NodeJS.Timeout;

  constructor(options: RedisCoherenceBusOptions) {
    if (!options.keyPrefix) throw new Error('RedisCoherenceBus needs a keyPrefix (e.g. "libfed:cache:"), got ""');
    this.prefix = options.keyPrefix;
    this.onError = options.onError ?? (() => undefined);
    this.commands = new Redis(options.url, this.connectionOptions(options, 'commands'));
    this.subscriber = new Redis(options.url, this.connectionOptions(options, 'subscriber'));
    // Scripts are loaded before the bus reports up, after every (re)connection: a NOSCRIPT
    // retry would send that one command a round trip late, behind later ones.
    this.commands.on('ready', () => void this.loadScripts());
    this.subscriber.on('ready', () => void this.resubscribe());
    this.subscriber.on('message', (channel: string, text: string) => this.route(channel, text));
    for (const connection of [this.commands, this.subscriber]) {
      connection.on('close', () => this.reportDown(connection));
      connection.on('error', (error: Error) => this.onError(error));
    }
    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (sweepIntervalMs > 0) this.sweeper = setInterval(() => void this.sweep().catch(this.onError), sweepIntervalMs).unref();
  }

  /** Resolves once both connections are ready and the inboxes subscribed, or after `timeoutMs` with false. */
  async waitUntilUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.up && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return this.up;
  }

  apply<K extends DirectoryOp['kind']>(op: DirectoryOpOf<K>): Promise<DirectoryReplies[K]> {
    return this.transition(op as DirectoryOp) as Promise<DirectoryReplies[K]>;
  }

  async send(to: string, message: BusMessage): Promise<boolean> {
    const receivers = await this.commands.publish(this.inbox(to), JSON.stringify(message));
    return receivers > 0;
  }

  async listen(instanceId: string, listener: BusListener): Promise<() => Promise<void>> {
    if (this.listeners.has(instanceId)) throw new Error(`instance "${instanceId}" already listens on this bus`);
    this.listeners.set(instanceId, listener);
    // Not ready: `resubscribe` includes this inbox when the subscriber becomes ready.
    if (this.subscriber.status !== 'ready') return this.unlistener(instanceId, listener);
    await this.subscriber.subscribe(this.inbox(instanceId));
    if (this.up) listener({ type: 'connection', up: true });
    return this.unlistener(instanceId, listener);
  }

  /**
   * Deletes the lines that no live membership holds and, when no gateway is
   * registered any more, the serial counter: a directory nobody holds leaves
   * no key behind. Lines are found by SCAN and swept in batches, each batch one
   * atomic script (SWEEP re-checks every holder, so a JOIN between the SCAN
   * and the script is kept). Returns the number of lines deleted.
   */
  async sweep(): Promise<number> {
    if (this.commands.status !== 'ready') return 0;
    let swept = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.commands.scan(cursor, 'MATCH', `${this.prefix}dir:*`, 'COUNT', 200);
      if (keys.length > 0) swept += Number(await this.run(SWEEP, keys, [this.prefix]));
      cursor = next;
    } while (cursor !== '0');
    await this.run(FORGET, [], [this.prefix]);
    return swept;
  }

  /** Sweeps once (after the cache revoked its membership, so its own lines go too), then disconnects. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.sweeper) clearInterval(this.sweeper);
      await this.sweep().catch(this.onError);
      this.listeners.clear();
      // disconnect, not quit: quit waits for a reply that a cut connection never sends.
      this.commands.disconnect();
      this.subscriber.disconnect();
    })();
    return this.stopping;
  }

  private connectionOptions(options: RedisCoherenceBusOptions, role: string): RedisOptions {
    return {
      connectionName: `${options.connectionName ?? this.prefix}:${role}`,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      retryStrategy: () => options.reconnectDelayMs ?? 200,
      // Fail at once while disconnected: the cache bypasses instead of queueing behind an outage.
      enableOfflineQueue: false,
      // A command in flight when the connection drops fails, and is never re-sent after
      // reconnecting — leave both intact: the cache has given up on it by then (and
      // replays it itself), so a resent transition would change the directory behind its back.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Inboxes are resubscribed by `resubscribe`, which reports 'up' only after it.
      autoResubscribe: false,
    };
  }

  private unlistener(instanceId: string, listener: BusListener): () => Promise<void> {
    return async () => {
      if (this.listeners.get(instanceId) !== listener) return;
      this.listeners.delete(instanceId);
      if (this.subscriber.status === 'ready') await this.subscriber.unsubscribe(this.inbox(instanceId)).catch(() => undefined);
    };
  }

  private inbox(instanceId: string): string {
    return `${this.prefix}inbox:${instanceId}`;
  }

  private dir(line: string): string {
    return `${this.prefix}dir:${line}`;
  }

  private async resubscribe(): Promise<void> {
    try {
      const channels = [...this.listeners.keys()].map((id) => this.inbox(id));
      if (channels.length > 0) await this.subscriber.subscribe(...channels);
      this.subscribed = true;
      this.reportIfUp();
    } catch (error) {
      this.onError(error as Error);
    }
  }

  private async loadScripts(): Promise<void> {
    try {
      for (const script of SCRIPTS) this.shas.set(script, String(await this.commands.script('LOAD', script)));
      this.scriptsLoaded = true;
      this.reportIfUp();
    } catch (error) {
      this.onError(error as Error);
      // Still connected: try again shortly (a closed connection loads them on its next 'ready').
      if (this.commands.status === 'ready' && !this.stopping) setTimeout(() => void this.loadScripts(), 200).unref();
    }
  }

  private reportIfUp(): void {
    if (this.up || !this.subscribed || !this.scriptsLoaded || this.commands.status !== 'ready' || this.stopping) return;
    this.up = true;
    for (const listener of this.listeners.values()) listener({ type: 'connection', up: true });
  }

  /** Either connection closing means messages may have been missed (pub/sub keeps nothing for the absent). */
  private reportDown(connection: Redis): void {
    if (connection === this.subscriber) this.subscribed = false;
    else this.scriptsLoaded = false;
    if (!this.up) return;
    this.up = false;
    for (const listener of this.listeners.values()) listener({ type: 'connection', up: false });
  }

  private route(channel: string, text: string): void {
    const listener = this.listeners.get(channel.slice(this.inbox('').length));
    if (!listener) return;
    try {
      listener({ type: 'message', message: JSON.parse(text) as BusMessage });
    } catch (error) {
      this.onError(error as Error);
    }
  }

  private async transition(op: DirectoryOp): Promise<AnyReply> {
    const args = [this.prefix, op.instanceId, op.token];
    switch (op.kind) {
      case 'register':
        await this.run(REGISTER, [], [...args, op.leaseMs]);
        return { kind: 'registered' };
      case 'renew':
        return (await this.run(RENEW, [], [...args, op.leaseMs])) === 'renewed' ? { kind: 'renewed' } : { kind: 'expelled' };
      case 'join':
        return parseJoined(await this.run(JOIN, [this.dir(op.line)], args));
      case 'write':
        return parseWritten(op.lines, await this.run(WRITE, op.lines.map((line) => this.dir(line)), args));
      case 'leave':
        if (op.lines.length > 0) await this.run(LEAVE, op.lines.map(({ line }) => this.dir(line)), [...args, ...op.lines.map(({ serial }) => serial)]);
        return { kind: 'left' };
      case 'revoke':
        return { kind: 'revoked', leaseLeftMs: Number(await this.run(REVOKE, [], [...args, op.fence ? '1' : '0'])) };
    }
  }

  /** EVALSHA, loading the script on its first use after a Redis restart (NOSCRIPT). */
  private async run(script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    let sha = this.shas.get(script);
    if (!sha) {
      sha = createHash('sha1').update(script).digest('hex');
      this.shas.set(script, sha);
    }
    try {
      return await this.commands.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return this.commands.eval(script, keys.length, ...keys, ...args);
    }
  }
}

function parseJoined(reply: unknown): DirectoryReplies['join'] {
  const r = reply as (string | number)[];
  if (r[0] === 'expelled') return { kind: 'expelled' };
  const downgraded: { instanceId: string; from: 'E' | 'M' }[] = [];
  for (let i = 4; i < r.length; i += 2) downgraded.push({ instanceId: String(r[i]), from: r[i + 1] as 'E' | 'M' });
  return { kind: 'joined', state: r[1] as 'M' | 'E' | 'S', epoch: Number(r[2]), serial: Number(r[3]), downgraded };
}

function parseWritten(lines: readonly string[], reply: unknown): DirectoryReplies['write'] {
  const r = reply as (string | number)[];
  if (r[0] === 'expelled') return { kind: 'expelled' };
  const written: WrittenLine[] = [];
  const fenceLeftMs = Number(r[1]);
  let at = 2;
  for (const line of lines) {
    const epoch = Number(r[at]);
    const serial = Number(r[at + 1]);
    const count = Number(r[at + 2]);
    const targets: WrittenLine['targets'] = [];
    for (let i = 0; i < count; i += 1) {
      targets.push({ instanceId: String(r[at + 3 + 3 * i]), token: String(r[at + 4 + 3 * i]), serial: Number(r[at + 5 + 3 * i]) });
    }
    written.push({ line, epoch, serial, targets });
    at += 3 + 3 * count;
  }
  return { kind: 'written', lines: written, fenceLeftMs };
}

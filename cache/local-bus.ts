import type {
  BusEvent,
  BusListener,
  BusMessage,
  CoherenceBus,
  DirectoryOp,
  DirectoryOpOf,
  DirectoryReplies,
  Expelled,
  Joined,
  MesiState,
  WrittenLine,
} from './bus';
import { systemClock, type Clock } from './clock';

export interface LocalCoherenceBusOptions {
  /** Lease expiry is measured on this clock. Default: the system clock. */
  clock?: Clock;
  /**
   * Runs one message delivery. Default: a later macrotask, so a message arrives
   * after the sender's current step, as over a network, and in send order.
   * Tests pass a scheduler here to reorder deliveries against other steps.
   */
  deliver?: (task: () => void) => void;
}

interface LineDirectory {
  epoch: number;
  holders: Map<string, { state: MesiState; token: string; serial: number }>;
}

type AnyReply = DirectoryReplies[DirectoryOp['kind']];

const EXPELLED: Expelled = { kind: 'expelled' };

/**
 * The directory and bus in one process: for a single gateway without
 * `REDIS_URL`, and for unit tests. Same transitions as the Lua scripts of
 * `RedisCoherenceBus`; each runs synchronously when `apply` is called, which is
 * what makes it atomic here. Its connection is never lost.
 */
export class LocalCoherenceBus implements CoherenceBus {
  private readonly lines = new Map<string, LineDirectory>();
  private readonly members = new Map<string, { token: string; expiresAt: number }>();
  /** Revoked memberships whose lease still runs: `instance:token` → when it ends. */
  private readonly fences = new Map<string, number>();
  /** Registration numbers, unique over every line (a line's entry can be forgotten and made again). */
  private serial = 0;
  private readonly listeners = new Map<string, BusListener>();
  private readonly clock: Clock;
  private readonly deliver: (task: () => void) => void;
  private stopped = false;

  constructor(options: LocalCoherenceBusOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.deliver = options.deliver ?? ((task) => void setImmediate(task));
  }

  apply<K extends DirectoryOp['kind']>(op: DirectoryOpOf<K>): Promise<DirectoryReplies[K]> {
    if (this.stopped) return Promise.reject(new Error(`LocalCoherenceBus is stopped; cannot apply ${op.kind}`));
    return Promise.resolve(this.transition(op as DirectoryOp) as DirectoryReplies[K]);
  }

  async send(to: string, message: BusMessage): Promise<boolean> {
    if (this.stopped || !this.listeners.has(to)) return false;
    // A copy, as over the wire: the receiver never shares objects with the sender.
    const event: BusEvent = { type: 'message', message: JSON.parse(JSON.stringify(message)) as BusMessage };
    this.deliver(() => this.listeners.get(to)?.(event));
    return true;
  }

  async listen(instanceId: string, listener: BusListener): Promise<() => Promise<void>> {
    if (this.listeners.has(instanceId)) throw new Error(`instance "${instanceId}" already listens on this bus`);
    this.listeners.set(instanceId, listener);
    // In one process the bus is always reachable: up from the start, never down.
    listener({ type: 'connection', up: true });
    return async () => {
      if (this.listeners.get(instanceId) === listener) this.listeners.delete(instanceId);
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listeners.clear();
  }

  private transition(op: DirectoryOp): AnyReply {
    switch (op.kind) {
      case 'register':
        this.members.set(op.instanceId, { token: op.token, expiresAt: this.clock.now() + op.leaseMs });
        return { kind: 'registered' };
      case 'renew':
        return this.renew(op);
      case 'join':
        return this.join(op);
      case 'write':
        return { kind: 'written', lines: op.lines.map((line) => this.writeLine(line, op)), fenceLeftMs: this.fenceLeft() };
      case 'leave':
        op.lines.forEach(({ line, serial }) => this.leaveLine(line, serial, op));
        return { kind: 'left' };
      case 'revoke':
        return this.revoke(op);
    }
  }

  private live(instanceId: string, token: string): boolean {
    const member = this.members.get(instanceId);
    return member !== undefined && member.token === token && member.expiresAt > this.clock.now();
  }

  private renew(op: DirectoryOpOf<'renew'>): DirectoryReplies['renew'] {
    if (!this.live(op.instanceId, op.token)) return EXPELLED;
    this.members.set(op.instanceId, { token: op.token, expiresAt: this.clock.now() + op.leaseMs });
    return { kind: 'renewed' };
  }

  private revoke(op: DirectoryOpOf<'revoke'>): DirectoryReplies['revoke'] {
    const member = this.members.get(op.instanceId);
    if (!member || member.token !== op.token) return { kind: 'revoked', leaseLeftMs: 0 };
    this.members.delete(op.instanceId);
    const leaseLeftMs = Math.max(0, member.expiresAt - this.clock.now());
    if (op.fence && leaseLeftMs > 0) this.fences.set(`${op.instanceId}:${op.token}`, member.expiresAt);
    return { kind: 'revoked', leaseLeftMs };
  }

  /** The longest remaining lease of a fenced membership; ended ones are forgotten. */
  private fenceLeft(): number {
    const now = this.clock.now();
    let left = 0;
    for (const [key, until] of this.fences) {
      if (until <= now) this.fences.delete(key);
      else left = Math.max(left, until - now);
    }
    return left;
  }

  private directory(line: string): LineDirectory {
    let dir = this.lines.get(line);
    if (!dir) {
      dir = { epoch: 0, holders: new Map() };
      this.lines.set(line, dir);
    }
    return dir;
  }

  /** Read miss. Entries of dead memberships are dropped on the way (they are never invalidated). */
  private join(op: DirectoryOpOf<'join'>): Joined | Expelled {
    if (!this.live(op.instanceId, op.token)) return EXPELLED;
    const dir = this.directory(op.line);
    const mine = dir.holders.get(op.instanceId);
    if (mine && mine.token === op.token && mine.state !== 'I') {
      return { kind: 'joined', state: mine.state, epoch: dir.epoch, serial: mine.serial, downgraded: [] };
    }
    let others = 0;
    const downgraded: Joined['downgraded'] = [];
    for (const [id, holder] of dir.holders) {
      if (id === op.instanceId) continue;
      if (!this.live(id, holder.token)) {
        dir.holders.delete(id);
      } else if (holder.state !== 'I') {
        others += 1;
        if (holder.state === 'E' || holder.state === 'M') downgraded.push({ instanceId: id, from: holder.state });
        holder.state = 'S';
      }
    }
    const state = others === 0 ? 'E' : 'S';
    const serial = ++this.serial;
    dir.holders.set(op.instanceId, { state, token: op.token, serial });
    return { kind: 'joined', state, epoch: dir.epoch, serial, downgraded };
  }

  private writeLine(line: string, op: DirectoryOpOf<'write'>): WrittenLine {
    const dir = this.directory(line);
    dir.epoch += 1;
    const targets: WrittenLine['targets'] = [];
    for (const [id, holder] of dir.holders) {
      if (id === op.instanceId) continue;
      if (!this.live(id, holder.token)) {
        dir.holders.delete(id);
      } else {
        holder.state = 'I';
        targets.push({ instanceId: id, token: holder.token, serial: holder.serial });
      }
    }
    const serial = ++this.serial;
    dir.holders.set(op.instanceId, { state: 'M', token: op.token, serial });
    return { line, epoch: dir.epoch, serial, targets };
  }

  private leaveLine(line: string, serial: number, op: DirectoryOpOf<'leave'>): void {
    const dir = this.lines.get(line);
    const mine = dir?.holders.get(op.instanceId);
    if (!dir || !mine || mine.token !== op.token || mine.serial !== serial) return;
    dir.holders.delete(op.instanceId);
    // Epochs only need to grow while someone holds the line (see README), so an empty line is forgotten.
    if (dir.holders.size === 0) this.lines.delete(line);
  }
}

/**
 * The seam between a gateway's cache and the shared coherence directory
 * (docs/ARCHITECTURE.md §5). Implementations: `LocalCoherenceBus` (one process, no Redis) and
 * `RedisCoherenceBus` (several gateways sharing `REDIS_URL`). Both keep the same
 * directory: per line, an epoch and the holders with their MESI state; per
 * instance, a membership token with a lease.
 */

/**
 * MESI state of one line in one instance; absent from a cache means I. In the
 * directory an `I` entry means "invalidation sent, not yet confirmed": it is kept
 * so that the next writer (or a writer replaying after a lost reply) sends the
 * invalidation again; the holder removes it after acking.
 */
export type MesiState = 'M' | 'E' | 'S' | 'I';

/** A live holder that must drop a line: who, and which membership (token) holds it. */
export interface Holder {
  instanceId: string;
  token: string;
}

/**
 * Directory transitions. Each is atomic (one Lua script on Redis), and every one
 * made on behalf of an instance carries its membership token: an instance whose
 * membership was revoked gets `expelled` and must drop its whole L1.
 */
export type DirectoryOp =
  /** Starts a membership (a new token after every L1 drop) with a lease of `leaseMs`. */
  | { kind: 'register'; instanceId: string; token: string; leaseMs: number }
  /** Heartbeat: extends the lease if the membership is still this token's. */
  | { kind: 'renew'; instanceId: string; token: string; leaseMs: number }
  /** Read miss: add the instance as holder; E if no live one else holds it, otherwise S and E/M holders become S. */
  | { kind: 'join'; instanceId: string; token: string; line: string }
  /** After a committed write: bump each line's epoch, mark other holders I, make the writer M. */
  | { kind: 'write'; instanceId: string; token: string; lines: readonly string[] }
  /**
   * The instance no longer holds these lines (evicted, or invalidation acked).
   * Each names the registration it leaves (`serial`): a LEAVE that arrives
   * after a newer JOIN of the same line, however reordered, removes nothing.
   */
  | { kind: 'leave'; instanceId: string; token: string; lines: readonly { line: string; serial: number }[] }
  /**
   * Ends a membership: a holder that did not ack (`fence: true`), or the
   * instance itself on stop. A fenced membership's lease is kept in the
   * directory until it ends: every write waits it out (`fenceLeftMs`).
   */
  | { kind: 'revoke'; instanceId: string; token: string; fence?: boolean };

export type Expelled = { kind: 'expelled' };

export interface Joined {
  kind: 'joined';
  state: 'M' | 'E' | 'S';
  epoch: number;
  /** This registration's number, unique in the directory; a LEAVE names it. */
  serial: number;
  /** Holders that were E or M and are S now; the joiner tells them. */
  downgraded: { instanceId: string; from: 'E' | 'M' }[];
}

export interface WrittenLine {
  line: string;
  /** The line's epoch after this write; invalidations carry it. */
  epoch: number;
  /** The writer's own registration (M) of the line. */
  serial: number;
  /** Other live holders, now I (keeping their registration's serial): each must drop the line and ack before the write returns. */
  targets: (Holder & { serial: number })[];
}

export interface DirectoryReplies {
  register: { kind: 'registered' };
  renew: { kind: 'renewed' } | Expelled;
  join: Joined | Expelled;
  /**
   * `fenceLeftMs`: the longest that a revoked holder's lease still runs. Such a
   * holder may serve any line it held, listed or not, until then; the writer
   * answers only after it.
   */
  write: { kind: 'written'; lines: WrittenLine[]; fenceLeftMs: number } | Expelled;
  leave: { kind: 'left' };
  /** How long the revoked membership's lease still runs: its holder may serve hits until then. */
  revoke: { kind: 'revoked'; leaseLeftMs: number };
}

export type DirectoryOpOf<K extends DirectoryOp['kind']> = Extract<DirectoryOp, { kind: K }>;

/** Messages between instances, delivered in order per receiver, at most once. */
export type BusMessage =
  | { type: 'invalidate'; from: string; ackId: string; lines: { line: string; epoch: number; serial: number }[] }
  | { type: 'ack'; from: string; ackId: string }
  | { type: 'downgrade'; from: string; line: string; epoch: number };

export type BusEvent =
  | { type: 'message'; message: BusMessage }
  /** Lost (`up: false`) or regained connection; after a loss messages may have been missed. */
  | { type: 'connection'; up: boolean };

export type BusListener = (event: BusEvent) => void;

export interface CoherenceBus {
  /** Applies one directory transition atomically. Rejects when the directory cannot be reached. */
  apply<K extends DirectoryOp['kind']>(op: DirectoryOpOf<K>): Promise<DirectoryReplies[K]>;
  /** Sends to one instance's inbox; false when no one listens there (the instance is gone or cut off). */
  send(to: string, message: BusMessage): Promise<boolean>;
  /** Delivers the instance's messages and connection changes until the returned function is called. */
  listen(instanceId: string, listener: BusListener): Promise<() => Promise<void>>;
  /** Closes connections. Idempotent. */
  stop(): Promise<void>;
}

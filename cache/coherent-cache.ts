import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { BusEvent, BusMessage, CoherenceBus, Joined, MesiState, WrittenLine } from './bus';
import { systemClock, type Clock } from './clock';
import { Invalidator } from './invalidation';
import { L1, type LineRecord } from './l1';
import { cacheMetrics, responseMetrics, type BypassReason, type CacheMetrics, type DropReason, type ResponseMetrics } from './metrics';
import { ResponseStore, ResponseTrace } from './responses';

export interface CoherentCacheOptions {
  /** This gateway instance; unique among the gateways sharing a bus. */
  instanceId: string;
  bus: CoherenceBus;
  /** The cache's counters are registered here (labelled with `instanceId`). */
  registry: Registry;
  /** Lines (entities) kept in L1; the least recently used one is evicted and leaves the directory. */
  maxLines?: number;
  /** Bytes of answers (and their variant keys) kept in L1, all lines together. */
  maxBytes?: number;
  /** Answers kept per line (distinct selections, variables, time buckets); the oldest goes first. */
  maxVariantsPerLine?: number;
  /** How long a write waits for a holder's ack before revoking it from the directory. */
  ackTimeoutMs?: number;
  /** Membership lease: hits are served only within it, so a revoked holder goes silent by its end. */
  leaseMs?: number;
  /** Lease renewal period, well under `leaseMs` so one slow renewal does not cost the L1. */
  heartbeatMs?: number;
  clock?: Clock;
  /** A fresh membership token per L1 generation. */
  newToken?: () => string;
  /** Bus failures (the cache bypasses and recovers by itself), for the gateway's log. */
  onError?: (error: unknown) => void;
  /**
   * The drain fence (README, "acknowledged means coherent"): when set, hits are
   * served only within `fenceMs` of the start of the last drain round the
   * owner confirmed (`startFenceRound`). Off when unset.
   */
  fenceMs?: number;
  /** Whole responses kept (`storeResponse`); 0 turns the response cache off. */
  responseMaxEntries?: number;
  /** Bytes of whole responses kept, keys and member line names included. */
  responseMaxBytes?: number;
  /** Wall-clock time, for the time buckets of `ResponseTrace.expiresAt` (epoch ms). */
  wallNowMs?: () => number;
}

/** Defaults; `heartbeatMs` defaults to a third of `leaseMs`. */
const DEFAULTS = {
  /** About 10k entities with a few selections each: tens of MB of answers at most. */
  maxLines: 10_000,
  /** Bounded in bytes, entries included: no client can grow the heap by asking many distinct queries. */
  maxBytes: 64 * 1024 * 1024,
  maxVariantsPerLine: 64,
  /** A holder answers in a Redis round trip or two; a quarter second means it is stuck or gone. */
  ackTimeoutMs: 250,
  /** The longest a write waits, after the ack timeout, for a silent holder (and how long a cut-off instance may serve hits). */
  leaseMs: 3_000,
  /** A few thousand distinct (operation, variables, scope) answers: the hot queries of a branch. */
  responseMaxEntries: 5_000,
  responseMaxBytes: 32 * 1024 * 1024,
};

/**
 * A `write` outcome. `invalidated`: every other holder dropped the lines, or was
 * revoked and its lease has run out. `deferred`: this instance cannot reach the
 * bus, so other instances may still serve the old value; the invalidation is
 * replayed when the bus is back, before this instance caches again.
 */
export type WriteOutcome =
  | { kind: 'invalidated'; lines: string[]; revoked: string[] }
  | { kind: 'deferred'; lines: string[]; reason: BypassReason | 'not-started' };

/**
 * Lifecycle (docs/ARCHITECTURE.md §10 rule 7). Only `coherent` serves hits and installs fills; the
 * others send every read to its fill with an empty L1.
 */
type Phase =
  | { phase: 'starting' }
  | { phase: 'coherent'; token: string; leaseUntil: number }
  | { phase: 'bypass'; reason: BypassReason }
  | { phase: 'stopped' };

export type CachePhase = Phase['phase'];

const noop = () => undefined;


/**
 * One gateway instance's L1 of entity answers, kept coherent with the other
 * instances' by the MESI protocol of docs/ARCHITECTURE.md §5 over a `CoherenceBus`.
 * Values are shared with callers as they are: treat them as immutable.
 */
export class CoherentCache {
  private current: Phase = { phase: 'starting' };
  /** Bumped on every L1 drop: a step that awaited across one must not install what it brought back. */
  private generation = 0;
  private connected = false;
  private recovering?: Promise<void>;
  private starting?: Promise<void>;
  private stopping?: Promise<void>;
  private unlisten?: () => Promise<void>;
  private readonly l1: L1;
  /** Lines written while cut off from the bus: invalidated on reconnect, before caching resumes. */
  private readonly deferred = new Set<string>();
  private readonly stopSignal = new AbortController();
  private readonly metrics: CacheMetrics;
  private readonly invalidator: Invalidator;
  private readonly o: Options;
  private readonly responses: ResponseStore;
  private readonly responseMetrics: ResponseMetrics;
  /** Hits are served until then (drain fence); -Infinity until the first confirmed round. */
  private fenceUntil = Number.NEGATIVE_INFINITY;
  private fenceLapsed = true;

  constructor(options: CoherentCacheOptions) {
    const leaseMs = options.leaseMs ?? DEFAULTS.leaseMs;
    this.o = {
      instanceId: options.instanceId,
      bus: options.bus,
      maxLines: options.maxLines ?? DEFAULTS.maxLines,
      maxBytes: options.maxBytes ?? DEFAULTS.maxBytes,
      maxVariantsPerLine: options.maxVariantsPerLine ?? DEFAULTS.maxVariantsPerLine,
      ackTimeoutMs: options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs,
      leaseMs,
      heartbeatMs: options.heartbeatMs ?? Math.floor(leaseMs / 3),
      clock: options.clock ?? systemClock,
      newToken: options.newToken ?? randomUUID,
      onError: options.onError ?? noop,
      fenceMs: options.fenceMs,
      responseMaxEntries: options.responseMaxEntries ?? DEFAULTS.responseMaxEntries,
      responseMaxBytes: options.responseMaxBytes ?? DEFAULTS.responseMaxBytes,
      wallNowMs: options.wallNowMs ?? Date.now,
    };
    validate(this.o);
    this.metrics = cacheMetrics(options.registry, options.instanceId);
    this.responseMetrics = responseMetrics(options.registry, options.instanceId);
    this.invalidator = new Invalidator({ ...this.o, metrics: this.metrics });
    this.responses = new ResponseStore({
      maxEntries: Math.max(1, this.o.responseMaxEntries),
      maxBytes: this.o.responseMaxBytes,
      onInvalidated: () => this.responseMetrics.invalidations.inc(),
    });
    this.l1 = new L1({
      maxLines: this.o.maxLines,
      maxBytes: this.o.maxBytes,
      maxVariantsPerLine: this.o.maxVariantsPerLine,
      metrics: this.metrics,
      onEvict: (line, serial) => this.leave([{ line, serial }]),
      onGone: (line) => this.responses.lineGone(line),
    });
  }

  /** `coherent` when hits are served; `starting`/`bypass` send every read to its fill. */
  get phase(): CachePhase {
    return this.current.phase;
  }

  /** This instance's MESI state for a line (its local view; the directory decides writes). */
  stateOf(line: string): MesiState {
    return this.l1.stateOf(line);
  }

  /** Listens on the bus and registers; resolves coherent if the bus is up, else in `starting` until it is. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      if (this.current.phase === 'stopped') return;
      this.unlisten = await this.o.bus.listen(this.o.instanceId, (event) => this.onEvent(event));
      void this.heartbeatLoop();
      await this.recovering;
    })();
    return this.starting;
  }

  /**
   * The read path. A hit is answered from L1; a miss registers in the directory
   * FIRST and then fills, so a write committed after the fill began always finds
   * this instance as a holder. The fill's value is returned to the caller in
   * every case, but installed only if its line was not invalidated meanwhile.
   *
   * `dependsOn`: further lines whose writes make this answer stale too (a
   * list's type line, `Loan:*`). They are joined before the fill like the line
   * itself; the answer is installed only if none of them was invalidated
   * meanwhile, and an invalidation, eviction or write of any of them later
   * drops this line's record.
   *
   * `keep`: whether the fill's value may be installed at all. One it refuses
   * (an error, a site that did not answer, no such entity) still answers this
   * read, and is never served to another.
   *
   * `trace`: the request's record of the lines it read (`traceResponse`): a
   * hit or an installed fill adds its line and dependency lines with their
   * records; any other outcome means its response must not be kept.
   */
  async read<T>(line: string, variant: string, fill: () => Promise<T>, dependsOn: readonly string[] = [], keep: (value: T) => boolean = () => true, trace?: ResponseTrace): Promise<T> {
    const token = this.coherentToken();
    if (token === undefined) {
      this.metrics.bypassed.inc();
      trace?.refuse('the cache is not coherent');
      return fill();
    }
    const record = this.l1.get(line);
    if (record?.entries.has(variant)) {
      // Keep the dependency lines recently used: evicting one would drop this line.
      for (const dep of dependsOn) {
        const held = this.l1.get(dep);
        trace?.saw(dep, held);
      }
      trace?.saw(line, record);
      this.metrics.hits.inc();
      return record.entries.get(variant) as T;
    }
    this.metrics.misses.inc();
    const target = record ?? (await this.joinLine(line, token));
    const deps: LineRecord[] = [];
    for (const dep of dependsOn) {
      const held = this.l1.get(dep) ?? (await this.joinLine(dep, token));
      if (held) deps.push(held);
    }
    const value = await fill();
    if (!keep(value)) {
      trace?.refuse(`an answer for ${line} was not cacheable`);
      return value;
    }
    const installed = target && deps.length === dependsOn.length && this.l1.install(line, target, variant, value, dependsOn.map((dep, i) => [dep, deps[i]]));
    if (!installed) {
      this.metrics.fillsDiscarded.inc();
      trace?.refuse(`the fill of ${line} was not installed`);
    } else if (trace) {
      dependsOn.forEach((dep, i) => trace.saw(dep, deps[i]));
      trace.saw(line, target);
    }
    return value;
  }

  /**
   * Starts recording a request's reads for the response cache. Pass the trace
   * to every `read` of the request, then to `storeResponse`.
   */
  traceResponse(): ResponseTrace {
    return new ResponseTrace();
  }

  /**
   * A whole response kept by `storeResponse`, if this instance may serve hits
   * (coherent, within its lease and drain fence, as for entity hits) and every
   * line it was built from still has the record it was built from: no
   * invalidation, write, eviction or L1 drop since. All local: no message.
   */
  lookupResponse(key: string): unknown {
    if (this.o.responseMaxEntries === 0 || this.coherentToken() === undefined) {
      this.responseMetrics.misses.inc();
      return undefined;
    }
    const answer = this.responses.get(key, this.l1, this.o.wallNowMs());
    (answer === undefined ? this.responseMetrics.misses : this.responseMetrics.hits).inc();
    return answer;
  }

  /**
   * Keeps a whole response under `key`, tied to the lines its trace read. The
   * fill race rule for whole responses: kept only if every part came through a
   * held line and each of those lines still has the record the request read or
   * filled it from (a write during the request replaced or removed one), and
   * this instance may serve hits now. `units`: the length of the answer's
   * JSON text (for the byte bound), when the caller has it. Returns whether
   * it was kept.
   */
  storeResponse(key: string, trace: ResponseTrace, answer: unknown, units = jsonLength(answer)): boolean {
    if (this.o.responseMaxEntries === 0 || trace.refusedBy !== undefined || this.coherentToken() === undefined) return false;
    for (const [line, record] of trace.lines) if (this.l1.peek(line) !== record) return false;
    if (this.o.wallNowMs() >= trace.validUntilEpochMs) return false;
    const kept = this.responses.set(key, answer, units, trace, this.l1.generation);
    if (kept) this.responseMetrics.stores.inc();
    return kept;
  }

  /**
   * After a mutation COMMITTED, before its answer goes to the client: the lines
   * it touched become M here and I everywhere else. Resolves only when every
   * other holder acked (or was revoked and outwaited); see `WriteOutcome`.
   */
  async write(lines: readonly string[]): Promise<WriteOutcome> {
    const unique = [...new Set(lines)];
    if (unique.length === 0) return { kind: 'invalidated', lines: [], revoked: [] };
    const token = this.coherentToken();
    if (token === undefined) return this.defer(unique, this.bypassReason());
    try {
      const generation = this.generation;
      const reply = await this.o.bus.apply({ kind: 'write', instanceId: this.o.instanceId, token, lines: unique });
      if (reply.kind === 'expelled') {
        this.onExpelled();
        return this.defer(unique, 'expelled');
      }
      if (generation === this.generation) reply.lines.forEach((written) => this.l1.modified(written.line, written.epoch, written.serial));
      const revoked = await this.invalidator.invalidate(reply.lines);
      // A holder revoked by an earlier write may still serve these lines until its lease ends.
      if (reply.fenceLeftMs > 0) await this.o.clock.sleep(reply.fenceLeftMs);
      return { kind: 'invalidated', lines: unique, revoked };
    } catch (error) {
      this.onBusError(error);
      return this.defer(unique, 'bus-error');
    }
  }

  /**
   * Call as a drain round starts; call what it returns once the round has read
   * every site's dirty-line log and invalidated every line in it: hits may then
   * be served until `fenceMs` after the round STARTED (a commit logged after
   * that start is seen by a later round).
   */
  startFenceRound(): () => void {
    const startedAt = this.o.clock.now();
    return () => {
      if (this.o.fenceMs !== undefined) this.fenceUntil = Math.max(this.fenceUntil, startedAt + this.o.fenceMs);
    };
  }

  /** Stops listening, empties L1 and ends the membership. Idempotent; the bus is the caller's to stop. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const last = this.current;
      this.current = { phase: 'stopped' };
      this.stopSignal.abort();
      this.responses.clear();
      this.l1.clear();
      await this.unlisten?.().catch(this.o.onError);
      if (last.phase !== 'coherent') return;
      await this.o.bus.apply({ kind: 'revoke', instanceId: this.o.instanceId, token: last.token }).catch(this.o.onError);
    })();
    return this.stopping;
  }

  /** The membership token while hits may be served: coherent and within the lease. */
  private coherentToken(): string | undefined {
    const current = this.current;
    if (current.phase !== 'coherent') return undefined;
    const now = this.o.clock.now();
    if (now >= current.leaseUntil) {
      // The directory may have forgotten us; nobody would invalidate what we hold.
      this.enterBypass('lease-expired');
      return undefined;
    }
    if (this.o.fenceMs !== undefined && now >= this.fenceUntil) {
      // A commit whose writer could not reach the directory may be in a dirty log we have not read.
      if (!this.fenceLapsed) this.dropL1('fence-lapsed');
      this.fenceLapsed = true;
      return undefined;
    }
    this.fenceLapsed = false;
    return current.token;
  }

  /** Empties the L1; a fill or join that awaited across this installs nothing (generation). */
  private dropL1(reason: DropReason): void {
    this.generation += 1;
    this.metrics.l1Dropped(reason);
    this.responses.clear();
    this.l1.clear();
  }

  private bypassReason(): BypassReason | 'not-started' {
    return this.current.phase === 'bypass' ? this.current.reason : 'not-started';
  }

  /** Read miss: register as holder (E if alone, else S) and make the L1 record. */
  private async joinLine(line: string, token: string): Promise<LineRecord | undefined> {
    const generation = this.generation;
    const pending = this.l1.beginJoin(line);
    let reply;
    try {
      reply = await this.o.bus.apply({ kind: 'join', instanceId: this.o.instanceId, token, line });
    } catch (error) {
      return void this.onBusError(error);
    } finally {
      this.l1.endJoin(line, pending);
    }
    if (reply.kind === 'expelled') return void this.onExpelled();
    this.tellDowngraded(line, reply);
    return generation === this.generation ? this.l1.joined(line, pending, reply) : undefined;
  }

  /** E/M holders downgraded by our join are told, so their state is S too (no ack: it only informs). */
  private tellDowngraded(line: string, reply: Joined): void {
    for (const { instanceId } of reply.downgraded) {
      const message: BusMessage = { type: 'downgrade', from: this.o.instanceId, line, epoch: reply.epoch };
      this.o.bus.send(instanceId, message).catch(this.o.onError);
    }
  }

  private defer(lines: string[], reason: BypassReason | 'not-started'): WriteOutcome {
    for (const line of lines) {
      this.l1.drop(line);
      this.deferred.add(line);
    }
    return { kind: 'deferred', lines, reason };
  }

  private onEvent(event: BusEvent): void {
    if (this.current.phase === 'stopped') return;
    if (event.type === 'connection') {
      this.connected = event.up;
      if (event.up) void this.recover();
      else this.enterBypass('connection-lost');
      return;
    }
    const message = event.message;
    switch (message.type) {
      case 'invalidate':
        return this.onInvalidate(message);
      case 'ack':
        return this.invalidator.acked(message.ackId);
      case 'downgrade':
        return this.l1.downgrade(message.line, message.epoch);
    }
  }

  /** Holder side of a write: drop, then ack, then take the I marks out of the directory. */
  private onInvalidate(message: Extract<BusMessage, { type: 'invalidate' }>): void {
    this.metrics.invalidationsReceived.inc(message.lines.length);
    const settled = message.lines.filter(({ line, epoch }) => this.l1.invalidate(line, epoch)).map(({ line, serial }) => ({ line, serial }));
    this.o.bus.send(message.from, { type: 'ack', from: this.o.instanceId, ackId: message.ackId }).catch(this.o.onError);
    // Names the registration the write marked I: however late it arrives, it cannot remove a newer one.
    if (settled.length > 0) this.leave(settled);
  }

  /** Takes lines out of the directory, without waiting (a stale entry only costs an extra invalidation). */
  private leave(lines: { line: string; serial: number }[]): void {
    if (this.current.phase !== 'coherent') return;
    const op = { kind: 'leave' as const, instanceId: this.o.instanceId, token: this.current.token, lines };
    this.o.bus.apply(op).catch(this.o.onError);
  }

  private onBusError(error: unknown): void {
    this.o.onError(error);
    this.enterBypass('bus-error');
  }

  private onExpelled(): void {
    this.enterBypass('expelled');
    void this.recover();
  }

  /** Lost rules (README): drop the whole L1 and answer every read from its fill until re-registered. */
  private enterBypass(reason: BypassReason): void {
    if (this.current.phase === 'stopped') return;
    this.generation += 1;
    if (this.current.phase === 'coherent') this.metrics.l1Dropped(reason);
    this.current = { phase: 'bypass', reason };
    this.responses.clear();
    this.l1.clear();
  }

  /** Back to coherent: a new membership (old directory entries die with the old token), deferred writes first. */
  private recover(): Promise<void> {
    const phase = this.current.phase;
    if (this.recovering || phase === 'coherent' || phase === 'stopped' || !this.connected) return this.recovering ?? Promise.resolve();
    this.recovering = this.register().finally(() => (this.recovering = undefined));
    return this.recovering;
  }

  private async register(): Promise<void> {
    const generation = this.generation;
    const token = this.o.newToken();
    const sentAt = this.o.clock.now();
    let replayed: WrittenLine[];
    try {
      await this.o.bus.apply({ kind: 'register', instanceId: this.o.instanceId, token, leaseMs: this.o.leaseMs });
      replayed = await this.replayDeferred(token);
    } catch (error) {
      // Stay in bypass; the next heartbeat or connection event retries.
      return this.o.onError(error);
    }
    if (generation !== this.generation || this.current.phase === 'stopped' || this.current.phase === 'coherent') return;
    this.current = { phase: 'coherent', token, leaseUntil: sentAt + this.o.leaseMs };
    replayed.forEach((written) => this.l1.modified(written.line, written.epoch, written.serial));
  }

  /** Invalidations of writes made while cut off, until none is left; throws if the bus fails again. */
  private async replayDeferred(token: string): Promise<WrittenLine[]> {
    const replayed: WrittenLine[] = [];
    while (this.deferred.size > 0) {
      const lines = [...this.deferred];
      const reply = await this.o.bus.apply({ kind: 'write', instanceId: this.o.instanceId, token, lines });
      if (reply.kind === 'expelled') throw new Error(`membership of "${this.o.instanceId}" revoked while replaying writes`);
      await this.invalidator.invalidate(reply.lines);
      if (reply.fenceLeftMs > 0) await this.o.clock.sleep(reply.fenceLeftMs);
      lines.forEach((line) => this.deferred.delete(line));
      replayed.push(...reply.lines);
    }
    return replayed;
  }

  private async heartbeatLoop(): Promise<void> {
    while (this.current.phase !== 'stopped') {
      await this.o.clock.sleep(this.o.heartbeatMs, this.stopSignal.signal);
      await this.heartbeat();
    }
  }

  /** Renews the lease from the time the renewal was SENT, so our lease never outlives the directory's. */
  private async heartbeat(): Promise<void> {
    const current = this.current;
    if (current.phase === 'bypass' || current.phase === 'starting') return this.recover();
    if (current.phase !== 'coherent') return;
    const sentAt = this.o.clock.now();
    try {
      const reply = await this.o.bus.apply({ kind: 'renew', instanceId: this.o.instanceId, token: current.token, leaseMs: this.o.leaseMs });
      if (reply.kind === 'expelled') return this.onExpelled();
      if (this.current === current) current.leaseUntil = sentAt + this.o.leaseMs;
    } catch (error) {
      this.onBusError(error);
    }
  }
}

type Options = Required<Omit<CoherentCacheOptions, 'registry' | 'fenceMs'>> & Pick<CoherentCacheOptions, 'fenceMs'>;

function validate(o: Options): void {
  if (o.fenceMs !== undefined && !(Number.isFinite(o.fenceMs) && o.fenceMs > 0)) throw new Error(`CoherentCache option fenceMs must be a positive number, got ${o.fenceMs}`);
  if (!o.instanceId) throw new Error('CoherentCache needs an instanceId, got ""');
  for (const name of ['maxLines', 'maxBytes', 'maxVariantsPerLine', 'ackTimeoutMs', 'leaseMs', 'heartbeatMs'] as const) {
    if (!(Number.isFinite(o[name]) && o[name] > 0)) throw new Error(`CoherentCache option ${name} must be a positive number, got ${o[name]}`);
  }
  if (!(Number.isInteger(o.responseMaxEntries) && o.responseMaxEntries >= 0)) throw new Error(`CoherentCache option responseMaxEntries must be a whole number, 0 for no response cache, got ${o.responseMaxEntries}`);
  if (!(Number.isFinite(o.responseMaxBytes) && o.responseMaxBytes > 0)) throw new Error(`CoherentCache option responseMaxBytes must be a positive number, got ${o.responseMaxBytes}`);
  if (o.heartbeatMs >= o.leaseMs) {
    throw new Error(`CoherentCache option heartbeatMs must be below leaseMs (${o.leaseMs}), got ${o.heartbeatMs}`);
  }
}

/** UTF-16 code units of an answer as the response cache weighs it: a string as it is, anything else as JSON text. */
function jsonLength(answer: unknown): number {
  return typeof answer === 'string' ? answer.length : (JSON.stringify(answer)?.length ?? 0);
}

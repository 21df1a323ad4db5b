import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import Redis from 'ioredis';

/** A free loopback port: listen on port 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on `port` (loopback) right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` consecutive free loopback ports, for a chain whose processes keep their ports across restarts. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portIsFree(p);
    if (ok) return base;
  }
  throw new Error(`found no ${count} consecutive free ports`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The run's own redis-server on a loopback port: it can be shut down, restarted
 * and have its scripts flushed without disturbing any other Redis on the machine.
 */
export class PrivateRedis {
  private child?: ChildProcess;
  private admin?: Redis;

  private constructor(readonly port: number, private readonly log: (line: string) => void) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(log: (line: string) => void = () => undefined): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), log);
    await redis.up();
    return redis;
  }

  /** The child process while it runs (for the last-resort kill on exit). */
  get process(): ChildProcess | undefined {
    return this.child;
  }

  async up(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return;
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (b: Buffer) => this.log(`[redis] ${b.toString().trim()}`));
    child.stderr!.on('data', (b: Buffer) => this.log(`[redis] ${b.toString().trim()}`));
    this.child = child;
    const until = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (child.exitCode !== null || Date.now() > until) throw new Error(`redis-server on port ${this.port} did not start`);
        await sleep(50);
      }
    }
  }

  /** SHUTDOWN NOSAVE: every connection drops and every key is gone. */
  async down(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await this.command('SHUTDOWN', 'NOSAVE');
    } catch {
      // The connection drops as the server exits: that is the answer.
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    this.dropAdmin();
  }

  async scriptFlush(): Promise<void> {
    await this.command('SCRIPT', 'FLUSH');
  }

  /** CLIENT KILL every connection whose name starts with `namePrefix`; answers how many. */
  async killClients(namePrefix: string): Promise<number> {
    const list = String(await this.command('CLIENT', 'LIST'));
    const ids = list
      .split('\n')
      .filter((line) => (line.match(/ name=(\S*)/)?.[1] ?? '').startsWith(namePrefix))
      .map((line) => line.match(/id=(\d+)/)![1]);
    for (const id of ids) await this.command('CLIENT', 'KILL', 'ID', id).catch(() => undefined);
    return ids.length;
  }

  async stop(): Promise<void> {
    this.dropAdmin();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }

  private async command(...args: string[]): Promise<unknown> {
    if (!this.admin) {
      this.admin = new Redis(this.url, { maxRetriesPerRequest: 1, connectionName: 'chaos-admin', retryStrategy: () => 100 });
      this.admin.on('error', () => undefined);
    }
    return this.admin.call(args[0], ...args.slice(1));
  }

  private dropAdmin(): void {
    this.admin?.disconnect();
    this.admin = undefined;
  }
}

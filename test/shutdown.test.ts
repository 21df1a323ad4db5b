import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * `npm start` stops cleanly whatever gets the signal: SIGTERM to the npm
 * process, or the launcher killed outright (SIGKILL, no chance to clean up).
 * Afterwards no LibFed process is left and no port of the chain listens. The
 * chain starts over a copy of the seeded test template, so it does not seed.
 */
const ROOT = resolve(__dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port that was free a moment ago; the sites take the next three. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port < 60_000 ? port : freePort();
}

/** Every process whose command line names `marker` (our data directory). */
function processesNaming(marker: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return cmd.includes(marker) ? [`${pid}: ${cmd.slice(0, 120)}`] : [];
      } catch {
        return [];
      }
    });
}

const listening = (port: number) =>
  new Promise<boolean>((r) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), r(true)));
    socket.once('error', () => r(false));
  });

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(200);
  }
  return check();
}

describe('npm start stops cleanly', () => {
  let dir: string;
  let npm: ChildProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'libfed-shutdown-'));
    cpSync(process.env.LIBFED_TEMPLATE_DIR!, join(dir, 'data'), { recursive: true });
  });
  afterEach(() => {
    npm?.kill('SIGKILL');
    for (const line of processesNaming(dir)) process.kill(Number(line.split(':')[0]), 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<number> {
    const port = await freePort();
    npm = spawn('npm', ['start', '--', '--data', join(dir, 'data'), '--port', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout!.on('data', (d) => (out += d));
    npm.stderr!.resume();
    expect(await until(() => out.includes('LibFed ready'), 90_000)).toBe(true);
    expect(processesNaming(dir).length).toBeGreaterThanOrEqual(4);
    return port;
  }

  async function expectNothingLeft(port: number): Promise<void> {
    const gone = await until(async () => processesNaming(dir).length === 0 && !(await listening(port)) && !(await listening(port + 1)), 15_000);
    expect([gone, processesNaming(dir)]).toEqual([true, []]);
    for (const p of [port, port + 1, port + 2, port + 3]) expect([p, await listening(p)]).toEqual([p, false]);
  }

  it('SIGTERM to the npm process leaves no LibFed process and no listening port', async () => {
    const port = await start();
    npm!.kill('SIGTERM');
    await expectNothingLeft(port);
  }, 120_000);

  it('the launcher killed with SIGKILL takes every site and gateway with it', async () => {
    const port = await start();
    const launcher = processesNaming(dir).find((line) => line.includes('launch/start.ts') && !line.includes('sh -c') && !line.includes('npm'));
    expect(launcher).toBeDefined();
    process.kill(Number(launcher!.split(':')[0]), 'SIGKILL');
    await expectNothingLeft(port);
  }, 120_000);
});

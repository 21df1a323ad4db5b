import { execFile } from 'node:child_process';
import { join } from 'node:path';

/**
 * Every entry point as a real process: `--help` exits 0 and lists its flags,
 * a bad number exits 2 naming the flag. In process tests of platform/args.ts
 * cannot see whether an entry point actually reads its line through it.
 * Entry points are spawned by path: this test imports no other LibFed folder.
 */
const ROOT = join(__dirname, '..', '..');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runEntry(entry: string, args: string[]): Promise<Outcome> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: ROOT, timeout: 50_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ code, stdout, stderr });
    });
  });
}

const ENTRIES: Record<string, string[]> = {
  'gateway/main.ts': ['--config', '--port', '--host', '--site', '--site-timeout-ms', '--request-budget-ms', '--heartbeat-interval-ms', '--phi-threshold', '--prepared-ttl-ms', '--lock-wait-ms', '--recovery-interval-ms', '--max-open-loans', '--redis-prefix', '--no-cache', '--cache-max-bytes', '--instance-id'],
  'subgraphs/main.ts': ['--site', '--config', '--data', '--port', '--host', '--demo', '--demo-now', '--scale', '--peer'],
  'launch/start.ts': ['--data', '--port', '--config', '--scale', '--gateways', '--no-cache'],
  'chaos/run.ts': ['--duration', '--seed', '--sites', '--gateways', '--clients', '--no-nemesis', '--verbose'],
  'bench/run.ts': ['borrow', 'cache'],
  'sql/seed/cli.ts': ['--data', '--scale', '--seed', '--now', '--config'],
  'sql/seed/prepare.ts': ['--site', '--config', '--data', '--demo-now', '--scale'],
};

describe('entry points', () => {
  it.each(Object.entries(ENTRIES))('%s --help exits 0 and lists its flags', async (entry, flags) => {
    const { code, stdout, stderr } = await runEntry(entry, ['--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^Usage: /);
    expect(stdout).toContain('--help');
    for (const flag of flags) expect(stdout).toMatch(new RegExp(`(^|\\s)${flag}(\\s|$|,|\\|)`, 'm'));
  });

  it('gateway/main.ts --port abc exits 2 with one line naming --port', async () => {
    const { code, stdout, stderr } = await runEntry('gateway/main.ts', ['--port', 'abc']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('--port: expected an integer 0..65535, got "abc"; see --help\n');
  });

  it('subgraphs/main.ts with an unknown flag exits 2 naming it', async () => {
    const { code, stderr } = await runEntry('subgraphs/main.ts', ['--site', 'Q1', '--prot', '4001']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^--prot: unknown option; expected one of .*--port.*; see --help\n$/);
  });
});

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../bench/report';

/**
 * `npm run bench -- --quick` on two cheap scenarios, as a child process, into
 * a temporary directory: the result file has the shape the summary and the
 * charts read (every target, its rounds, medians, ratios, CPU and RSS, all
 * finite numbers). Its speed is not checked: this machine's figures are not a test.
 */
const ROOT = join(__dirname, '..');
const SCENARIOS = ['routing', 'writes'];

function bench(out: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('npm', ['run', '--silent', 'bench', '--', '--quick', ...SCENARIOS, '--out', out], { cwd: ROOT, env: process.env });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((done) => child.once('close', (code) => done({ code, output })));
}

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

describe('npm run bench -- --quick', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'libfed-bench-quick-'));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes a result file with every scenario, target, round, median, ratio, CPU and RSS figure', async () => {
    const { code, output } = await bench(out);
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    const files = readdirSync(out);
    const json = files.filter((f) => f.endsWith('.json'));
    expect(json).toHaveLength(1);
    expect(files).toEqual(expect.arrayContaining(['latest.md', ...SCENARIOS.map((s) => `latest-${s}.svg`)]));
    for (const s of SCENARIOS) expect(readFileSync(join(out, `latest-${s}.svg`), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'latest.md'), 'utf8')).toContain('](latest-routing.svg)');

    const run = JSON.parse(readFileSync(join(out, json[0]), 'utf8')) as RunResult;
    expect(run.options.quick).toBe(true);
    expect(Object.keys(run.scenarios)).toEqual(SCENARIOS);
    for (const s of Object.values(run.scenarios)) {
      expect(s.status).toBe('done');
      expect(finite(s.elapsedS)).toBe(true);
      const targets = Object.entries(s.targets);
      expect(targets.length).toBeGreaterThanOrEqual(2);
      for (const [name, t] of targets) {
        expect(s.targets[t.baseline]).toBeDefined();
        expect(t.rounds).toHaveLength(run.options.rounds);
        expect(t.roundRatios).toHaveLength(run.options.rounds);
        for (const metric of ['rps', 'p50Ms', 'p99Ms', 'requests', 'cpuMsPerRequest', 'cpuMsPerRequestGateway', 'cpuMsPerRequestSites', 'rssMiB', 'peakRssMiB']) {
          for (const r of t.rounds) expect({ name, metric, value: finite(r.metrics[metric]) }).toEqual({ name, metric, value: true });
          expect({ name, metric, median: finite(t.medians[metric]), ratio: finite(t.ratios[metric]) }).toEqual({ name, metric, median: true, ratio: true });
        }
        for (const r of t.rounds) {
          expect(r.metrics.errors).toBe(0);
          expect(r.metrics.requests).toBeGreaterThan(0);
          const processes = Object.values(r.processes);
          expect(processes.map((p) => p.role)).toEqual(expect.arrayContaining(['gateway', 'site']));
          for (const p of processes) expect([p.cpuMsPerRequest, p.rssMiB, p.peakRssMiB, p.hwmMiB].every(finite)).toBe(true);
        }
        if (name === t.baseline) expect(t.ratios.p50Ms).toBe(1);
      }
    }
  }, 8 * 60_000);
});

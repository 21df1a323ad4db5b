import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { scenarioChart } from './charts';
import type { ScenarioResult } from './results';

/** The file a run writes: every figure of every round, so any summary can be recomputed. */
export interface RunResult {
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: { cpus: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  options: { quick: boolean; rounds: number; windowS: number; scale: number };
  scenarios: Record<string, ScenarioResult>;
}

export function machineNow(): { cpus: number; load: number[] } {
  return { cpus: cpus().length, load: loadavg().map((l) => Math.round(l * 100) / 100) };
}

const fmt = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The markdown summary: per scenario, medians with their ratio to the baseline, and the per-round ratios behind it. */
export function markdown(run: RunResult, chartFile: (id: string) => string | undefined): string {
  const lines = [
    `# LibFed benchmark results`,
    '',
    `\`${run.command}\`, ${run.startedAt} → ${run.finishedAt}, ${run.machine.cpus} cores, load average ${run.machine.loadAverageAtStart.join(' / ')} at start and ${run.machine.loadAverageAtEnd.join(' / ')} at end; ` +
      `${run.options.rounds} alternating rounds of ${run.options.windowS} s windows, data scale ${run.options.scale}. ` +
      'Each figure is the median over rounds; "×" is the median of per-round ratios to the scenario\'s baseline (rounds ran seconds apart). CPU is of every process the benchmark started, load generator excluded.',
    '',
  ];
  for (const s of Object.values(run.scenarios)) {
    lines.push(`## ${s.title}`, '', s.description, '');
    if (s.elapsedS !== undefined) lines.push(`*${Math.round(s.elapsedS)} s, start-up included.*`, '');
    if (s.status !== 'done') {
      lines.push(`**${s.status}**${s.error ? `: ${s.error}` : ''}`, '');
      continue;
    }
    const chart = chartFile(s.id);
    if (chart) lines.push(`![${s.title}](${chart})`, '');
    // Peak RSS under load, where the scenario measured load (memory's states carry their own RSS columns).
    const peak = Object.values(s.targets).some((t) => Number.isFinite(t.medians.peakRssMiB));
    lines.push(`| target | ${s.columns.map((c) => c.label).join(' | ')} |${peak ? ' peak RSS MiB |' : ''}`, `|---|${s.columns.map(() => '---:').join('|')}|${peak ? '---:|' : ''}`);
    for (const [name, t] of Object.entries(s.targets)) {
      const cell = (metric: string) => {
        const ratio = name === t.baseline ? '' : ` (${fmt(t.ratios[metric])}×)`;
        return `${fmt(t.medians[metric])}${ratio}`;
      };
      lines.push(`| ${name}${name === t.baseline ? ' *(baseline)*' : ''} | ${s.columns.map((c) => cell(c.metric)).join(' | ')} |${peak ? ` ${fmt(t.medians.peakRssMiB)} |` : ''}`);
    }
    lines.push('');
    const first = s.columns[0].metric;
    const perRound = Object.entries(s.targets).filter(([name, t]) => name !== t.baseline);
    if (perRound.length) {
      lines.push(`Per-round ratios of ${s.columns[0].label}:`, '');
      for (const [name, t] of perRound) lines.push(`- ${name}: ${t.roundRatios.map((r) => fmt(r[first])).join(', ')}`);
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `<stamp>.json`, `<stamp>.md`, `latest.md` and `latest-<scenario>.svg` into `dir`. Returns the paths. */
export async function writeResults(dir: string, run: RunResult): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const stamp = run.startedAt.replace(/[:.]/g, '-');
  const written: string[] = [];
  const charts = new Map<string, string>();
  for (const s of Object.values(run.scenarios)) {
    const svg = s.status === 'done' ? await scenarioChart(s) : undefined;
    if (!svg) continue;
    const file = `latest-${s.id}.svg`;
    writeFileSync(join(dir, file), svg);
    charts.set(s.id, file);
    written.push(join(dir, file));
  }
  const write = (file: string, text: string) => {
    writeFileSync(join(dir, file), text);
    written.push(join(dir, file));
  };
  write(`${stamp}.json`, `${JSON.stringify(run, null, 2)}\n`);
  write(`${stamp}.md`, markdown(run, () => undefined));
  write('latest.md', markdown(run, (id) => charts.get(id)));
  return written;
}

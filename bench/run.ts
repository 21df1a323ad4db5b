import { resolve } from 'node:path';
import { defineCommand, exitWithUsageError, readCommandLine, UsageError } from '../platform';
import { startFixture, type Fixture } from './fixture';
import { machineNow, writeResults, type RunResult } from './report';
import { stopLoadWorker } from './measure';
import { failed, notImplemented, type ScenarioResult } from './results';
import type { BenchOptions } from './scenario';
import { SCENARIOS, UNIMPLEMENTED } from './scenarios';
import { removeWideChains } from './scenarios/fanout';

/**
 * `npm run bench [-- SCENARIO... --quick --scale N --rounds N --window-s N --out DIR]`:
 * starts what it measures, drives it from a separate load process, every target
 * of a scenario in alternating rounds, and writes the figures (bench/README.md).
 */
const names = () => SCENARIOS.flatMap((s) => [s.id, ...(s.aliases ?? [])]);

const COMMAND = defineCommand({
  usage: 'npm run bench [-- SCENARIO... --quick --scale N --rounds N --window-s N --out DIR]',
  description:
    "LibFed's benchmarks, each figure beside what a user would run instead: medians over alternating rounds, ratios to the baseline, CPU per request and peak RSS of every process started.\n" +
    'Writes DIR/<time>.json, DIR/<time>.md, DIR/latest.md and DIR/latest-<scenario>.svg.',
  options: {
    quick: { kind: 'boolean', description: 'fewer rounds, shorter windows, fewer points: a smoke run (under 2 minutes)' },
    rounds: { kind: 'integer', min: 1, max: 100, defaultText: '4, or 2 with --quick', description: 'alternating rounds per scenario' },
    'window-s': { kind: 'integer', min: 1, max: 600, defaultText: '4, or 1 with --quick', description: 'seconds of load per target per round' },
    scale: { kind: 'number', default: 1, greaterThan: 0, description: 'demo data scale (multiplies books, copies, readers, loans)' },
    out: { kind: 'string', value: 'DIR', defaultText: 'bench/results', description: 'where the results go' },
  },
  positionals: { name: 'SCENARIO...', description: `scenarios to run (default: all), of ${names().join(', ')}` },
});

async function main(): Promise<void> {
  const { values, positionals } = readCommandLine(COMMAND);
  const unknown = positionals.find((name) => !names().includes(name));
  if (unknown !== undefined) exitWithUsageError(UsageError.expected('scenario', unknown, `one of ${names().join(', ')}`));
  const chosen = positionals.length ? SCENARIOS.filter((s) => positionals.some((p) => p === s.id || s.aliases?.includes(p))) : SCENARIOS;
  const o: BenchOptions = {
    quick: values.quick,
    rounds: values.rounds ?? (values.quick ? 2 : 4),
    windowS: values['window-s'] ?? (values.quick ? 1 : 4),
    scale: values.scale,
    log: (line) => console.log(line),
  };
  const startedAt = new Date().toISOString();
  const atStart = machineNow();
  const scenarios: Record<string, ScenarioResult> = {};
  let fixture: Fixture | undefined;
  try {
    for (const [i, s] of chosen.entries()) {
      // The fixture's processes would idle beside the later scenarios' chains: stop it once no one needs it.
      if (fixture && !chosen.slice(i).some((x) => x.usesFixture)) {
        await fixture.stop();
        fixture = undefined;
      }
      o.log(`\n${s.title}`);
      const began = performance.now();
      try {
        if (s.usesFixture) fixture ??= await startFixture(o);
        scenarios[s.id] = await s.run(o, fixture);
      } catch (error) {
        o.log(`  failed: ${error instanceof Error ? error.stack : String(error)}`);
        scenarios[s.id] = failed(s, error);
      }
      scenarios[s.id].elapsedS = (performance.now() - began) / 1000;
      printScenario(scenarios[s.id]);
    }
  } finally {
    await fixture?.stop();
    removeWideChains();
    stopLoadWorker();
  }
  if (!positionals.length) for (const s of UNIMPLEMENTED) scenarios[s.id] = notImplemented(s, s.why);
  const run: RunResult = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: { cpus: atStart.cpus, loadAverageAtStart: atStart.load, loadAverageAtEnd: machineNow().load },
    options: { quick: o.quick, rounds: o.rounds, windowS: o.windowS, scale: o.scale },
    scenarios,
  };
  const written = await writeResults(resolve(values.out ?? resolve(__dirname, 'results')), run);
  console.log(`\nwrote ${written.join(', ')}`);
  if (Object.values(scenarios).some((s) => s.status === 'failed')) process.exitCode = 1;
}

/** Medians and per-round ratios, never a single run. */
function printScenario(s: ScenarioResult): void {
  console.log(`  (${Math.round(s.elapsedS ?? 0)} s)`);
  if (s.status !== 'done') {
    console.log(`  ${s.status}: ${s.error ?? ''}`);
    return;
  }
  for (const [name, t] of Object.entries(s.targets)) {
    const cells = s.columns
      .filter((c) => Number.isFinite(t.medians[c.metric]))
      .map((c) => `${c.label} ${t.medians[c.metric].toFixed(2)}${name === t.baseline || t.ratios[c.metric] === undefined ? '' : ` (${t.ratios[c.metric].toFixed(2)}×)`}`);
    console.log(`  ${name}: ${cells.join(', ')}`);
    const first = s.columns[0];
    if (name !== t.baseline) console.log(`    per-round ${first.label} ratios: ${t.roundRatios.map((r) => r[first.metric]?.toFixed(2) ?? '–').join(', ')}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

import { median } from './stats';
import { medians, type RoundFigures } from './measure';

/** What a scenario reports: per target, its rounds, the medians, and ratios against its baseline. */
export interface TargetResult {
  /** The target the ratios are against (its own name for a baseline). */
  baseline: string;
  rounds: RoundFigures[];
  medians: Record<string, number>;
  /** Per metric, the median over rounds of this round's value / the baseline's in the same round. */
  ratios: Record<string, number>;
  roundRatios: Record<string, number>[];
}

export interface ScenarioResult {
  id: string;
  title: string;
  status: 'done' | 'not implemented' | 'failed';
  /** What is measured, against what, and why that comparison is fair. */
  description: string;
  error?: string;
  /** Metrics shown in the summary table and charted, with their labels. */
  columns: { metric: string; label: string }[];
  targets: Record<string, TargetResult>;
  /** Wall-clock seconds the scenario took, start-up of its chains included. */
  elapsedS?: number;
}

export type ScenarioHeader = Pick<ScenarioResult, 'id' | 'title' | 'description' | 'columns'>;

const pickHeader = ({ id, title, description, columns }: ScenarioHeader): ScenarioHeader => ({ id, title, description, columns });

/** A ratio that stays a finite number: 0/0 is 1 (both none), x/0 is left out. */
function ratio(value: number, base: number): number | undefined {
  if (base === 0) return value === 0 ? 1 : undefined;
  const r = value / base;
  return Number.isFinite(r) ? r : undefined;
}

/** Assembles a scenario's result from its rounds; `baselineOf(target)` names each target's baseline. */
export function scenarioResult(header: ScenarioHeader, rounds: Map<string, RoundFigures[]>, baselineOf: (target: string) => string): ScenarioResult {
  const targets: Record<string, TargetResult> = {};
  for (const [name, own] of rounds) {
    const baseline = baselineOf(name);
    const base = rounds.get(baseline)!;
    // Rounds pair up by index: the same round ran both within seconds of each other.
    const perRound = own.map((r, i) =>
      Object.fromEntries(
        Object.entries(r.metrics).flatMap(([k, v]) => {
          const x = base[i] ? ratio(v, base[i].metrics[k]) : undefined;
          return x === undefined ? [] : [[k, x]];
        }),
      ),
    );
    const keys = Object.keys(own[0]?.metrics ?? {}).filter((k) => perRound.every((r) => k in r));
    targets[name] = {
      baseline,
      rounds: own,
      medians: medians(own),
      ratios: Object.fromEntries(keys.map((k) => [k, median(perRound.map((r) => r[k]))])),
      roundRatios: perRound,
    };
  }
  return { ...pickHeader(header), status: 'done', targets };
}

export function notImplemented(header: ScenarioHeader, why: string): ScenarioResult {
  return { ...pickHeader(header), status: 'not implemented', error: why, targets: {} };
}

export function failed(header: ScenarioHeader, error: unknown): ScenarioResult {
  return { ...pickHeader(header), status: 'failed', error: error instanceof Error ? error.message : String(error), targets: {} };
}

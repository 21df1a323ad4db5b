import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { ScenarioResult } from './results';

/**
 * One SVG per scenario: for each of its columns, a bar per target at the
 * median over rounds, and a dot per round, so the spread is in the picture
 * and a reader does not mistake one run for the figure.
 */
export async function scenarioChart(s: ScenarioResult): Promise<string | undefined> {
  const targets = Object.keys(s.targets);
  if (!targets.length) return undefined;
  const panel = (metric: string, label: string, first: boolean): Record<string, unknown> => {
    // A target without this metric (an idle-cost row has no latency) is left out of this panel.
    const medians = targets.filter((t) => Number.isFinite(s.targets[t].medians[metric])).map((t) => ({ target: t, value: s.targets[t].medians[metric] }));
    const rounds = targets.flatMap((t) => s.targets[t].rounds.filter((r) => Number.isFinite(r.metrics[metric])).map((r, i) => ({ target: t, round: i + 1, value: r.metrics[metric] })));
    // Target names label the first panel, and any panel missing a target: elsewhere the rows line up with the first.
    const labelled = first || medians.length < targets.length;
    const y = { field: 'target', type: 'nominal', sort: targets, title: null, axis: labelled ? { labelLimit: 260 } : { labels: false, ticks: false } } as const;
    return {
      title: label,
      width: 220,
      layer: [
        { data: { values: medians }, mark: { type: 'bar', color: '#7aa6c2' }, encoding: { y, x: { field: 'value', type: 'quantitative', title: `${label} (median)` } } },
        { data: { values: rounds }, mark: { type: 'point', color: '#1f3b4d', filled: true, size: 30 }, encoding: { y, x: { field: 'value', type: 'quantitative' } } },
      ],
    };
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: s.title,
    hconcat: s.columns.filter((c) => targets.some((t) => Number.isFinite(s.targets[t].medians[c.metric]))).map((c, i) => panel(c.metric, c.label, i === 0)),
    config: { font: 'sans-serif' },
  } as unknown as vl.TopLevelSpec;
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

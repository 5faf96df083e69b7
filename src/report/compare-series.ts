// The forgetting curves of several runs overlaid: one panel per matched task, a line per run and method, coloured by
// method (line style by run) or by run (line style by method), with the tasks' baselines; for the app and the SVG.
import type { RunResults } from '../cl/runner.ts';
import { paletteColor } from './color-scale.ts';
import { matchTasks, type LabelledRun, type TaskMatch } from './task-match.ts';
import { panelGridSvg } from './line-chart-svg.ts';
import { forgettingSeries, methodNames, type LegendEntry, type MethodSeries } from './series.ts';
import { metricLabel } from './tables.ts';
import { baselineLines, type BaselineLine } from './verdicts.ts';

/** What a line's colour says: its method (runs told apart by line style) or its run (methods told apart by line style). */
export type ColorBy = 'method' | 'run';

/** Line styles, in order, for the dimension that is not coloured; solid first. */
export const LINE_DASHES: readonly (readonly number[])[] = [[], [7, 4], [2, 3], [9, 3, 2, 3], [4, 2]];

/** A line of the overlay: a run's method on one task. */
export interface OverlaySeries extends MethodSeries {
  /** The run's position among the compared runs. */
  run: number;
  /** Its legend entry's label ("order 1 · seqlora"), which is also `label`, so the legend hides it by this key. */
  key: string;
  dash: readonly number[];
}

/** One panel: the j-th matched task, with every run's lines on it and the tasks' baseline lines. */
export interface OverlayPanel {
  /** 0-based position of the matched task (the first run's order). */
  task: number;
  /** The task's name, or its names in the runs ("alpha / delta") where they differ. */
  name: string;
  metric: RunResults['tasks'][number]['metric'];
  series: OverlaySeries[];
  /** Majority-label and chance lines, once per value: labelled with the run when the runs' tasks give different values. */
  baselines: BaselineLine[];
}

/** Every method name of the runs: the first run's order, then the others' new ones. */
function methodsOf(runs: readonly LabelledRun[]): string[] {
  const names: string[] = [];
  for (const r of runs) for (const n of methodNames(r.results)) if (!names.includes(n)) names.push(n);
  return names;
}

/** Colour by method when the runs hold several methods between them; with one method, colour by run. */
export function defaultColorBy(runs: readonly LabelledRun[]): ColorBy {
  return methodsOf(runs).length > 1 ? 'method' : 'run';
}

/** The legend: one entry per run and method that run has, run by run, with the colour and line style of its lines. */
export function overlayLegend(runs: readonly LabelledRun[], colorBy: ColorBy): LegendEntry[] {
  const methods = methodsOf(runs);
  return runs.flatMap((r, run) => methodNames(r.results).map((method) => {
    const style = lineStyle(methods.indexOf(method), run, colorBy);
    const joint = r.results.methods[method]?.matrix === null;
    return { label: seriesKey(r.label, method, joint), color: style.color, dashed: style.dash.length > 0, dash: style.dash };
  }));
}

function seriesKey(runLabel: string, method: string, joint: boolean): string {
  return `${runLabel} · ${method}${joint ? ' (joint)' : ''}`;
}

function lineStyle(methodIndex: number, run: number, colorBy: ColorBy): { color: string; dash: readonly number[] } {
  const [coloured, styled] = colorBy === 'method' ? [methodIndex, run] : [run, methodIndex];
  return { color: paletteColor(coloured), dash: LINE_DASHES[styled % LINE_DASHES.length] };
}

/**
 * The panels of the overlay, one per matched task (see `matchTasks`): on panel j, each run's forgetting curve of each
 * method on its task matched to j (x = training stage of that run, y = score), and the baselines of those tasks.
 */
export function overlayPanels(runs: readonly LabelledRun[], colorBy: ColorBy, match: TaskMatch = matchTasks(runs)): OverlayPanel[] {
  const methods = methodsOf(runs);
  const curves = runs.map((r) => forgettingSeries(r.results));
  return match.index.map((row, j): OverlayPanel => {
    const series = row.flatMap((t, run) => curves[run][t].series.map((s): OverlaySeries => {
      const style = lineStyle(methods.indexOf(s.method), run, colorBy);
      const key = seriesKey(runs[run].label, s.method, s.kind === 'reference');
      return { ...s, run, key, label: key, color: style.color, dash: style.dash, dashed: style.dash.length > 0 };
    }));
    const lines = row.flatMap((t, run) => baselineLines(runs[run].results, t).map((b) => ({ b, run })));
    const baselines: BaselineLine[] = [];
    for (const kind of ['majority', 'chance'] as const) {
      const ofKind = lines.filter((l) => l.b.kind === kind);
      const values = [...new Set(ofKind.map((l) => l.b.points[0].y))];
      for (const y of values) {
        const first = ofKind.find((l) => l.b.points[0].y === y)!;
        const label = values.length > 1 ? `${first.b.label} (${runs[first.run].label})` : first.b.label;
        baselines.push({ ...first.b, label });
      }
    }
    const names = match.names[j];
    const name = new Set(names).size > 1 ? names.join(' / ') : names[0];
    return { task: j, name, metric: runs[0].results.tasks[row[0]].metric, series, baselines };
  });
}

/** The overlay as a standalone SVG document: a legend of every run and method, then one panel per matched task. */
export function overlayCurvesSvg(runs: readonly LabelledRun[], title: string, colorBy: ColorBy, hidden: ReadonlySet<string> = new Set()): string {
  const T = runs[0].results.tasks.length;
  const every = Math.ceil(T / 12);
  return panelGridSvg({
    title: `${title}: score on each task after each training stage`,
    legend: overlayLegend(runs, colorBy).filter((e) => !hidden.has(e.label)),
    panels: overlayPanels(runs, colorBy).map((p) => ({
      title: `${p.task + 1}: ${p.name} (${metricLabel(p.metric)})`,
      lines: [...p.baselines, ...p.series.filter((s) => !hidden.has(s.key))],
    })),
    x: { min: T > 1 ? 1 : 0, max: T > 1 ? T : 2, ticks: Array.from({ length: T }, (_, k) => k + 1).filter((k) => (k - 1) % every === 0), label: 'after training task' },
    y: { min: 0, max: 100, ticks: [0, 25, 50, 75, 100], label: 'score' },
    emptyText: 'No scores on this task.',
  });
}

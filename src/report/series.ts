// Chart series derived from RunResults: per-task forgetting curves across methods and per-method training loss curves.
import type { RunResults } from '../cl/runner.ts';
import { paletteColor } from './color-scale.ts';

/** A point of a line chart. */
export interface XY {
  x: number;
  y: number;
}

/** One method's line on a chart. */
export interface MethodSeries {
  /** The method's name in the results (its key in `RunResults.methods`). */
  method: string;
  label: string;
  color: string;
  /** 'curve' for a continual method's scores stage by stage; 'reference' for a joint method's flat line at its final score. */
  kind: 'curve' | 'reference';
  /** Drawn dashed: reference lines and secondary training phases. */
  dashed: boolean;
  points: XY[];
}

/** The forgetting curves of one task, one series per method that has a score for it. */
export interface TaskCurves {
  /** 0-based task index in training order. */
  task: number;
  name: string;
  series: MethodSeries[];
  /** Total number of points over the series. */
  points: number;
}

const isScore = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The method names of a run, in the order the run trained them. */
export function methodNames(results: RunResults): string[] {
  return Object.keys(results.methods ?? {});
}

/** A colour per method name, by the method's position in the run. */
export function methodColors(results: RunResults): Record<string, string> {
  const out: Record<string, string> = {};
  methodNames(results).forEach((name, i) => {
    out[name] = paletteColor(i);
  });
  return out;
}

/** True for a joint (MTL) method: trained on all tasks at once, so it has final scores but no matrix. */
export function isJoint(results: RunResults, method: string): boolean {
  return results.methods[method]?.matrix === null;
}

/** One legend entry of the forgetting curves: a method's label, colour and line style. */
export interface LegendEntry {
  label: string;
  color: string;
  /** Joint methods are drawn as dashed reference lines. */
  dashed: boolean;
  /** A dash pattern of its own (a run's line style in a comparison), in place of the plain dashes of `dashed`. */
  dash?: readonly number[];
}

/** The legend of the forgetting curves: every method of the run in order, joint ones labelled and dashed. */
export function methodLegend(results: RunResults): LegendEntry[] {
  const colors = methodColors(results);
  return methodNames(results).map((name) => {
    const joint = isJoint(results, name);
    return { label: joint ? `${name} (joint)` : name, color: colors[name], dashed: joint };
  });
}

/**
 * For every task t, each method's score on t after each training stage: points (k + 1, a[k][t]) for
 * the non-null cells of column t (a run still going has nulls, which are skipped). A joint method
 * has no stages; it becomes a flat reference line at its final score on t, from stage 1 to stage T
 * (two points; one when T = 1). Methods without any score on a task are left out of that task.
 */
export function forgettingSeries(results: RunResults): TaskCurves[] {
  const T = results.tasks.length;
  const colors = methodColors(results);
  return results.tasks.map((task, t): TaskCurves => {
    const series: MethodSeries[] = [];
    for (const name of methodNames(results)) {
      const r = results.methods[name];
      if (!r) continue;
      if (r.matrix === null) {
        const v = r.final?.[t];
        if (!isScore(v)) continue;
        const points = T > 1 ? [{ x: 1, y: v }, { x: T, y: v }] : [{ x: 1, y: v }];
        series.push({ method: name, label: `${name} (joint)`, color: colors[name], kind: 'reference', dashed: true, points });
        continue;
      }
      const points: XY[] = [];
      const rows = Math.min(r.matrix.length, T);
      for (let k = 0; k < rows; k++) {
        const v = r.matrix[k]?.[t];
        if (isScore(v)) points.push({ x: k + 1, y: v });
      }
      if (points.length > 0) series.push({ method: name, label: name, color: colors[name], kind: 'curve', dashed: false, points });
    }
    return { task: t, name: task.name, series, points: series.reduce((n, s) => n + s.points.length, 0) };
  });
}

/**
 * Averages consecutive points in equal buckets so that at most `max` remain (x and y both
 * averaged); returns the points unchanged when there are no more than `max`.
 */
export function downsample(points: readonly XY[], max: number): XY[] {
  if (max < 1) throw new Error(`downsample: max must be at least 1, got ${max}`);
  if (points.length <= max) return points.slice();
  const out: XY[] = [];
  for (let b = 0; b < max; b++) {
    const lo = Math.floor((b * points.length) / max);
    const hi = Math.floor(((b + 1) * points.length) / max);
    let sx = 0;
    let sy = 0;
    for (let i = lo; i < hi; i++) {
      sx += points[i].x;
      sy += points[i].y;
    }
    out.push({ x: sx / (hi - lo), y: sy / (hi - lo) });
  }
  return out;
}

/**
 * Training loss per method against the global step: every recorded optimizer step of the method,
 * across tasks and phases, counts one (x = 1, 2, ... in recording order). Steps of the 'train'
 * phase form the series labelled with the method's name; a method's other phases (e.g. SAPT's
 * 'selector') get their own series labelled "name (phase)" in the same colour, dashed. Each series
 * is reduced to at most `maxPoints` points by bucket averaging.
 */
export function lossSeries(results: RunResults, maxPoints = 1500): (MethodSeries & { phase: string })[] {
  const colors = methodColors(results);
  const out: (MethodSeries & { phase: string })[] = [];
  for (const name of methodNames(results)) {
    const losses = results.methods[name]?.losses ?? [];
    const byPhase = new Map<string, XY[]>();
    losses.forEach((p, i) => {
      if (!isScore(p.loss)) return;
      let list = byPhase.get(p.phase);
      if (!list) byPhase.set(p.phase, (list = []));
      list.push({ x: i + 1, y: p.loss });
    });
    const phases = [...byPhase.keys()].sort((a, b) => (a === 'train' ? -1 : b === 'train' ? 1 : a.localeCompare(b)));
    for (const phase of phases) {
      out.push({
        method: name,
        phase,
        label: phase === 'train' ? name : `${name} (${phase})`,
        color: colors[name],
        kind: 'curve',
        dashed: phase !== 'train',
        points: downsample(byPhase.get(phase)!, maxPoints),
      });
    }
  }
  return out;
}


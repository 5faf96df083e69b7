// Table-shaped views of RunResults for the results view and the report: metrics rows, score-matrix rows, routing weights, sample predictions, labels.
import type { MethodResult, RunResults } from '../cl/runner.ts';
import { methodNames } from './series.ts';
import { learnedNothing } from './verdicts.ts';

const isScore = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The metric columns of the metrics table, in display order. */
export const METRIC_KEYS = ['ap', 'fra', 'bwt', 'fwt'] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

/** Column titles of the metric keys. */
export const METRIC_TITLES: Readonly<Record<MetricKey, string>> = { ap: 'AP', fra: 'F.Ra', bwt: 'BWT', fwt: 'FWT' };

/** Whether a larger value of the metric is better (F.Ra measures forgetting, so lower is better). */
export const HIGHER_IS_BETTER: Readonly<Record<MetricKey, boolean>> = { ap: true, fra: false, bwt: true, fwt: true };

/** One method's row of the metrics table. */
export interface MetricsRow {
  method: string;
  /** The algorithm behind the name (e.g. 'replay'), as recorded in the results. */
  algorithm: string;
  joint: boolean;
  ap: number | null;
  fra: number | null;
  bwt: number | null;
  fwt: number | null;
  /** 0-based tasks the method learned nothing on (see `learnedNothing`); its metrics over them are no achievement. */
  vacuous: number[];
}

/**
 * One row per method with AP, F.Ra, BWT and FWT, null where not available: all four for a
 * continual method whose run is not finished (no metrics yet). A joint method has no matrix, so only
 * its AP is given: the mean of its final scores over all tasks, once every task has one.
 */
export function metricsRows(results: RunResults): MetricsRow[] {
  const T = results.tasks.length;
  return methodNames(results).map((method): MetricsRow => {
    const r = results.methods[method];
    const joint = r.matrix === null;
    const vacuous = learnedNothing(results, method).flatMap((v, t) => (v ? [t] : []));
    const row: MetricsRow = { method, algorithm: r.method, joint, ap: null, fra: null, bwt: null, fwt: null, vacuous };
    if (joint) {
      const final = r.final ?? [];
      if (T > 0 && final.length >= T && final.slice(0, T).every(isScore)) row.ap = final.slice(0, T).reduce((a, b) => a + b, 0) / T;
      return row;
    }
    const m = r.metrics;
    if (m) {
      row.ap = isScore(m.ap) ? m.ap : null;
      row.fra = isScore(m.fra) ? m.fra : null;
      row.bwt = isScore(m.bwt) ? m.bwt : null;
      row.fwt = isScore(m.fwt) ? m.fwt : null;
    }
    return row;
  });
}

/**
 * Whether a row's value of `key` says nothing: F.Ra and BWT measure what happened to tasks 1..T-1 after they were
 * learnt, so one of them not learnt makes them vacuous (nothing learnt, nothing forgotten); AP and FWT are vacuous
 * when the method learned nothing on any task.
 */
export function vacuousMetric(row: MetricsRow, key: MetricKey, tasks: number): boolean {
  if (key === 'fra' || key === 'bwt') return row.vacuous.some((t) => t < tasks - 1);
  return tasks > 0 && row.vacuous.length === tasks;
}

/**
 * The best value of each metric over the continual (non-joint) methods, null where none has one. A vacuous value
 * (see `vacuousMetric`; `tasks` is the run's task count) is never the best: a method that learned nothing forgets nothing.
 */
export function bestMetrics(rows: readonly MetricsRow[], tasks = 0): Record<MetricKey, number | null> {
  const out = { ap: null, fra: null, bwt: null, fwt: null } as Record<MetricKey, number | null>;
  for (const key of METRIC_KEYS) {
    for (const row of rows) {
      const v = row[key];
      if (row.joint || v === null || vacuousMetric(row, key, tasks)) continue;
      const best = out[key];
      if (best === null || (HIGHER_IS_BETTER[key] ? v > best : v < best)) out[key] = v;
    }
  }
  return out;
}

/** A score with one decimal, or an em dash when missing. */
export function formatScore(v: number | null | undefined): string {
  return isScore(v) ? v.toFixed(1) : '—';
}

/** A difference with one decimal and an explicit sign (+2.0, −12.5), or an em dash when missing. */
export function formatSigned(v: number | null | undefined): string {
  if (!isScore(v)) return '—';
  const s = Math.abs(v).toFixed(1);
  if (Number(s) === 0) return '0.0';
  return v > 0 ? `+${s}` : `−${s}`;
}

/** One row of a method's score table: the scores after a training stage. */
export interface StageRow {
  /** 0-based index of the task trained in this stage (0 for a joint method's single stage). */
  stage: number;
  label: string;
  /** One score per task (length T), null where not evaluated. */
  cells: (number | null)[];
}

/**
 * The rows of a method's score matrix, one per training stage ("after task k: name"), each padded
 * or cut to T cells with nulls for anything missing or not a finite number. A joint method gets a
 * single row of its final scores.
 */
export function stageRows(results: RunResults, method: string): StageRow[] {
  const r = results.methods[method];
  const T = results.tasks.length;
  const cellsOf = (row: readonly (number | null | undefined)[] | null | undefined) =>
    Array.from({ length: T }, (_, t) => {
      const v = row?.[t];
      return isScore(v) ? v : null;
    });
  if (!r) return [];
  if (r.matrix === null) return [{ stage: 0, label: 'joint: all tasks', cells: cellsOf(r.final) }];
  return Array.from({ length: T }, (_, k) => ({ stage: k, label: `after ${k + 1}: ${results.tasks[k].name}`, cells: cellsOf(r.matrix![k]) }));
}

/**
 * The training stages after which a method's adapter exists: those with at least one evaluated
 * score (results are committed once a stage is trained and evaluated). A joint method has stage 0
 * once it has any final score.
 */
export function completedStages(r: MethodResult): number[] {
  if (r.matrix === null) return (r.final ?? []).some(isScore) ? [0] : [];
  const out: number[] = [];
  r.matrix.forEach((row, k) => {
    if (row?.some(isScore)) out.push(k);
  });
  return out;
}

/** The routing weights shown for a method: the last stage that has any, one row per task evaluated then. */
export interface RoutingStage {
  /** 0-based stage (the task trained last before these weights were measured). */
  stage: number;
  /** Number of blocks (the longest weight vector in the stage). */
  blocks: number;
  /** Per task: the mean weight on each block, and the block with the most (the first of equals). */
  rows: { task: number; weights: number[]; top: number }[];
}

/**
 * The selector weights of the last stage k that has any: for each task t with routing[k][t], the
 * mean weight per block on task t's test prompts. Null without routing or before any evaluation.
 */
export function lastRouting(routing: MethodResult['routing']): RoutingStage | null {
  if (!routing) return null;
  for (let k = routing.length - 1; k >= 0; k--) {
    const row = routing[k] ?? [];
    const rows: RoutingStage['rows'] = [];
    row.forEach((w, t) => {
      if (!Array.isArray(w) || w.length === 0) return;
      const weights = w.map((x) => (isScore(x) ? x : 0));
      rows.push({ task: t, weights, top: weights.reduce((best, x, j) => (x > weights[best] ? j : best), 0) });
    });
    if (rows.length > 0) return { stage: k, blocks: Math.max(...rows.map((r) => r.weights.length)), rows };
  }
  return null;
}

/** One example of a task with every method's prediction for it. */
export interface SampleRow {
  input: string;
  gold: string;
  /** Per method, in `methodNames` order; null when that method has no prediction for this example. */
  predictions: (string | null)[];
}

/**
 * The sample predictions on task t side by side: examples are matched across methods by their input
 * and gold answer (every method is shown the same test examples), in the order first seen.
 */
export function sampleRows(results: RunResults, t: number): SampleRow[] {
  const names = methodNames(results);
  const rows: SampleRow[] = [];
  const index = new Map<string, number>();
  names.forEach((name, mi) => {
    for (const s of results.methods[name]?.samples?.[t] ?? []) {
      const key = `${s.input}\u0000${s.gold}`;
      let i = index.get(key);
      if (i === undefined) {
        i = rows.length;
        index.set(key, i);
        rows.push({ input: s.input, gold: s.gold, predictions: names.map(() => null) });
      }
      if (rows[i].predictions[mi] === null) rows[i].predictions[mi] = s.prediction;
    }
  });
  return rows;
}

/** The name of a task's scoring metric as shown to people. */
export function metricLabel(metric: RunResults['tasks'][number]['metric']): string {
  return metric === 'em' ? 'exact match' : 'ROUGE-L';
}

/** A file-name-safe form of a name: letters, digits, dots, dashes and underscores; 'unnamed' when nothing is left. */
export function fileSlug(name: string): string {
  const s = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^\w.-]+/g, '-').replace(/-+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 60);
  return s || 'unnamed';
}

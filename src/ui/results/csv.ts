// CSV exports of RunResults: a generic RFC 4180 writer, the per-stage scores and the metrics table.
import type { RunResults } from '../../cl/runner.ts';
import { methodNames } from '../../report/series.ts';
import { metricsRows, stageRows } from '../../report/tables.ts';

/** A CSV field: text, a number, or nothing (an empty field). */
export type CsvValue = string | number | null | undefined;

/** One field, quoted (with inner quotes doubled) when it holds a comma, a quote, a line break or edge spaces. */
export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV of the rows (the first row is usually the header), CRLF line ends and a final CRLF. */
export function toCsv(rows: readonly (readonly CsvValue[])[]): string {
  return rows.map((row) => row.map(csvField).join(',') + '\r\n').join('');
}

/** Header of `scoresCsv`. */
export const SCORES_CSV_HEADER = ['method', 'stage', 'trained_task', 'task_index', 'task', 'score'] as const;

/**
 * One row per method x stage x task: the method, the 1-based stage, the task trained in that stage,
 * the 1-based index and name of the evaluated task, and its score (empty where not evaluated). A
 * joint method has one stage, whose trained task reads "all (joint)".
 */
export function scoresCsv(results: RunResults): string {
  const rows: CsvValue[][] = [[...SCORES_CSV_HEADER]];
  for (const method of methodNames(results)) {
    const joint = results.methods[method].matrix === null;
    for (const row of stageRows(results, method)) {
      const trained = joint ? 'all (joint)' : results.tasks[row.stage].name;
      row.cells.forEach((score, t) => rows.push([method, row.stage + 1, trained, t + 1, results.tasks[t].name, score]));
    }
  }
  return toCsv(rows);
}

/** Header of `metricsCsv`. */
export const METRICS_CSV_HEADER = ['method', 'algorithm', 'joint', 'ap', 'fra', 'bwt', 'fwt'] as const;

/** One row per method with AP, F.Ra, BWT and FWT (empty when not available), as in the metrics table. */
export function metricsCsv(results: RunResults): string {
  const rows: CsvValue[][] = [[...METRICS_CSV_HEADER]];
  for (const r of metricsRows(results)) rows.push([r.method, r.algorithm, r.joint ? 'yes' : 'no', r.ap, r.fra, r.bwt, r.fwt]);
  return toCsv(rows);
}

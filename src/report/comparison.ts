// A report over several runs of the same methods (the task orders of a benchmark, or seeds): each metric per run and
// its mean over the runs per method, then every run's own report in a folder of its own, as named file contents.
import type { RunResults } from '../cl/runner.ts';
import { escapeMarkdown, markdownTable, oneDecimal } from './markdown.ts';
import { REPORT_FILE, reportFiles, type ReportFile } from './report.ts';
import { methodNames } from './series.ts';
import { fileSlug, METRIC_KEYS, METRIC_TITLES, metricsRows, type MetricKey } from './tables.ts';

export interface LabelledRun {
  /** How the run is named in the tables and its folder ("order 1"). */
  label: string;
  results: RunResults;
}

/** Each run's folder: its label made file-safe, `-2`, `-3`, ... where labels end up alike. */
export function runFolders<Run extends { label: string }>(runs: readonly Run[]): string[] {
  const used = new Set<string>();
  return runs.map((r) => {
    const base = fileSlug(r.label) || 'run';
    let name = base;
    for (let n = 2; used.has(name.toLowerCase()); n++) name = `${base}-${n}`;
    used.add(name.toLowerCase());
    return name;
  });
}

/** Every method of any run, in the first run's order, then the others' new ones. */
function allMethods(runs: readonly LabelledRun[]): string[] {
  const names: string[] = [];
  for (const r of runs) for (const n of methodNames(r.results)) if (!names.includes(n)) names.push(n);
  return names;
}

/** The mean of the values when every run has one, else null (a mean over some runs would not compare). */
export function meanOfAll(values: readonly (number | null)[]): number | null {
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
}

/** The sample standard deviation (n - 1) of the values when every run has one and there are at least two, else null. */
export function spreadOfAll(values: readonly (number | null)[]): number | null {
  const mean = meanOfAll(values);
  if (mean === null || values.length < 2) return null;
  return Math.sqrt((values as number[]).reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
}

/** One metric of every method: a column per run, the mean over runs and their spread (standard deviation), blank where a run lacks it. */
export function metricAcrossRuns(runs: readonly LabelledRun[], key: MetricKey): string {
  const perRun = runs.map((r) => new Map(metricsRows(r.results).map((row) => [row.method, row[key]])));
  const rows = allMethods(runs).map((method) => {
    const values = perRun.map((m) => m.get(method) ?? null);
    return [escapeMarkdown(method), ...values.map(oneDecimal), oneDecimal(meanOfAll(values)), oneDecimal(spreadOfAll(values))];
  });
  return markdownTable(['Method', ...runs.map((r) => escapeMarkdown(r.label)), 'Mean', 'Spread (SD)'], rows);
}

/** Why these runs do not compare (different numbers of tasks), or null. */
export function comparisonProblem(runs: readonly LabelledRun[]): string | null {
  const T = runs[0].results.tasks.length;
  const other = runs.find((r) => r.results.tasks.length !== T);
  if (!other) return null;
  return `"${other.label}" has ${other.results.tasks.length} tasks, "${runs[0].label}" ${T}: runs compare only over the same number of tasks`;
}

/**
 * A notice when the runs' task names differ as sets (renamed tasks): they are then matched by position, task k of
 * each run with task k of the others. Null when every run has the same tasks (in any order).
 */
export function comparisonNotice(runs: readonly LabelledRun[]): string | null {
  const key = (r: LabelledRun) => r.results.tasks.map((t) => t.name).slice().sort().join('\u0000');
  const first = key(runs[0]);
  const other = runs.find((r) => key(r) !== first);
  if (!other) return null;
  return `The runs name their tasks differently ("${runs[0].label}": ${runs[0].results.tasks.map((t) => t.name).join(', ')}; "${other.label}": ${other.results.tasks.map((t) => t.name).join(', ')}), so tasks are matched by position: task k of each run with task k of the others.`;
}

export function comparisonMarkdown(runs: readonly LabelledRun[], title: string): string {
  const folders = runFolders(runs);
  const out: string[] = [`# ${escapeMarkdown(title)}`, ''];
  out.push(`${runs.length} runs of ${runs[0].results.tasks.length} tasks. Scores are percentages; "Mean" averages the runs and "Spread (SD)" is their standard deviation (n − 1), both blank when a run has no value.`, '');
  const notice = comparisonNotice(runs);
  if (notice) out.push(`> ${escapeMarkdown(notice)}`, '');
  out.push('## Runs', '');
  out.push(markdownTable(['Run', 'Task order', 'Methods', 'Device', 'Wall time (s)', 'Report'], runs.map((r, i) => [
    escapeMarkdown(r.label), escapeMarkdown(r.results.tasks.map((t) => t.name).join(' → ')), String(methodNames(r.results).length),
    escapeMarkdown(r.results.device || ''), oneDecimal(r.results.seconds), `[${folders[i]}/${REPORT_FILE}](${folders[i]}/${REPORT_FILE})`,
  ]), false), '');
  for (const key of METRIC_KEYS) out.push(`## ${METRIC_TITLES[key]}`, '', metricAcrossRuns(runs, key), '');
  return out.join('\n');
}

/** report.md with the tables across runs, and each run's full report under its folder. */
export function comparisonFiles(runs: readonly LabelledRun[], title: string): ReportFile[] {
  if (runs.length < 2) throw new Error('a comparison needs at least two runs');
  const problem = comparisonProblem(runs);
  if (problem) throw new Error(problem);
  const folders = runFolders(runs);
  return [
    { name: REPORT_FILE, content: comparisonMarkdown(runs, title) },
    ...runs.flatMap((r, i) => reportFiles(r.results, { title: `${title}: ${r.label}` }).map((f) => ({ ...f, name: `${folders[i]}/${f.name}` }))),
  ];
}

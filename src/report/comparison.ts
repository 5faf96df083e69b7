// Several runs of the same methods (the task orders of a benchmark, or seeds) compared, for `clora report` and the
// app's Compare view alike: tasks matched by name or by position, what differs between the runs, each metric per run
// with its mean, SD and n per method, and the report over the runs with every run's own report in a folder of its own.
import type { RunResults } from '../cl/runner.ts';
import { formatCount } from './format.ts';
import { escapeMarkdown, markdownTable, oneDecimal } from './markdown.ts';
import { CURVES_FILE, REPORT_FILE, reportFiles, type ReportFile } from './report.ts';
import { methodNames } from './series.ts';
import { defaultColorBy, overlayCurvesSvg } from './compare-series.ts';
import { matchTasks, type LabelledRun } from './task-match.ts';
import { fileSlug, HIGHER_IS_BETTER, METRIC_KEYS, METRIC_TITLES, metricsRows, vacuousMetric, type MetricKey, type MetricsRow } from './tables.ts';


export { matchTasks, type LabelledRun, type TaskMatch } from './task-match.ts';

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

/** The mean of the values when every run has one, else null (the README's published table: a mean over some runs would not compare). */
export function meanOfAll(values: readonly (number | null)[]): number | null {
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
}

/** Mean, sample standard deviation (n − 1) and count of the values that exist; the mean needs one value, the SD two. */
export interface Spread {
  mean: number | null;
  sd: number | null;
  n: number;
}

const isScore = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The spread of the finite values among `values` (nulls, and runs without the value, are left out and not counted). */
export function spreadOf(values: readonly (number | null | undefined)[]): Spread {
  const xs = values.filter(isScore);
  const n = xs.length;
  if (n === 0) return { mean: null, sd: null, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? null : Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return { mean, sd, n };
}

/** One metric of a method over the runs: each run's value (null where the run lacks the method or the value) and their spread. */
export interface MetricSpread extends Spread {
  values: (number | null)[];
  /** Some run's value rests on a task the method learned nothing on (see `vacuousMetric`): the mean is no achievement. */
  vacuous: boolean;
}

/** A method (by name) across the runs: in which runs it is, and each metric's values and spread. */
export interface MethodSummary {
  method: string;
  /** The algorithms recorded under this name, one each unless the runs disagree. */
  algorithms: string[];
  /** A joint (multi-task) method in every run that has it: only AP applies. */
  joint: boolean;
  /** Per run: whether the run has this method. */
  inRun: boolean[];
  metrics: Record<MetricKey, MetricSpread>;
}

/**
 * Every method of any run (the first run's order, then the others' new ones) with AP, F.Ra, BWT and FWT per run and
 * their mean, SD and n over the runs that have a value: runs of one method over seeds and task orders side by side.
 */
export function methodSummaries(runs: readonly LabelledRun[]): MethodSummary[] {
  const rows = runs.map((r) => new Map(metricsRows(r.results).map((row) => [row.method, row])));
  return allMethods(runs).map((method): MethodSummary => {
    const own = rows.map((m) => m.get(method) ?? null);
    const present = own.filter((row): row is MetricsRow => row !== null);
    const metrics = {} as Record<MetricKey, MetricSpread>;
    for (const key of METRIC_KEYS) {
      const values = own.map((row) => row?.[key] ?? null);
      const vacuous = own.some((row, i) => row !== null && row[key] !== null && vacuousMetric(row, key, runs[i].results.tasks.length));
      metrics[key] = { ...spreadOf(values), values, vacuous };
    }
    return {
      method,
      algorithms: [...new Set(present.map((row) => row.algorithm))],
      joint: present.length > 0 && present.every((row) => row.joint),
      inRun: own.map((row) => row !== null),
      metrics,
    };
  });
}

/**
 * The best mean of each metric over the continual methods, null where none has one. A vacuous mean (see
 * `MetricSpread.vacuous`) is never the best, as in a single run's table; nor is anything when fewer than two compete.
 */
export function bestMeans(summaries: readonly MethodSummary[]): Record<MetricKey, number | null> {
  const out = { ap: null, fra: null, bwt: null, fwt: null } as Record<MetricKey, number | null>;
  for (const key of METRIC_KEYS) {
    const candidates = summaries.filter((s) => !s.joint && !s.metrics[key].vacuous && s.metrics[key].mean !== null).map((s) => s.metrics[key].mean!);
    if (candidates.length < 2) continue;
    out[key] = HIGHER_IS_BETTER[key] ? Math.max(...candidates) : Math.min(...candidates);
  }
  return out;
}

/** One metric of every method: a column per run, the mean over the runs with a value, their spread (SD) and n; blank where missing. */
export function metricAcrossRuns(runs: readonly LabelledRun[], key: MetricKey): string {
  const rows = methodSummaries(runs).map((s) => {
    const m = s.metrics[key];
    return [escapeMarkdown(s.method), ...m.values.map(oneDecimal), oneDecimal(m.mean), oneDecimal(m.sd), m.n > 0 ? String(m.n) : ''];
  });
  return markdownTable(['Method', ...runs.map((r) => escapeMarkdown(r.label)), 'Mean', 'Spread (SD)', 'n'], rows);
}

/** Why these runs do not compare (different numbers of tasks), or null. */
export function comparisonProblem(runs: readonly LabelledRun[]): string | null {
  const T = runs[0].results.tasks.length;
  const other = runs.find((r) => r.results.tasks.length !== T);
  if (!other) return null;
  return `"${other.label}" has ${other.results.tasks.length} tasks, "${runs[0].label}" ${T}: runs compare only over the same number of tasks`;
}

/**
 * A notice when the runs' task names differ as sets (renamed tasks): they are then matched by position, and the
 * notice names each pair (the positions whose names differ). Null when every run has the same tasks (in any order).
 */
export function comparisonNotice(runs: readonly LabelledRun[]): string | null {
  const match = matchTasks(runs);
  if (match.byName) return null;
  const pairs = match.names.flatMap((names, j) => (new Set(names).size > 1
    ? [`task ${j + 1} is ${names.map((n, r) => `"${n}" in "${runs[r].label}"`).join(', ')}`] : []));
  return `The runs name their tasks differently, so tasks are matched by position (task k of each run with task k of the others): ${pairs.join('; ')}.`;
}

/** A setting (or the model, device, task order or methods) whose value is not the same in every run, with each run's value. */
export interface RunDifference {
  field: string;
  values: string[];
}

const shown = (v: unknown): string => (v === null || v === undefined ? '—' : Array.isArray(v) ? v.map(shown).join(', ') : String(v));

/** The settings as dotted fields ("lora.rank") and printable values. */
function flatSettings(value: Record<string, unknown>, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of flatSettings(v as Record<string, unknown>, `${prefix}${key}.`)) out.set(k, x);
    else out.set(`${prefix}${key}`, shown(v));
  }
  return out;
}

/**
 * What is not the same in every run: the model's architecture and size, the device, every setting (model, seed,
 * steps, lora.rank, ...), the task order when the same tasks come in other orders, and the methods run. Runs of other
 * models or settings still compare; this says what their numbers rest on.
 */
export function runDifferences(runs: readonly LabelledRun[]): RunDifference[] {
  const fields: [string, (r: RunResults) => string][] = [
    ['architecture', (r) => (r.model ? `${r.model.arch} ${formatCount(r.model.params)} parameters, ${r.model.layers} layers` : '—')],
    ['device', (r) => r.device || '—'],
  ];
  const settings = runs.map((r) => flatSettings(r.results.settings as unknown as Record<string, unknown>));
  const keys: string[] = [];
  for (const s of settings) for (const k of s.keys()) if (!keys.includes(k)) keys.push(k);
  const out: RunDifference[] = [];
  const add = (field: string, values: string[]) => {
    if (new Set(values).size > 1) out.push({ field, values });
  };
  for (const [field, read] of fields) add(field, runs.map((r) => read(r.results)));
  for (const k of keys) add(k, settings.map((s) => s.get(k) ?? '—'));
  if (matchTasks(runs).byName) add('task order', runs.map((r) => r.results.tasks.map((t) => t.name).join(' → ')));
  add('methods', runs.map((r) => methodNames(r.results).join(', ')));
  return out;
}

/** A run's methods with the options they ran with, where known (the app's stored runs keep them; results.json does not). */
export interface RunMethodOptions {
  methods?: readonly { name: string; options?: object }[];
}

/**
 * The method options ("replay.bufferSize") whose values differ between the runs that recorded them, each run's value
 * in order ("not recorded" for a run without them, "—" for a run without the method). Empty when fewer than two runs
 * recorded their options.
 */
export function methodOptionDifferences(runs: readonly RunMethodOptions[]): RunDifference[] {
  const known = runs.filter((r) => r.methods);
  if (known.length < 2) return [];
  const perRun = runs.map((r) => {
    if (!r.methods) return null;
    const out = new Map<string, string>();
    for (const m of r.methods) for (const [k, v] of flatSettings((m.options ?? {}) as Record<string, unknown>, `${m.name}.`)) out.set(k, v);
    return { out, names: new Set(r.methods.map((m) => m.name)) };
  });
  // Each option's field and the method it belongs to (a method's name may itself hold a dot).
  const fields = new Map<string, string>();
  for (const r of runs) for (const m of r.methods ?? []) for (const k of flatSettings((m.options ?? {}) as Record<string, unknown>, `${m.name}.`).keys()) if (!fields.has(k)) fields.set(k, m.name);
  const diffs: RunDifference[] = [];
  for (const [field, method] of fields) {
    const values = perRun.map((p) => (p === null ? 'not recorded' : !p.names.has(method) ? '—' : p.out.get(field) ?? 'default'));
    const recorded = values.filter((v, i) => perRun[i] !== null && v !== '—');
    if (new Set(recorded).size > 1) diffs.push({ field, values });
  }
  return diffs;
}

/** One sentence listing the differences (each run's value in run order), or null when the runs agree on everything. */
export function differencesNotice(runs: readonly LabelledRun[], differences: readonly RunDifference[] = runDifferences(runs)): string | null {
  if (differences.length === 0) return null;
  return `The runs differ in ${differences.map((d) => `${d.field} (${d.values.map((v, r) => `${runs[r].label}: ${v}`).join('; ')})`).join(', ')}.`;
}

export function comparisonMarkdown(runs: readonly LabelledRun[], title: string): string {
  const folders = runFolders(runs);
  const out: string[] = [`# ${escapeMarkdown(title)}`, ''];
  out.push(`${runs.length} runs of ${runs[0].results.tasks.length} tasks. Scores are percentages; "Mean" averages the runs that have a value, "Spread (SD)" is their standard deviation (n − 1, blank under two values) and "n" counts them.`, '');
  for (const notice of [comparisonNotice(runs), differencesNotice(runs)]) if (notice) out.push(`> ${escapeMarkdown(notice)}`, '');
  out.push('## Runs', '');
  out.push(markdownTable(['Run', 'Task order', 'Methods', 'Device', 'Wall time (s)', 'Report'], runs.map((r, i) => [
    escapeMarkdown(r.label), escapeMarkdown(r.results.tasks.map((t) => t.name).join(' → ')), String(methodNames(r.results).length),
    escapeMarkdown(r.results.device || ''), oneDecimal(r.results.seconds), `[${folders[i]}/${REPORT_FILE}](${folders[i]}/${REPORT_FILE})`,
  ]), false), '');
  for (const key of METRIC_KEYS) out.push(`## ${METRIC_TITLES[key]}`, '', metricAcrossRuns(runs, key), '');
  out.push('## Forgetting curves', '', `![Forgetting curves of the runs overlaid: each run's methods on each task after each training stage](${CURVES_FILE})`, '');
  return out.join('\n');
}

/** report.md with the tables across runs, the runs' curves overlaid (forgetting-curves.svg), and each run's full report under its folder. */
export function comparisonFiles(runs: readonly LabelledRun[], title: string): ReportFile[] {
  if (runs.length < 2) throw new Error('a comparison needs at least two runs');
  const problem = comparisonProblem(runs);
  if (problem) throw new Error(problem);
  const folders = runFolders(runs);
  return [
    { name: REPORT_FILE, content: comparisonMarkdown(runs, title) },
    { name: CURVES_FILE, content: overlayCurvesSvg(runs, title, defaultColorBy(runs)) },
    ...runs.flatMap((r, i) => reportFiles(r.results, { title: `${title}: ${r.label}` }).map((f) => ({ ...f, name: `${folders[i]}/${f.name}` }))),
  ];
}

/**
 * The base of a comparison's file names, after its runs: "compare-order-1-vs-order-2"; with many or long labels, the
 * first run's and a count ("compare-order-1-and-4-more"), so names stay short.
 */
export function comparisonFileBase(labels: readonly string[]): string {
  const slugs = labels.map((l) => fileSlug(l));
  const all = `compare-${slugs.join('-vs-')}`;
  if (all.length <= 80) return all;
  return `compare-${slugs[0].slice(0, 40)}-and-${slugs.length - 1}-more`;
}

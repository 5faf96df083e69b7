// A publishable report of one run: the Markdown document and the SVG figures it links, as named file contents.
import { METRIC_DEFINITIONS } from '../cl/metrics.ts';
import type { RunResults } from '../cl/runner.ts';
import { methodHeatmapSvg } from './heatmap-svg.ts';
import { panelGridSvg } from './line-chart-svg.ts';
import { escapeMarkdown, markdownTable, oneDecimal } from './markdown.ts';
import { forgettingSeries, methodLegend, methodNames } from './series.ts';
import { fileSlug, lastRouting, METRIC_KEYS, METRIC_TITLES, metricLabel, metricsRows, stageRows, vacuousMetric } from './tables.ts';
import { baselineLines, learnedNothing, learnedNothingNote, taskBaseline } from './verdicts.ts';

/** Heading of a report without `title`. */
export const DEFAULT_REPORT_TITLE = 'Continual-learning report';

/** File name of the forgetting curves figure. */
export const CURVES_FILE = 'forgetting-curves.svg';

/** File name of the Markdown document. */
export const REPORT_FILE = 'report.md';

export interface ReportOptions {
  /** The document's heading (default DEFAULT_REPORT_TITLE). */
  title?: string;
}

/** One file of a report: its name, relative to the report's folder, and its text. */
export interface ReportFile {
  name: string;
  content: string;
}

/**
 * The heatmap file name of every method, `heatmap-<method>.svg` with the name made file-safe;
 * names that end up alike get `-2`, `-3`, ... so no figure overwrites another.
 */
export function heatmapFiles(results: RunResults): Record<string, string> {
  const used = new Set<string>();
  const out: Record<string, string> = {};
  for (const name of methodNames(results)) {
    const base = `heatmap-${fileSlug(name)}`;
    let file = `${base}.svg`;
    for (let n = 2; used.has(file.toLowerCase()); n++) file = `${base}-${n}.svg`;
    used.add(file.toLowerCase());
    out[name] = file;
  }
  return out;
}

/** Every method's score on each task after each training stage: one panel per task, x = stage 1..T, y = score 0..100. */
export function forgettingCurvesSvg(results: RunResults, title: string): string {
  const T = results.tasks.length;
  const every = Math.ceil(T / 12);
  const stages = Array.from({ length: T }, (_, k) => k + 1).filter((k) => (k - 1) % every === 0);
  return panelGridSvg({
    title: `${title}: score on each task after each training stage`,
    legend: methodLegend(results),
    panels: forgettingSeries(results).map((c) => ({
      title: `${c.task + 1}: ${c.name} (${metricLabel(results.tasks[c.task].metric)})`,
      lines: [...baselineLines(results, c.task), ...c.series],
    })),
    x: { min: T > 1 ? 1 : 0, max: T > 1 ? T : 2, ticks: stages, label: 'after training task' },
    y: { min: 0, max: 100, ticks: [0, 25, 50, 75, 100], label: 'score' },
    emptyText: 'No scores on this task.',
  });
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const plain = (v: unknown): string => escapeMarkdown(String(v));

function settingsTable(results: RunResults): string {
  const s = results.settings;
  const m = results.model;
  const rows: [string, string][] = [
    ['Model', s.model === null || s.model === undefined ? 'bundled demo model' : plain(s.model)],
    ['Architecture', m ? `${plain(m.arch)}, ${Number(m.params).toLocaleString('en-US')} parameters, ${m.layers} layers, hidden size ${m.hidden}` : ''],
    ['Device', plain(results.device ?? '')],
    s.steps !== null && s.steps !== undefined ? ['Steps per task', String(s.steps)] : ['Epochs per task', String(s.epochs ?? '')],
    ['Batch size', String(s.batchSize)],
    ['Learning rate', String(s.lr)],
    ['LoRA', `rank ${s.lora.rank}, alpha ${s.lora.alpha}, dropout ${s.lora.dropout}, on ${s.lora.targets.map(plain).join(', ')}`],
    ['Seed', String(s.seed)],
    ['Max length', `${s.maxLength} tokens${s.seqLen ? ` (sequence length ${s.seqLen})` : ''}`],
  ];
  if (s.maxNewTokens !== undefined) rows.push(['Max new tokens', String(s.maxNewTokens)]);
  if (s.evaluateUnseen !== undefined) rows.push(['Unseen tasks evaluated', s.evaluateUnseen ? 'yes' : 'no']);
  if (s.maxTrain || s.maxTest) rows.push(['Examples per task at most', `train ${s.maxTrain ?? 'all'}, test ${s.maxTest ?? 'all'}`]);
  return markdownTable(['Setting', 'Value'], rows, false);
}

/** The tasks table; with recorded baselines, each task's majority label with its score, and chance. */
export function tasksTable(results: RunResults): string {
  const single = results.singleTask;
  const withBaselines = results.tasks.some((_, t) => taskBaseline(results, t) !== null);
  const header = ['#', 'Task', 'Metric', 'Train', 'Test', ...(withBaselines ? ['Majority label', 'Chance'] : []), ...(single ? ['Single-task score'] : [])];
  const rows = results.tasks.map((t, i) => {
    const b = taskBaseline(results, i);
    const majority = b?.majority != null ? `${oneDecimal(b.majority)} (${escapeMarkdown(String(b.majorityLabel))})` : '';
    return [
      String(i + 1), escapeMarkdown(t.name), metricLabel(t.metric), String(t.train), String(t.test),
      ...(withBaselines ? [majority, b?.chance != null ? oneDecimal(b.chance) : ''] : []), ...(single ? [oneDecimal(single[i])] : []),
    ];
  });
  return markdownTable(header, rows, false);
}

/**
 * The metrics table: one row per method in the run's order, AP, F.Ra, BWT and FWT with one decimal, blank where missing;
 * a value that rests on a task the method learned nothing on is marked ∅.
 */
export function metricsTable(results: RunResults): string {
  const T = results.tasks.length;
  const rows = metricsRows(results).map((r) => {
    const what = r.joint ? ' (joint)' : r.algorithm !== r.method ? ` (${escapeMarkdown(r.algorithm)})` : '';
    return [`${escapeMarkdown(r.method)}${what}`, ...METRIC_KEYS.map((k) => `${oneDecimal(r[k])}${r[k] !== null && vacuousMetric(r, k, T) ? ' ∅' : ''}`)];
  });
  return markdownTable(['Method', ...METRIC_KEYS.map((k) => METRIC_TITLES[k])], rows);
}

/**
 * A method's score matrix: one row per training stage ("after k: task"), one column per task, blank where not evaluated;
 * a score right after training a task at or below its majority-label score is marked ∅; rows of the tasks' majority-label
 * and chance scores follow when the results record them.
 */
export function matrixTable(results: RunResults, method: string): string {
  const header = ['Stage', ...results.tasks.map((t, i) => `${i + 1}: ${escapeMarkdown(t.name)}`)];
  const nothing = learnedNothing(results, method);
  const joint = results.methods[method]?.matrix === null;
  const rows = stageRows(results, method).map((r) => [
    escapeMarkdown(r.label), ...r.cells.map((v, t) => `${oneDecimal(v)}${nothing[t] && (joint || t === r.stage) ? ' ∅' : ''}`),
  ]);
  for (const key of ['majority', 'chance'] as const) {
    const values = results.tasks.map((_, t) => taskBaseline(results, t)?.[key] ?? null);
    if (values.some((v) => v !== null)) rows.push([key === 'majority' ? '*majority label*' : '*chance*', ...values.map((v) => (v === null ? '' : oneDecimal(v)))]);
  }
  return markdownTable(header, rows);
}

/**
 * A selector's weights at the last stage that has any (SAPT's `routing`): one row per task evaluated
 * then, the mean weight on each block over that task's test prompts (two decimals), and the block
 * with the most weight. Null for a method without routing.
 */
export function routingTable(results: RunResults, method: string): { stage: number; table: string } | null {
  const stage = lastRouting(results.methods[method]?.routing ?? null);
  if (!stage) return null;
  const tasks = results.tasks;
  const header = ['Task', ...Array.from({ length: stage.blocks }, (_, j) => `block ${j + 1}`), 'Top block'];
  const rows = stage.rows.map(({ task, weights, top }) => {
    const cells = Array.from({ length: stage.blocks }, (_, j) => (j < weights.length ? weights[j].toFixed(2) : ''));
    return [`${task + 1}: ${escapeMarkdown(tasks[task]?.name ?? '')}`, ...cells, top === task ? `${top + 1} (own)` : String(top + 1)];
  });
  return { stage: stage.stage, table: markdownTable(header, rows) };
}

/** Training and evaluation seconds of every method, summed over its tasks, with its training throughput. */
export function wallTimeTable(results: RunResults): string {
  const rows = methodNames(results).map((name) => {
    const t = results.methods[name].timings;
    const train = sum(t.trainSeconds);
    const evaluation = sum(t.evalSeconds);
    return [escapeMarkdown(name), oneDecimal(train), oneDecimal(evaluation), oneDecimal(train + evaluation), Number.isFinite(t.tokensPerSecond) ? t.tokensPerSecond.toFixed(0) : ''];
  });
  return markdownTable(['Method', 'Training (s)', 'Evaluation (s)', 'Total (s)', 'Tokens/s (training)'], rows);
}

/** The Markdown document; `heatmaps` maps each method to its heatmap's file name, linked relative to the document. */
export function reportMarkdown(results: RunResults, heatmaps: Record<string, string>, options: ReportOptions = {}): string {
  const title = options.title ?? DEFAULT_REPORT_TITLE;
  const T = results.tasks.length;
  const names = methodNames(results);
  const out: string[] = [`# ${escapeMarkdown(title)}`, ''];
  out.push(`${T} ${T === 1 ? 'task' : 'tasks'} trained in order, ${names.length} ${names.length === 1 ? 'method' : 'methods'}, ${oneDecimal(results.seconds)} s in all. Scores are percentages.`, '');
  out.push('## Settings', '', settingsTable(results), '');
  out.push('## Tasks', '', tasksTable(results), '');
  out.push('## Metrics', '', metricsTable(results), '');
  out.push('A blank cell has no value: FWT needs the oracle\'s single-task scores, a joint method has only AP, and a method whose run is not finished has no metrics yet.', '');
  const nothing = names.map((name) => learnedNothingNote(results, name)).filter((n): n is string => n !== null);
  if (nothing.length > 0) {
    out.push(...nothing.map((n) => `- ${escapeMarkdown(n)}`), '', 'Values marked ∅ rest on such tasks: learning nothing forgets nothing, so they are no achievement.', '');
  }
  for (const k of METRIC_KEYS) out.push(`- ${escapeMarkdown(METRIC_DEFINITIONS[k])}`);
  out.push('', `![Forgetting curves: every method's score on each task after each training stage](${CURVES_FILE})`, '');
  out.push('## Score matrices', '', 'Row "after k" holds the scores on every task after training task k; a blank cell was not evaluated. ∅ marks a score right after training a task at or below its majority-label score (nothing learnt; zero where the results record no majority-label score); the *majority label* and *chance* rows, when recorded, are what the task\'s test split gives for free.', '');
  for (const name of names) {
    out.push(`### ${escapeMarkdown(name)}`, '', matrixTable(results, name), '', `![Score heatmap of ${escapeMarkdown(name)}](${heatmaps[name]})`, '');
  }
  const routed = names.map((name) => ({ name, routing: routingTable(results, name) })).filter((r) => r.routing !== null);
  if (routed.length > 0) {
    out.push('## Selector weights', '', 'Block j holds the LoRA of task j. Each row is the selector\'s mean weight on every block over one task\'s test prompts, measured after the stage named in the heading: whether the selector sends each task to its own block.', '');
    for (const { name, routing } of routed) out.push(`### ${escapeMarkdown(name)}, after task ${routing!.stage + 1}`, '', routing!.table, '');
  }
  out.push('## Wall time', '', wallTimeTable(results), '');
  return out.join('\n');
}

/** Every file of the report: report.md, forgetting-curves.svg and one heatmap per method. */
export function reportFiles(results: RunResults, options: ReportOptions = {}): ReportFile[] {
  const heatmaps = heatmapFiles(results);
  return [
    { name: REPORT_FILE, content: reportMarkdown(results, heatmaps, options) },
    { name: CURVES_FILE, content: forgettingCurvesSvg(results, options.title ?? DEFAULT_REPORT_TITLE) },
    ...methodNames(results).map((name) => ({ name: heatmaps[name], content: methodHeatmapSvg(results, name) })),
  ];
}

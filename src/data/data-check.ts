// What the Tasks panel checks in a task's data before a run: how many tokens its examples take against the max
// length (and how many would be cut, and how), the size and label balance of its test split with the
// majority-label score, and a max length that fits the data within a memory budget.
import { taskBaselines, type TaskBaselines } from '../cl/baselines.ts';
import { pickMetric } from '../cl/scoring.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';
import { encodeTaskExample } from './fit-example.ts';
import type { Task } from './task.ts';

/** Token lengths of a task's examples (prompt with the chat template, plus answer and EOS), uncut. */
export interface LengthCheck {
  /** Examples measured: all of train and test, or the first `limit` of them. */
  measured: number;
  /** Examples the task has (train + test). */
  total: number;
  maxLength: number;
  median: number;
  p90: number;
  max: number;
  /** Counts per bin of `binWidth` tokens: bins[i] counts lengths in (i * binWidth, (i + 1) * binWidth]. */
  bins: number[];
  binWidth: number;
  /** Measured examples longer than maxLength: they lose the end of their input. */
  truncated: number;
  /** Of those, the ones that do not fit even with an empty input (the instruction loses its start). */
  instructionCut: number;
  /** Every measured length, ascending. */
  lengths: number[];
}

/** The test split: its size, each label's count (most common first) and the floors scores are read against. */
export interface TestSplitCheck {
  size: number;
  labels: { label: string; count: number }[] | null;
  baselines: TaskBaselines;
}

/**
 * Most examples per split the data check reads of a split the run leaves uncapped: a seeded sample, drawn as the caps
 * draw theirs, so that checking a file of any size holds a bounded number of examples (the reading budget of
 * docs/EXPERIMENTS.md) while a run without caps still reads every example when it trains.
 */
export const CHECK_SAMPLE = 5000;

/** The caps the data check reads a task with: the run's own, and CHECK_SAMPLE for a split the run leaves uncapped. */
export function dataCheckCaps(maxTrain: number | null, maxTest: number | null): { maxTrain: number; maxTest: number; sampled: boolean } {
  return { maxTrain: maxTrain ?? CHECK_SAMPLE, maxTest: maxTest ?? CHECK_SAMPLE, sampled: maxTrain === null || maxTest === null };
}

/** Whether a split read under `dataCheckCaps` may be a sample of a larger one: it was uncapped by the run and filled the sample. */
export function isSampled(size: number, runCap: number | null): boolean {
  return runCap === null && size >= CHECK_SAMPLE;
}

/** The value at quantile q (0..1) of sorted values (nearest rank). */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * Measures a task's examples with the run's tokenizer and prompt template. Long tasks are measured on their first
 * `limit` examples (train, then test) to keep the check quick; `measured` says how many.
 */
export function checkLengths(tokenizer: TextTokenizer, task: Task, maxLength: number, limit = 2000): LengthCheck {
  const examples = [...task.train, ...task.test].slice(0, limit);
  const lengths: number[] = [];
  let truncated = 0;
  let instructionCut = 0;
  for (const ex of examples) {
    const e = encodeTaskExample(tokenizer, task.instruction, ex.input, ex.output, maxLength);
    lengths.push(e.fullLength);
    if (e.cut !== 'none') truncated++;
    if (e.cut === 'prompt') instructionCut++;
  }
  const sorted = lengths.slice().sort((a, b) => a - b);
  const max = sorted[sorted.length - 1] ?? 0;
  // About 12 bins over 0..max(max, maxLength), in multiples of 8 tokens.
  const binWidth = Math.max(8, Math.ceil(Math.max(max, maxLength) / 12 / 8) * 8);
  const bins = new Array<number>(Math.ceil(Math.max(max, maxLength) / binWidth)).fill(0);
  for (const n of lengths) bins[Math.max(0, Math.ceil(n / binWidth) - 1)]++;
  return {
    measured: examples.length, total: task.train.length + task.test.length, maxLength,
    median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), max, bins, binWidth, truncated, instructionCut, lengths: sorted,
  };
}

/** The test split's size, label counts (for a task with a label set) and majority-label and chance scores. */
export function checkTestSplit(task: Task): TestSplitCheck {
  const golds = task.test.map((e) => e.output);
  const metric = pickMetric(task.labels);
  let labels: TestSplitCheck['labels'] = null;
  if (task.labels) {
    const counts = new Map<string, number>();
    for (const g of golds) counts.set(g, (counts.get(g) ?? 0) + 1);
    labels = [...counts].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
  }
  return { size: golds.length, labels, baselines: taskBaselines(golds, task.labels, metric) };
}

/**
 * A max length for the run: the longest measured example of any task rounded up to a multiple of 8, lowered (in
 * steps of 8, not below 16) until `fits` accepts it (a training step within the memory budget). `covers` is the
 * share of measured examples that fit whole at that length.
 */
export function suggestMaxLength(checks: readonly LengthCheck[], lengthsFit: (maxLength: number) => boolean): { maxLength: number; covers: number } | null {
  if (checks.length === 0) return null;
  const longest = Math.max(...checks.map((c) => c.max));
  let len = Math.max(16, Math.ceil(longest / 8) * 8);
  while (len > 16 && !lengthsFit(len)) len -= 8;
  const all = checks.reduce((n, c) => n + c.measured, 0);
  const fit = checks.reduce((n, c) => n + c.lengths.filter((x) => x <= len).length, 0);
  return { maxLength: len, covers: all > 0 ? fit / all : 1 };
}

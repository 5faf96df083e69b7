// Pure helpers of the playground: choosing defaults, labelling the selector's task modules, and keeping a short answer history.
import type { PlaygroundAnswer } from '../../cl/playground.ts';
import type { RunResults } from '../../cl/runner.ts';

/** How many past answers the playground keeps. */
export const HISTORY_LIMIT = 5;

/** `current` when it is one of `options`, else the first option, else null. */
export function pickOption<T>(current: T | null, options: readonly T[]): T | null {
  if (current !== null && options.includes(current)) return current;
  return options.length > 0 ? options[0] : null;
}

/** The method names of a run's results, in training order; none for missing results. */
export function resultMethods(results: RunResults | null): string[] {
  return results?.methods ? Object.keys(results.methods) : [];
}

/** A task index kept inside 0..count-1 (0 when there are no tasks). */
export function clampTask(task: number, count: number): number {
  if (!Number.isInteger(task) || count <= 0) return 0;
  return Math.min(count - 1, Math.max(0, task));
}

/** "2. ag_news" for module i (0-based) named by its task; "module 7" past the run's tasks. */
export function moduleLabel(index: number, taskNames: readonly string[]): string {
  const name = taskNames[index];
  return name !== undefined && name !== '' ? `${index + 1}. ${name}` : `module ${index + 1}`;
}

/** One task module's bar. */
export interface WeightBar {
  index: number;
  label: string;
  weight: number;
  /** The weight over the sum of the non-negative weights (0..1); 0 when they sum to nothing. */
  share: number;
}

/** The bars of a weight vector, one per module in order. */
export function weightBars(weights: readonly number[], taskNames: readonly string[]): WeightBar[] {
  const sum = weights.reduce((a, w) => a + (Number.isFinite(w) && w > 0 ? w : 0), 0);
  return weights.map((weight, index) => ({
    index,
    label: moduleLabel(index, taskNames),
    weight,
    share: sum > 0 && Number.isFinite(weight) && weight > 0 ? weight / sum : 0,
  }));
}

/** The index of the largest finite weight (the first on ties), or null when there is none. */
export function topModule(weights: readonly number[] | null): number | null {
  if (!weights) return null;
  let best: number | null = null;
  for (let i = 0; i < weights.length; i++) {
    if (Number.isFinite(weights[i]) && (best === null || weights[i] > weights[best])) best = i;
  }
  return best;
}

/** A weight with three decimals ("0.125"), or its text when not finite. */
export function formatWeight(w: number): string {
  return Number.isFinite(w) ? w.toFixed(3) : String(w);
}

/** One answered question, with what it was asked of. */
export interface AnswerEntry {
  /** Increasing number, the history's React key. */
  seq: number;
  runId: string;
  runTitle: string;
  method: string;
  task: number;
  /** The run's task names when asked, to label the weights. */
  taskNames: string[];
  input: string;
  answer: PlaygroundAnswer;
  /** Milliseconds from the request to the answer. */
  ms: number;
}

/** The history with `entry` first, at most `limit` long. */
export function pushHistory(history: readonly AnswerEntry[], entry: AnswerEntry, limit = HISTORY_LIMIT): AnswerEntry[] {
  return [entry, ...history].slice(0, Math.max(0, limit));
}

/** Whether the form can ask: a run, a method, a non-blank input, and no question in flight. */
export function canAsk(state: { runId: string | null; method: string | null; input: string; busy: boolean }): boolean {
  return state.runId !== null && state.method !== null && state.input.trim() !== '' && !state.busy;
}

// Reads a run's scores against what its tasks give for free: each task's majority-label and chance
// scores, and the tasks on which a method learned nothing (its score right after training the task at
// or below the majority-label score), so that no view presents such a score, or a metric built on it,
// as an achievement.
import type { TaskBaselines } from '../cl/baselines.ts';
import type { RunResults } from '../cl/runner.ts';

const isScore = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Task t's majority-label and chance scores, or null when the results do not record them (older files). */
export function taskBaseline(results: RunResults, t: number): TaskBaselines | null {
  const b = results.tasks[t]?.baselines;
  return b && typeof b === 'object' ? b : null;
}

/**
 * The score at or below which a method learned nothing on task t: the majority-label score when known, else 0
 * (a score of 0 is nothing on any task, which is all an older results file lets us say).
 */
export function nothingFloor(results: RunResults, t: number): number {
  const m = taskBaseline(results, t)?.majority;
  return isScore(m) ? m : 0;
}

/**
 * Per task: whether the method learned nothing on it, i.e. its score right after training that task (a joint
 * method: its final score) is at or below `nothingFloor`. False where that score does not exist yet.
 */
export function learnedNothing(results: RunResults, method: string): boolean[] {
  const r = results.methods[method];
  return results.tasks.map((_, t) => {
    const v = r?.matrix ? r.matrix[t]?.[t] : r?.final?.[t];
    return isScore(v) && v <= nothingFloor(results, t);
  });
}

/** A sentence naming the tasks (1-based) a method learned nothing on, or null when there are none. */
export function learnedNothingNote(results: RunResults, method: string): string | null {
  const tasks = learnedNothing(results, method).flatMap((v, t) => (v ? [t + 1] : []));
  if (tasks.length === 0) return null;
  const known = tasks.filter((t) => taskBaseline(results, t - 1)?.majority != null).length;
  const floor = known === tasks.length ? 'the majority-label score' : known === 0 ? 'zero' : 'the majority-label score (zero on free-text tasks)';
  const which = tasks.length === results.tasks.length ? 'any task' : `task${tasks.length > 1 ? 's' : ''} ${tasks.join(', ')}`;
  return `${method} learned nothing on ${which}: its score right after training ${tasks.length > 1 ? 'each' : 'it'} is at or below ${floor}.`;
}

/** A flat reference line of a forgetting-curve panel. */
export interface BaselineLine {
  kind: 'majority' | 'chance';
  label: string;
  color: string;
  dashed: true;
  points: { x: number; y: number }[];
}

/** Grey, so no method's colour is taken; the majority line darker, as the floor verdicts are read against. */
export const BASELINE_COLORS = { majority: '#6b7280', chance: '#a3a3a3' } as const;

/** Task t's majority-label and chance scores as flat lines across the stages 1..T (0..2 for one task); none when unknown. */
export function baselineLines(results: RunResults, t: number): BaselineLine[] {
  const b = taskBaseline(results, t);
  const T = results.tasks.length;
  const [x0, x1] = T > 1 ? [1, T] : [0, 2];
  const out: BaselineLine[] = [];
  for (const kind of ['majority', 'chance'] as const) {
    const v = b?.[kind];
    if (!isScore(v)) continue;
    out.push({ kind, label: kind === 'majority' ? 'majority label' : 'chance', color: BASELINE_COLORS[kind], dashed: true, points: [{ x: x0, y: v }, { x: x1, y: v }] });
  }
  return out;
}

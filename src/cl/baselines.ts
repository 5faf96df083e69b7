// What a task's test split scores without learning anything: always answering its most common label
// (the majority-label score) and guessing uniformly among its labels (chance), the floor a method's
// scores are read against.
import { normalizeAnswer, type ScoreMetric } from './scoring.ts';

/** A task's floors, in percent like the scores; null where they do not apply (free-text tasks). */
export interface TaskBaselines {
  /** The most common gold answer of the test split (the first seen of equals), for exact-match tasks. */
  majorityLabel: string | null;
  /** The exact-match score of always answering `majorityLabel`: its share of the test split. */
  majority: number | null;
  /** 100 / the number of labels, for a task with a label set. */
  chance: number | null;
}

/**
 * The floors of a task from its test split's gold answers. Answers count as equal when they normalise alike
 * (as exact match compares them). A task scored by ROUGE-L has neither floor: its answers are free text.
 */
export function taskBaselines(golds: readonly string[], labels: readonly string[] | null, metric: ScoreMetric): TaskBaselines {
  if (metric !== 'em' || golds.length === 0) return { majorityLabel: null, majority: null, chance: null };
  const counts = new Map<string, { label: string; n: number }>();
  for (const g of golds) {
    const key = normalizeAnswer(g);
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { label: g, n: 1 });
  }
  let best: { label: string; n: number } | null = null;
  for (const c of counts.values()) if (!best || c.n > best.n) best = c;
  return {
    majorityLabel: best!.label,
    majority: (100 * best!.n) / golds.length,
    chance: labels && labels.length > 0 ? 100 / labels.length : null,
  };
}

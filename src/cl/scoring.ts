// Answer scoring for continual-learning evaluation: normalised exact match for classification tasks, ROUGE-L for free text.

export type ScoreMetric = 'em' | 'rougeL';

/** A gold answer: one accepted string, or a list of accepted strings (the best match counts). */
export type Gold = string | readonly string[];

// Python's string.punctuation that Unicode does not class as punctuation (\p{P} covers the rest).
const PUNCTUATION = /[\p{P}$+<=>^`|~]/gu;
// Articles as whole words; the lookarounds stand for a Unicode-aware word boundary.
const ARTICLES = /(?<![\p{L}\p{M}\p{N}_])(?:a|an|the)(?![\p{L}\p{M}\p{N}_])/gu;

/**
 * Normalises an answer the way the SQuAD evaluation script does, after Unicode NFKC folding:
 * lowercase; delete punctuation (every Unicode punctuation character plus the ASCII symbols
 * $ + < = > ^ ` | ~, i.e. Python's string.punctuation; deleted, not replaced, so "don't" -> "dont");
 * drop the articles "a", "an", "the" as whole words; collapse runs of whitespace to one space; trim.
 */
export function normalizeAnswer(s: string): string {
  return s
    .normalize('NFKC')
    .toLowerCase()
    .replace(PUNCTUATION, '')
    .replace(ARTICLES, ' ')
    .split(/\s+/u)
    .filter((w) => w.length > 0)
    .join(' ');
}

const golds = (gold: Gold): readonly string[] => (typeof gold === 'string' ? [gold] : gold);

/** 1 when the normalised prediction equals the normalised gold answer (any of them, for a list), else 0. */
export function exactMatch(pred: string, gold: Gold): 0 | 1 {
  const p = normalizeAnswer(pred);
  return golds(gold).some((g) => normalizeAnswer(g) === p) ? 1 : 0;
}

/**
 * ROUGE-L tokens as Google's rouge-score tokenizes without stemming: lowercase, every run of
 * characters other than letters and digits becomes a space, split on whitespace. (rouge-score keeps
 * only ASCII a-z and 0-9; here letters and digits of every script count, so the two agree on ASCII
 * text and non-English answers are not reduced to nothing.)
 */
export function rougeTokens(s: string): string[] {
  return s
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}]+/gu, ' ')
    .split(' ')
    .filter((w) => w.length > 0);
}

/** Length of the longest common subsequence of two token lists (O(|a|·|b|) time, O(|b|) memory). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

function rougeLOne(pred: string, gold: string): number {
  const p = rougeTokens(pred);
  const g = rougeTokens(gold);
  if (p.length === 0 || g.length === 0) return p.length === 0 && g.length === 0 ? 1 : 0;
  const lcs = lcsLength(p, g);
  if (lcs === 0) return 0;
  const precision = lcs / p.length;
  const recall = lcs / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * ROUGE-L F1 in [0, 1]: precision = LCS / prediction tokens, recall = LCS / gold tokens, F1 their
 * harmonic mean (tokens from `rougeTokens`). 0 when exactly one side has no tokens, 1 when both
 * have none. With a list of golds the best score counts.
 */
export function rougeL(pred: string, gold: Gold): number {
  let best = 0;
  for (const g of golds(gold)) best = Math.max(best, rougeLOne(pred, g));
  return best;
}

/** Mean score of a task's predictions against their gold answers, in percent (0..100). */
export function scoreTask(preds: readonly string[], gold: readonly Gold[], metric: ScoreMetric): number {
  if (preds.length !== gold.length) throw new Error(`scoreTask: ${preds.length} predictions for ${gold.length} gold answers`);
  if (preds.length === 0) throw new Error('scoreTask: no examples to score');
  const one = metric === 'em' ? exactMatch : metric === 'rougeL' ? rougeL : null;
  if (!one) throw new Error(`scoreTask: unknown metric "${String(metric)}" (expected "em" or "rougeL")`);
  let sum = 0;
  for (let i = 0; i < preds.length; i++) sum += one(preds[i], gold[i]);
  return (sum / preds.length) * 100;
}

/** Exact match for a task with a label set (classification), ROUGE-L for free-text tasks (no labels, or an empty list). */
export function pickMetric(labels: readonly string[] | null | undefined): ScoreMetric {
  return labels && labels.length > 0 ? 'em' : 'rougeL';
}

// Continual-learning metrics (AP, F.Ra, BWT, FWT, per-task forgetting and curves) of a task-by-task score matrix, as defined in docs/EXPERIMENTS.md.

/**
 * Scores of a continual-learning run: row k holds the scores on every task's test split after
 * training task k (tasks in training order), one column per task, `null` where that cell was not
 * evaluated. A run over T tasks gives a T x T matrix. Scores keep whatever unit the matrix uses
 * (percent or fraction); nothing here rescales them.
 */
export type ScoreMatrix = (number | null)[][];

export interface ContinualMetrics {
  /** Number of tasks T (rows = columns = T). */
  tasks: number;
  /** Average performance at the end: mean of the last row. */
  ap: number;
  /** Forgetting (F.Ra): mean over t < T of forgetting[t]. Null when T = 1 (nothing can be forgotten). */
  fra: number | null;
  /** Backward transfer: mean over t < T of a[T][t] - a[t][t]. Null when T = 1. */
  bwt: number | null;
  /** Forward transfer: mean over t of a[t][t] - s_t. Null without single-task scores or when one of them is null. */
  fwt: number | null;
  /** The last row: every task's score after training the last task. */
  final: number[];
  /** a[t][t]: every task's score right after training it. */
  diagonal: number[];
  /** Per task t < T (length T - 1): max over k < T, k >= t, non-null of a[k][t], minus a[T][t]. */
  forgetting: number[];
  /** Forgetting curve of every task: curves[t][k] = a[k][t] (column t read down the rows). */
  curves: (number | null)[][];
}

/** One-line definitions of every reported metric (1-based task indices, a[k][t] = score on task t after training task k), for UIs and docs. */
export const METRIC_DEFINITIONS: Readonly<Record<'ap' | 'fra' | 'bwt' | 'fwt' | 'final' | 'forgetting' | 'curves', string>> = {
  ap: 'AP = (1/T) Σ_t a[T][t]: average score over all tasks after training the last task.',
  fra: 'F.Ra = (1/(T-1)) Σ_{t<T} (max_{t≤k<T} a[k][t] − a[T][t]): mean drop from each earlier task\'s best score to its final score (forgetting).',
  bwt: 'BWT = (1/(T-1)) Σ_{t<T} (a[T][t] − a[t][t]): mean change of each earlier task\'s score from right after learning it to the end (negative = forgetting).',
  fwt: 'FWT = (1/T) Σ_t (a[t][t] − s_t), s_t = score of a LoRA trained on task t alone from the base model: what learning earlier tasks adds to each new one.',
  final: 'Final scores: a[T][t] for every task t, the last row of the matrix.',
  forgetting: 'Forgetting of task t < T: max_{t≤k<T} a[k][t] − a[T][t], its best score before the last task minus its final score.',
  curves: 'Forgetting curve of task t: its score a[k][t] after each training stage k (column t of the matrix).',
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)}`;
  if (v === undefined) return 'nothing (undefined)';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * Checks that `m` is a square score matrix whose cells are finite numbers or null, with every cell
 * the metrics need present: the diagonal a[t][t] (BWT, FWT, and the forgetting maximum) and the last
 * row a[T][t] (AP, F.Ra, BWT). Cells above the diagonal and below it outside the last row may be
 * null. Errors name `source` and the row/column, both counted from 1 as in docs/EXPERIMENTS.md.
 */
export function validateMatrix(m: unknown, source = 'matrix'): asserts m is ScoreMatrix {
  if (!Array.isArray(m)) throw new Error(`${source}: expected an array of rows (an array of arrays of scores), got ${describe(m)}`);
  if (m.length === 0) throw new Error(`${source}: the matrix is empty; a run over T tasks needs T rows of T scores`);
  for (let k = 0; k < m.length; k++) {
    if (!Array.isArray(m[k])) throw new Error(`${source}: row ${k + 1} is ${describe(m[k])}, expected an array of scores (the matrix must be an array of arrays)`);
  }
  const rows = m as unknown[][];
  const cols = rows[0].length;
  for (let k = 1; k < rows.length; k++) {
    if (rows[k].length !== cols) throw new Error(`${source}: ragged rows: row ${k + 1} has ${rows[k].length} score${rows[k].length === 1 ? '' : 's'} but row 1 has ${cols}`);
  }
  const T = rows.length;
  if (cols !== T) {
    throw new Error(`${source}: ${T} row${T === 1 ? '' : 's'} but ${cols} column${cols === 1 ? '' : 's'}; a run over T tasks needs T rows (one per training stage) and T columns (one per task)`);
  }
  for (let k = 0; k < T; k++) {
    for (let t = 0; t < T; t++) {
      const v = rows[k][t];
      if (v === null) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new Error(`${source}: row ${k + 1}, column ${t + 1}: expected a finite number or null, got ${describe(v)}`);
      }
    }
  }
  for (let t = 0; t < T; t++) {
    if (rows[t][t] === null) {
      throw new Error(`${source}: row ${t + 1}, column ${t + 1} is null, but the diagonal (task ${t + 1}'s score right after training it) is needed by BWT, FWT and forgetting`);
    }
  }
  for (let t = 0; t < T; t++) {
    if (rows[T - 1][t] === null) {
      throw new Error(`${source}: row ${T}, column ${t + 1} is null, but the last row (task ${t + 1}'s score after training the last task) is needed by AP, F.Ra and BWT`);
    }
  }
}

/**
 * Checks single-task scores s_t (one per task, from a LoRA trained on that task alone): an array of
 * `tasks` finite numbers or nulls. Errors name `source` and the 1-based position.
 */
export function validateSingleScores(s: unknown, tasks: number, source = 'single-task scores'): asserts s is (number | null)[] {
  if (!Array.isArray(s)) throw new Error(`${source}: expected an array of single-task scores, got ${describe(s)}`);
  if (s.length !== tasks) throw new Error(`${source}: ${s.length} single-task score${s.length === 1 ? '' : 's'} for a matrix of ${tasks} task${tasks === 1 ? '' : 's'}; expected one per task`);
  for (let t = 0; t < s.length; t++) {
    const v = s[t];
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw new Error(`${source}: entry ${t + 1}: expected a finite number or null, got ${describe(v)}`);
    }
  }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Computes the metrics (docs/EXPERIMENTS.md) of a score matrix (validated first; throws on a bad one). With
 * 1-based tasks 1..T and a[k][t] = score on task t after training task k:
 * - AP   = (1/T) Σ_t a[T][t]
 * - F.Ra = (1/(T-1)) Σ_{t<T} (max_{k<T} a[k][t] − a[T][t]), the max taken over non-null cells with
 *   k ≥ t only (a task cannot be forgotten before it is learnt)
 * - BWT  = (1/(T-1)) Σ_{t<T} (a[T][t] − a[t][t])
 * - FWT  = (1/T) Σ_t (a[t][t] − s_t) when single-task scores `single` are given and none is null,
 *   otherwise null.
 * For T = 1 there is no earlier task, so F.Ra and BWT are null and `forgetting` is empty.
 */
export function computeMetrics(m: ScoreMatrix, single?: (number | null)[] | null): ContinualMetrics {
  validateMatrix(m);
  const T = m.length;
  if (single != null) validateSingleScores(single, T);
  const last = m[T - 1] as number[];
  const final = last.slice();
  const diagonal = m.map((row, t) => row[t] as number);
  const forgetting: number[] = [];
  for (let t = 0; t < T - 1; t++) {
    let best = -Infinity;
    for (let k = t; k < T - 1; k++) {
      const v = m[k][t];
      if (v !== null && v > best) best = v;
    }
    // The diagonal cell a[t][t] is present (validated), so best is finite.
    forgetting.push(best - final[t]);
  }
  const ap = mean(final);
  const fra = T > 1 ? mean(forgetting) : null;
  const bwt = T > 1 ? mean(final.slice(0, T - 1).map((v, t) => v - diagonal[t])) : null;
  const fwt = single != null && single.every((v) => v !== null) ? mean(diagonal.map((v, t) => v - (single[t] as number))) : null;
  const curves = Array.from({ length: T }, (_, t) => m.map((row) => row[t]));
  return { tasks: T, ap, fra, bwt, fwt, final, diagonal, forgetting, curves };
}

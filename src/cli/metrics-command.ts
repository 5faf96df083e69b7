// `clora metrics`: continual-learning metrics of a score matrix read from JSON files, computed on the CPU without a GPU device.
import { computeMetrics, validateMatrix, validateSingleScores } from '../cl/metrics.ts';
import { parseCommandArgs, readJson } from './command-io.ts';

/** What `clora metrics` prints (keys in this order). */
export interface MetricsOutput {
  tasks: number;
  ap: number;
  fra: number | null;
  bwt: number | null;
  fwt: number | null;
  final: number[];
  forgetting: number[];
}

/**
 * Runs `clora metrics` on its arguments (those after the word "metrics"). Returns the output, or
 * null when help was asked for. Bad usage throws what `usageError` makes; unreadable or invalid
 * files throw an Error whose message starts with the file name.
 */
export function metricsCommand(argv: string[], usageError: (message: string) => Error): MetricsOutput | null {
  const args = parseCommandArgs(argv, { matrix: { type: 'string' }, single: { type: 'string' } });
  if (!args) return null;
  const { values, positionals } = args;
  if (positionals.length > 0) throw usageError(`metrics: unexpected argument "${positionals[0]}"`);
  if (!values.matrix) throw usageError('metrics: missing --matrix FILE');
  if (values.single === '') throw usageError('metrics: --single needs a FILE');
  const matrixFile = values.matrix;
  const matrix = readJson(matrixFile);
  validateMatrix(matrix, matrixFile);
  let single: (number | null)[] | undefined;
  if (values.single !== undefined) {
    const s = readJson(values.single);
    validateSingleScores(s, matrix.length, values.single);
    single = s;
  }
  const m = computeMetrics(matrix, single);
  return { tasks: m.tasks, ap: m.ap, fra: m.fra, bwt: m.bwt, fwt: m.fwt, final: m.final, forgetting: m.forgetting };
}

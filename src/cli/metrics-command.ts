// `clora metrics`: continual-learning metrics of a score matrix read from JSON files, computed on the CPU without a GPU device.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { computeMetrics, validateMatrix, validateSingleScores } from '../cl/metrics.ts';

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

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw new Error(`${file}: no such file`);
    if (code === 'EISDIR') throw new Error(`${file}: is a folder, expected a JSON file`);
    throw new Error(`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Runs `clora metrics` on its arguments (those after the word "metrics"). Returns the output, or
 * null when help was asked for. Bad usage throws what `usageError` makes; unreadable or invalid
 * files throw an Error whose message starts with the file name.
 */
export function metricsCommand(argv: string[], usageError: (message: string) => Error): MetricsOutput | null {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      matrix: { type: 'string' },
      single: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
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

// `clora report RESULTS.json [MORE.json ...] --out DIR`: turns a run's results.json into report.md with SVG figures, or
// several runs (task orders, seeds) into the metrics across runs with each run's report; on the CPU without a GPU device.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { comparisonFiles } from '../report/comparison.ts';
import { DEFAULT_REPORT_TITLE, reportFiles } from '../report/report.ts';
import { parseRunResults } from '../report/results-file.ts';
import { parseCommandArgs, readJson } from './command-io.ts';

export const REPORT_HELP = `  clora report RESULTS.json [MORE.json ...] --out DIR [--title TEXT] [--names A,B,...]
      Writes a report of a run (the results.json of clora run): DIR/report.md (settings, tasks,
      the metrics table, every method's score matrix, the selector weights of SAPT, wall times),
      DIR/forgetting-curves.svg (one
      panel per task: every method's score after each training stage) and DIR/heatmap-<method>.svg
      per method. Several results files (runs of the same tasks, e.g. in other orders or seeds; tasks
      named differently are matched by position, with a notice): DIR/report.md holds AP, F.Ra, BWT
      and FWT of every method per run with their mean, spread (SD) and n over the runs that have
      a value, and what differs between the runs (model, settings, task order),
      DIR/forgetting-curves.svg the runs' curves overlaid (a line per run and method); each
      run's own report goes to a folder named after the run (made file-safe: "order 1" writes
      DIR/order-1/); --names names the runs (default "run 1", "run 2", ...).
      Prints {"out": DIR, "files": [...]}. --title sets the heading. Needs no GPU.`;

/** What `clora report` prints: the output folder and the files written there, in order. */
export interface ReportOutput {
  out: string;
  files: string[];
}

/**
 * Runs `clora report` on its arguments (those after the word "report"). Returns what was written, or
 * null when help was asked for. Bad usage throws what `usageError` makes; a missing or malformed
 * results file throws an Error whose one-line message starts with the file name.
 */
export function reportCommand(argv: string[], usageError: (message: string) => Error): ReportOutput | null {
  const args = parseCommandArgs(argv, { out: { type: 'string' }, title: { type: 'string' }, names: { type: 'string' } });
  if (!args) return null;
  const { values, positionals } = args;
  if (positionals.length === 0) throw usageError('report needs a results file: clora report RESULTS.json [MORE.json ...] --out DIR');
  if (!values.out) throw usageError('report needs --out DIR');
  const labels = values.names === undefined ? positionals.map((_, i) => `run ${i + 1}`) : values.names.split(',').map((l) => l.trim());
  if (labels.length !== positionals.length) throw usageError(`--names: ${labels.length} names for ${positionals.length} results files`);
  if (labels.some((l) => l === '')) throw usageError(`--names: name ${labels.indexOf('') + 1} of ${labels.length} is empty`);
  if (positionals.length === 1 && values.names !== undefined) throw usageError('--names names the runs of several results files');
  const runs = positionals.map((file, i) => ({ label: labels[i], results: parseRunResults(readJson(file), file) }));
  const out = resolve(values.out);
  if (existsSync(out) && !statSync(out).isDirectory()) throw usageError(`--out: ${values.out} is not a folder`);
  const files = runs.length === 1
    ? reportFiles(runs[0].results, values.title !== undefined ? { title: values.title } : {})
    : comparisonFiles(runs, values.title ?? DEFAULT_REPORT_TITLE);
  mkdirSync(out, { recursive: true });
  for (const f of files) {
    const path = join(out, f.name);
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.content);
    } catch (err) {
      throw new Error(`${path}: cannot write: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { out, files: files.map((f) => f.name) };
}

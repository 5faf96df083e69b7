// `clora report RESULTS.json --out DIR`: turns a run's results.json into report.md with SVG figures, on the CPU without a GPU device.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { reportFiles } from '../report/report.ts';
import { parseRunResults } from '../report/results-file.ts';
import { parseCommandArgs, readJson } from './command-io.ts';

export const REPORT_HELP = `  clora report RESULTS.json --out DIR [--title TEXT]
      Writes a report of a run (the results.json of clora run): DIR/report.md (settings, tasks,
      the metrics table, every method's score matrix, wall times), DIR/forgetting-curves.svg (one
      panel per task: every method's score after each training stage) and DIR/heatmap-<method>.svg
      per method. Prints {"out": DIR, "files": [...]}. --title sets the heading. Needs no GPU.`;

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
  const args = parseCommandArgs(argv, { out: { type: 'string' }, title: { type: 'string' } });
  if (!args) return null;
  const { values, positionals } = args;
  if (positionals.length !== 1) throw usageError('report needs one results file: clora report RESULTS.json --out DIR');
  if (!values.out) throw usageError('report needs --out DIR');
  const file = positionals[0];
  const results = parseRunResults(readJson(file), file);
  const out = resolve(values.out);
  if (existsSync(out) && !statSync(out).isDirectory()) throw usageError(`--out: ${values.out} is not a folder`);
  const files = reportFiles(results, values.title !== undefined ? { title: values.title } : {});
  mkdirSync(out, { recursive: true });
  for (const f of files) {
    const path = join(out, f.name);
    try {
      writeFileSync(path, f.content);
    } catch (err) {
      throw new Error(`${path}: cannot write: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { out, files: files.map((f) => f.name) };
}

// `clora run EXPERIMENT.json --out DIR`: loads the model and the task stream named by an experiment
// file, runs every method through the continual-learning runner on the GPU with a progress bar on
// stderr, and writes results.json, the adapters and the replay samples under DIR.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fsStorage } from '../cl/fs-storage.ts';
import { parseExperiment, type Experiment } from '../cl/experiment.ts';
import { runExperiment, type RunProgress, type RunResults } from '../cl/runner.ts';
import { assertRunnable, runProblems } from '../cl/run-checks.ts';
import { baseName, stemOf } from '../data/byte-source.ts';
import { checkTaskNames, loadTaskStream, type TaskEntry } from '../data/load.ts';
import { taskEntryForPath } from '../data/node-load.ts';
import type { Task } from '../data/task.ts';
import { Session } from '../engine/session.ts';
import { createNodeGpu } from '../gpu/node-device.ts';
import { FormatError, MissingFileError } from '../io/errors.ts';
import { readJsonFile } from './command-io.ts';
import { openModelArg } from './model-arg.ts';
import { unpackExperimentZip } from './experiment-zip.ts';

export const RUN_HELP = `  clora run EXPERIMENT.json|EXPORT.zip --out DIR [--resume] [--quiet]
      Runs a continual-learning experiment: every method of the file on its task stream, in order.
      Writes DIR/results.json (per method: the score matrix, AP/F.Ra/BWT/FWT, loss curves, timings),
      DIR/<method>/adapters/... (PEFT format) and DIR/<method>/replay/<task>.jsonl, committed
      atomically after every task together with a checkpoint (DIR/<method>/checkpoint/); <method> is
      the method's "name" when the file gives one. With --resume, a run that was stopped continues
      in DIR after its last finished task (finished methods are kept). Paths in the file are
      relative to it; a .zip (an experiment exported from the app) runs the experiment.json at its
      top, unpacked into a temporary folder for the run. A progress bar and a summary line per
      method go to stderr (--quiet: none); stdout gets {"tasks", "singleTask", "methods": {name:
      {"metrics", "final", "matrix"}}, "seconds"}. See docs/EXPERIMENTS.md.`;

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--';
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A one-line progress bar redrawn in place on a terminal; elsewhere (a log file) a line per 1% and whenever the method, task or phase changes. */
export function progressPrinter(stream: Pick<NodeJS.WriteStream, 'write' | 'isTTY' | 'columns'>, started: number) {
  let lastMark = '';
  // A resumed run starts part done: the rate is measured from the first report of this process.
  let baseline: number | null = null;
  return (p: RunProgress) => {
    const width = 24;
    const filled = Math.round(p.done * width);
    const elapsed = (performance.now() - started) / 1000;
    baseline ??= p.done;
    const gained = p.done - baseline;
    // The runner's estimate prices training steps and evaluations at their own measured rates; the overall rate is the fallback.
    const eta = typeof p.etaSeconds === 'number' ? p.etaSeconds : gained > 0.01 ? (elapsed * (1 - p.done)) / gained : NaN;
    const what = p.phase === 'eval' ? `eval ${p.step + 1}/${p.steps}` : `${p.phase} ${p.step + 1}/${p.steps}`;
    const loss = p.loss !== null ? ` loss ${p.loss.toFixed(4)}` : '';
    const tps = p.tokensPerSecond !== null ? ` ${p.tokensPerSecond.toFixed(0)} tok/s` : '';
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(p.done * 100).toFixed(1).padStart(5)}% `
      + `${p.method} (${p.methodIndex + 1}/${p.methods}) task ${p.task + 1}/${p.tasks} ${what}${loss}${tps} ETA ${formatSeconds(eta)}`;
    if (stream.isTTY) {
      stream.write(`\r${line.slice(0, (stream.columns || 120) - 1).padEnd(Math.min(stream.columns || 120, 160) - 1)}`);
    } else {
      const mark = `${Math.floor(p.done * 100)} ${p.methodIndex} ${p.task} ${p.phase}`;
      if (mark !== lastMark) {
        lastMark = mark;
        stream.write(`${line}\n`);
      }
    }
  };
}

/** The name a task of the experiment goes by: its own "name", else its file name without extension (a folder's name). */
function defaultTaskName(entry: TaskEntry): string {
  return entry.kind === 'file' ? stemOf(entry.source.name) : baseName(entry.folder);
}

/**
 * Loads the experiment's tasks in order, each with its own name, instruction and column mapping. Every path is
 * found and every name checked before any file is read, so a missing file or a name used twice is reported
 * without parsing large files first; one file may be listed twice under two names (two tasks). Errors name the
 * experiment file and the task's field, or the task file as the experiment writes its path.
 */
async function loadTasks(exp: Experiment, baseDir: string, expLabel: string): Promise<Task[]> {
  const entries = exp.tasks.map((ref, i): TaskEntry => {
    let entry: TaskEntry;
    try {
      entry = taskEntryForPath(resolve(baseDir, ref.path));
    } catch (e) {
      const why = e instanceof MissingFileError ? 'does not exist' : `cannot be read: ${e instanceof Error ? e.message : String(e)}`;
      throw new Error(`${expLabel}: "tasks[${i}]": ${ref.path} ${why} (looked for ${resolve(baseDir, ref.path)}; paths are relative to the experiment file's folder)`);
    }
    return ref.name !== undefined ? { ...entry, name: ref.name } : entry;
  });
  // Names alike but for case are one folder on macOS and Windows.
  const firstWith = new Map<string, { at: number; name: string }>();
  entries.forEach((entry, i) => {
    const name = entry.name ?? defaultTaskName(entry);
    const first = firstWith.get(name.toLowerCase());
    if (first !== undefined) {
      const both = first.name === name ? `both named "${name}"` : `named "${first.name}" and "${name}", one folder where case is ignored`;
      throw new Error(`${expLabel}: "tasks[${first.at}]" (${exp.tasks[first.at].path}) and "tasks[${i}]" (${exp.tasks[i].path}) are ${both}; `
        + 'results and adapters are stored by task name, so give one of them its own "name"');
    }
    firstWith.set(name.toLowerCase(), { at: i, name });
  });
  const tasks: Task[] = [];
  for (const [i, ref] of exp.tasks.entries()) {
    try {
      const [task] = await loadTaskStream([entries[i]], {
        seed: exp.seed, testFraction: exp.testFraction,
        ...(ref.instruction ? { instruction: ref.instruction } : {}),
        ...(ref.columns ? { columns: ref.columns } : {}),
        ...(exp.maxTrain ? { maxTrain: exp.maxTrain } : {}),
        ...(exp.maxTest ? { maxTest: exp.maxTest } : {}),
      });
      tasks.push(task);
    } catch (e) {
      throw namingTaskPath(e, ref.path, `${expLabel}: "tasks[${i}]" (${ref.path})`);
    }
  }
  checkTaskNames(tasks);
  return tasks;
}

/**
 * The error of reading one task, said in the experiment's terms: a FormatError about the task's own file names it
 * by the path the experiment gives (not only its base name); any other error is prefixed with the task's field.
 */
function namingTaskPath(e: unknown, path: string, field: string): Error {
  if (e instanceof FormatError) {
    const file = e.file === baseName(path) ? path : e.file;
    return new FormatError(file, e.problem, { line: e.line, detail: e.detail, cause: e });
  }
  return new Error(`${field}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

export async function runCommand(argv: string[], usageError: (message: string) => Error): Promise<RunResults | null> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { out: { type: 'string' }, resume: { type: 'boolean' }, quiet: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return null;
  if (positionals.length !== 1) throw usageError('run needs one experiment file: clora run EXPERIMENT.json --out DIR');
  if (!values.out) throw usageError('run needs --out DIR');
  // An experiment exported from the app, still zipped: run the experiment.json it holds, unpacked for the run's length.
  if (/\.zip$/i.test(positionals[0])) {
    const unpacked = unpackExperimentZip(resolve(positionals[0]), positionals[0]);
    try {
      return await runCommand(argv.map((a) => (a === positionals[0] ? unpacked.file : a)), usageError);
    } finally {
      unpacked.cleanup();
    }
  }
  const file = resolve(positionals[0]);
  const exp = parseExperiment(readJsonFile(file, positionals[0], usageError), positionals[0]);
  const baseDir = dirname(file);
  const model = await openModelArg(exp.model, `${positionals[0]}: "model"`, { baseDir, quiet: values.quiet });
  const tasks = await loadTasks(exp, baseDir, positionals[0]);
  // Combinations that cannot run are refused before the GPU is opened, with what to change; notes go to stderr.
  const checked = { settings: exp, tasks: tasks.map((t) => ({ name: t.name, source: t.source, train: t.train.length, test: t.test.length })) };
  assertRunnable(checked, positionals[0]);
  if (!values.quiet) for (const p of runProblems(checked)) if (p.severity === 'note') process.stderr.write(`note: ${p.message}\n`);
  const outDir = resolve(values.out);
  if (!values.resume && existsSync(join(outDir, 'results.json'))) {
    throw usageError(`${values.out} already holds a run (results.json); pass --resume to continue it, or choose another --out`);
  }
  const storage = await fsStorage(outDir);
  const gpu = await createNodeGpu();
  const session = await Session.open(gpu, model.source, { baseOnly: true, seed: exp.seed, baseModel: model.base });
  const started = performance.now();
  try {
    const results = await runExperiment({
      session, tasks, experiment: exp, storage, resume: Boolean(values.resume),
      device: `${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}`.trim(),
      ...(values.quiet ? {} : { onProgress: progressPrinter(process.stderr, started) }),
    });
    if (!values.quiet && process.stderr.isTTY) process.stderr.write('\n');
    if (!values.quiet) {
      for (const [name, m] of Object.entries(results.methods)) {
        const ap = m.metrics ? m.metrics.ap : m.final.reduce((s, v) => s + v, 0) / Math.max(1, m.final.length);
        const more = m.metrics ? ` F.Ra ${m.metrics.fra?.toFixed(1) ?? '-'} BWT ${m.metrics.bwt?.toFixed(1) ?? '-'} FWT ${m.metrics.fwt?.toFixed(1) ?? '-'}` : ' (joint)';
        process.stderr.write(`${name.padEnd(16)} AP ${ap.toFixed(1)}${more}\n`);
      }
      process.stderr.write(`wrote ${resolve(values.out, 'results.json')} in ${formatSeconds(results.seconds)}\n`);
    }
    return results;
  } catch (err) {
    // A full disk or a folder that became read-only names the file and the fix (fs-storage); what is done is kept.
    if ((err as { path?: unknown } | null)?.path !== undefined && /^E(NOSPC|DQUOT|ROFS|ACCES|PERM)$/.test(String((err as { code?: unknown }).code))) {
      throw new Error(`${(err as Error).message} Then continue the run with: clora run ${positionals[0]} --out ${values.out} --resume`, { cause: err });
    }
    throw err;
  } finally {
    session.destroy();
    gpu.device.destroy();
  }
}

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
import { Session } from '../engine/session.ts';
import { createNodeGpu } from '../gpu/node-device.ts';
import { didYouMean } from '../io/closest-name.ts';
import { readJsonFile } from './command-io.ts';
import { loadExperimentTasks } from './experiment-tasks.ts';
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

export async function runCommand(argv: string[], usageError: (message: string) => Error): Promise<RunResults | null> {
  const options = { out: { type: 'string' }, resume: { type: 'boolean' }, quiet: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options });
  } catch (e) {
    const unknown = /Unknown option '(-{1,2}[^']*)'/.exec(e instanceof Error ? e.message : '');
    if (!unknown) throw e;
    const flags = Object.keys(options).map((o) => `--${o}`);
    throw usageError(`run: unknown option ${unknown[1]}${didYouMean(unknown[1].replace(/=.*$/, ''), flags)} (run takes ${flags.join(', ')})`);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  if (positionals.length !== 1) {
    const got = positionals.length === 0 ? '' : `, got ${positionals.length}: ${positionals.join(' ')}`;
    throw usageError(`run needs one experiment file${got}: clora run EXPERIMENT.json --out DIR`);
  }
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
  // Tasks first: a bad task file is reported before a model is downloaded or read.
  const tasks = await loadExperimentTasks(exp, baseDir, positionals[0]);
  const model = await openModelArg(exp.model, `${positionals[0]}: "model"`, { baseDir, quiet: values.quiet }).catch((e: unknown) => {
    // A "model" that is no folder was taken for a Hub id; a Hub error alone would not say which file or field.
    const message = e instanceof Error ? e.message : String(e);
    if (message.startsWith(positionals[0])) throw e;
    throw new Error(`${positionals[0]}: "model": ${exp.model} is no folder (looked for ${resolve(baseDir, exp.model ?? '')}), so it was taken for a Hugging Face model id: ${message}`, { cause: e });
  });
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

// The task stream of an experiment file as `clora run` loads it: each path resolved from the experiment's folder,
// names checked before any file is read, and every error said in the experiment's terms (its field or task path).
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Experiment } from '../cl/experiment.ts';
import { baseName, extensionOf, stemOf } from '../data/byte-source.ts';
import { checkTaskNames, loadTaskStream, type TaskEntry } from '../data/load.ts';
import { taskEntryForPath } from '../data/node-load.ts';
import { SUPPORTED_EXTENSIONS } from '../data/parse.ts';
import type { Task } from '../data/task.ts';
import { FormatError, MissingFileError } from '../io/errors.ts';

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
export async function loadExperimentTasks(exp: Experiment, baseDir: string, expLabel: string): Promise<Task[]> {
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
      const field = `${expLabel}: "tasks[${i}]" (${ref.path})`;
      if (e instanceof MissingFileError && entries[i].kind === 'benchmark') throw new Error(`${field}: ${e.message}${folderHint(resolve(baseDir, ref.path), ref.path)}`, { cause: e });
      throw namingTaskPath(e, ref.path, field);
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

/** For a folder that is no benchmark task: the data files it holds, any of which could be given as the task. */
function folderHint(dir: string, path: string): string {
  let files: string[];
  try {
    files = readdirSync(dir).filter((n) => (SUPPORTED_EXTENSIONS as readonly string[]).includes(extensionOf(n))).sort();
  } catch {
    return '';
  }
  if (files.length === 0) return '; the folder holds no task file (.jsonl, .json, .csv, .tsv)';
  const shown = files.slice(0, 5).join(', ') + (files.length > 5 ? ', ...' : '');
  return `; the folder holds ${shown}: to use one file as the task, give its path ("${path.replace(/\/+$/, '')}/${files[0]}")`;
}

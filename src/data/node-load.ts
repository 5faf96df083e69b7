// Node-only task loading from paths: each path is a data file (one task) or a benchmark task folder (one task).
import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { MissingFileError } from '../io/errors.ts';
import { loadTaskStream, type LoadOptions, type TaskEntry } from './load.ts';
import { nodeDirTaskSources, nodeFileSource } from './node-byte-source.ts';
import type { Task } from './task.ts';

/** The task-stream entry for one path: a folder is a benchmark task, anything else a single-file task. */
export function taskEntryForPath(path: string): TaskEntry {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    const code = (e as { code?: string } | null)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new MissingFileError(basename(path), dirname(resolve(path)));
    throw e;
  }
  if (!isDir) return { kind: 'file', source: nodeFileSource(path) };
  const { folder, files } = nodeDirTaskSources(path);
  return { kind: 'benchmark', folder, files };
}

/** Loads one task per path, in the given order; duplicate task names are refused before any file is parsed. */
export async function loadTasksFromPaths(paths: readonly string[], opts: LoadOptions = {}): Promise<Task[]> {
  return loadTaskStream(paths.map(taskEntryForPath), opts);
}

// Turns dropped or picked files (with their folder paths) into task inputs: one per data file or benchmark folder.
import { baseName, extensionOf, stemOf } from '../../data/byte-source.ts';
import type { TaskInput } from '../../data/inspect.ts';
import type { DataFormat } from '../../data/parse.ts';

/** A file with the path it was dropped or picked under ("folder/sub/name.jsonl", or just the name). */
export interface PathedFile {
  path: string;
  file: File;
}

/** A file that did not become (part of) a task, and why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

/** Extensions read as task files; the same list as the parsers' SUPPORTED_EXTENSIONS (kept here so the UI bundle does not pull in the parsers). */
export const DATA_EXTENSIONS: readonly DataFormat[] = ['jsonl', 'json', 'csv', 'tsv'];

/** Base names (lower case) of the files a benchmark task folder is read from. */
const BENCHMARK_NAMES = new Set(['train.json', 'dev.json', 'test.json']);

let nextId = 0;

/** A fresh id for a task row, unique within the page. */
export function newTaskId(): string {
  nextId += 1;
  return `task-${Date.now().toString(36)}-${nextId}`;
}

/** A path with forward slashes and no leading "/" or "./". */
export function normalizePath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');
}

/** The folder part of a normalized path ('' at the top level). */
function folderOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at < 0 ? '' : path.slice(0, at);
}

/** `name`, or `name (2)`, `name (3)`, ... whichever is not in `taken`; the result is added to `taken`. */
export function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name} (${n})`;
  taken.add(candidate);
  return candidate;
}

/**
 * Groups files into task inputs, in the order their first file appears. A folder that directly holds train.json or
 * test.json (any case) is a benchmark task named by the folder; its train/dev/test.json are its files and anything
 * else directly in it is skipped (an incomplete folder still becomes a task so that reading it names what is
 * missing). Every other .jsonl/.json/.csv/.tsv file is a task named by its stem. Other files, and hidden ones, are
 * returned in `skipped` with the reason, and so is a file already among the `existing` tasks (dropped twice). Names
 * that clash with `existingNames` or with each other get " (2)", ...
 */
export function groupDroppedFiles(items: readonly PathedFile[], existingNames: readonly string[], existing: readonly TaskInput[] = []): { inputs: TaskInput[]; skipped: SkippedFile[] } {
  const skipped: SkippedFile[] = [];
  // A file already among the tasks (same name, size and modification time) is not added again.
  const have = new Map<string, string>();
  for (const input of existing) for (const f of input.files) have.set(fileSignature(f), input.name);
  const files = items.map((it) => ({ path: normalizePath(it.path || it.file.name), file: it.file })).filter(({ path, file }) => {
    const task = have.get(fileSignature(file));
    if (task === undefined) return true;
    skipped.push({ path, reason: `already added, as the task "${task}"` });
    return false;
  });
  const benchmarkFolders = new Set<string>();
  for (const { path } of files) {
    const folder = folderOf(path);
    const base = baseName(path).toLowerCase();
    if (folder !== '' && (base === 'train.json' || base === 'test.json')) benchmarkFolders.add(folder);
  }

  const taken = new Set(existingNames);
  const inputs: TaskInput[] = [];
  const benchmarkInputs = new Map<string, TaskInput>();

  for (const { path, file } of files) {
    const folder = folderOf(path);
    const base = baseName(path);
    if (benchmarkFolders.has(folder)) {
      if (!BENCHMARK_NAMES.has(base.toLowerCase())) {
        skipped.push({ path, reason: `not read: the benchmark folder "${folder}" is read from train.json, dev.json and test.json only` });
        continue;
      }
      let input = benchmarkInputs.get(folder);
      if (input === undefined) {
        input = { id: newTaskId(), name: uniqueName(baseName(folder), taken), kind: 'benchmark', folder, files: [], instruction: null, columns: null };
        benchmarkInputs.set(folder, input);
        inputs.push(input);
      }
      if (input.files.some((f) => f.name.toLowerCase() === base.toLowerCase())) {
        skipped.push({ path, reason: `the folder "${folder}" already has a ${base.toLowerCase()}` });
        continue;
      }
      input.files.push(file);
      continue;
    }
    if (base.startsWith('.')) {
      skipped.push({ path, reason: 'hidden file' });
      continue;
    }
    const ext = extensionOf(base);
    if (!(DATA_EXTENSIONS as readonly string[]).includes(ext)) {
      const what = ext ? `.${ext} files are not task data` : 'a file without an extension is not task data';
      skipped.push({ path, reason: `${what} (use ${DATA_EXTENSIONS.map((e) => '.' + e).join(', ')})` });
      continue;
    }
    inputs.push({
      id: newTaskId(),
      name: uniqueName(stemOf(base), taken),
      kind: 'file',
      folder: folder === '' ? null : folder,
      files: [file],
      instruction: null,
      columns: null,
    });
  }
  return { inputs, skipped };
}

/** What tells a file apart from another one with the same name: its size and modification time. */
function fileSignature(f: File): string {
  return `${f.name}\u0000${f.size}\u0000${f.lastModified}`;
}

/** Orders directory entries by name, numbers compared by value ("task2" before "task10"). */
function byName(a: { name: string }, b: { name: string }): number {
  return a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' });
}

/** Every entry of a dropped folder: readEntries hands them out in batches until it returns none. */
async function readAllEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** Appends the files under `entry` (a file, or a folder walked recursively in name order) with their paths. */
async function walkEntry(entry: FileSystemEntry, out: PathedFile[]): Promise<void> {
  if (entry.isFile) {
    out.push({ path: normalizePath(entry.fullPath || entry.name), file: await fileOf(entry as FileSystemFileEntry) });
  } else if (entry.isDirectory) {
    const children = (await readAllEntries(entry as FileSystemDirectoryEntry)).sort(byName);
    for (const child of children) await walkEntry(child, out);
  }
}

/**
 * The files of a drop, folders walked recursively (paths keep the dropped folder's name). The entries are taken
 * from `dt` before the first await, as the browser empties a DataTransfer once the drop event has been handled, so
 * call this from the drop handler itself. Falls back to `dt.files` where entries are not available.
 */
export async function collectDataTransfer(dt: DataTransfer): Promise<PathedFile[]> {
  const entries: FileSystemEntry[] = [];
  const loose: File[] = [];
  for (const item of Array.from(dt.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else {
      const file = item.getAsFile();
      if (file) loose.push(file);
    }
  }
  if (entries.length === 0 && loose.length === 0) loose.push(...Array.from(dt.files ?? []));
  const out: PathedFile[] = loose.map((file) => ({ path: file.name, file }));
  for (const entry of entries) await walkEntry(entry, out);
  return out;
}

/** The files of an <input type="file">, with `webkitRelativePath` as the path when a folder was picked. */
export function collectInputFiles(list: FileList | readonly File[]): PathedFile[] {
  return Array.from(list, (file) => ({ path: file.webkitRelativePath || file.name, file }));
}

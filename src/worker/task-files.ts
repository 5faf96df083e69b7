// The task files a run was started with, kept in the app's storage by content (task-files/<sha256>): a run's record
// lists its tasks with the hash of each file, two runs of the same file share one stored copy, and deleting the last
// run that names a file frees it. A run can then be run again, copied into the form or exported without a new drop.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { RunStorage } from '../cl/storage.ts';
import type { ColumnMap } from '../data/parse.ts';
import type { TaskInput } from '../data/inspect.ts';

/** The folder (at the storage's root) that holds every run's task files, one file per content hash. */
export const TASK_FILES = 'task-files';

/** One file of a stored task: its name as the task knows it (a benchmark folder's file keeps its own name), content hash and size. */
export interface StoredTaskFile {
  name: string;
  sha256: string;
  size: number;
}

/** A task as a run keeps it: what the person gave (name, kind, folder, instruction, columns) with its files by content. */
export interface StoredTask {
  name: string;
  kind: 'file' | 'benchmark';
  folder: string | null;
  files: StoredTaskFile[];
  instruction: string | null;
  columns: ColumnMap | null;
}

/** Files up to this size are hashed by crypto.subtle in one piece; larger ones a chunk at a time, so memory stays bounded. */
export const WHOLE_HASH_MAX_BYTES = 64 << 20;

/** The lower-case hex SHA-256 of a Blob's bytes (crypto.subtle below `wholeMax`, else an incremental hash over its stream). */
export async function sha256Hex(blob: Blob, wholeMax = WHOLE_HASH_MAX_BYTES): Promise<string> {
  if (blob.size <= wholeMax && globalThis.crypto?.subtle) {
    return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer())));
  }
  const hash = sha256.create();
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
  }
  return bytesToHex(hash.digest());
}

/** The stored path of a file with this hash. */
export const taskFilePath = (hash: string): string => `${TASK_FILES}/${hash}`;

/**
 * The tasks as a run record keeps them, and the files to add to the run's commit (those not stored already), keyed by
 * their path from the storage's root. The caller commits them with the record in one transaction, so a record never
 * names a file that is not there.
 */
export async function storeTaskInputs(root: RunStorage, inputs: readonly TaskInput[]): Promise<{ tasks: StoredTask[]; files: Record<string, Blob> }> {
  const have = new Set(await root.list(TASK_FILES));
  const files: Record<string, Blob> = {};
  const tasks: StoredTask[] = [];
  for (const input of inputs) {
    const stored: StoredTaskFile[] = [];
    for (const file of input.files) {
      const hash = await sha256Hex(file);
      const path = taskFilePath(hash);
      if (!have.has(path)) files[path] = file;
      stored.push({ name: file.name, sha256: hash, size: file.size });
    }
    tasks.push({ name: input.name.trim(), kind: input.kind, folder: input.folder, files: stored, instruction: input.instruction, columns: input.columns });
  }
  return { tasks, files };
}

/** The stored tasks as the form's task inputs again (fresh ids), their files read back from the store; a missing file is named. */
export async function taskInputsOf(root: RunStorage, tasks: readonly StoredTask[], what: string): Promise<TaskInput[]> {
  const out: TaskInput[] = [];
  for (const [i, t] of tasks.entries()) {
    const files: File[] = [];
    for (const f of t.files) {
      const bytes = await root.read(taskFilePath(f.sha256));
      if (bytes === null) throw new Error(`${what}: the task "${t.name}" lost its file ${f.name} (${taskFilePath(f.sha256)} is not in ${root.label})`);
      files.push(new File([bytes as Uint8Array<ArrayBuffer>], f.name));
    }
    out.push({ id: `stored-${Date.now().toString(36)}-${i}`, name: t.name, kind: t.kind, folder: t.folder, files, instruction: t.instruction, columns: t.columns });
  }
  return out;
}

/** Every content hash the given tasks name. */
export function hashesOf(tasks: readonly StoredTask[] | undefined): string[] {
  return (tasks ?? []).flatMap((t) => t.files.map((f) => f.sha256));
}

/** Removes every stored task file that none of `inUse` names; returns the removed hashes. */
export async function releaseTaskFiles(root: RunStorage, inUse: Iterable<string>): Promise<string[]> {
  const keep = new Set(inUse);
  const removed: string[] = [];
  for (const path of await root.list(TASK_FILES)) {
    const hash = path.slice(TASK_FILES.length + 1);
    if (hash.includes('/') || keep.has(hash)) continue;
    await root.remove(path);
    removed.push(hash);
  }
  return removed;
}

let localChain: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` holding the task-file store's lock (Web Locks across the browser's tabs where there are any, else a chain
 * within this thread): a release that lists the records never runs between another run's check for a stored file and
 * the commit that names it.
 */
export function withTaskFileLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks) return locks.request('clora-task-files', fn) as Promise<T>;
  const next = localChain.then(fn, fn);
  localChain = next.catch(() => undefined);
  return next;
}

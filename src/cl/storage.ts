// The byte-level storage interface the continual-learning runner writes through, its path rules, JSON helpers and an in-memory implementation.
import { bytesRandomAccess, type RandomAccessFile } from '../io/random-access.ts';

/**
 * Where a run's files live. Paths are relative and '/'-separated ("runs/r1/metrics.json"); they
 * may not be absolute, contain "." or ".." segments, empty segments, backslashes or NUL, and
 * segments starting with ".clora-" are reserved for the implementation. A "folder prefix" is a
 * path without the trailing slash ("runs/r1"); "" is the root. Implementations: `memoryStorage()`
 * here, `fsStorage(dir)` in fs-storage.ts (Node); the app adds one over IndexedDB.
 */
export interface RunStorage {
  /** Says where the files are (a folder, "memory", a database name), for error messages. */
  readonly label: string;
  /** The file's bytes, or null when there is no such file. */
  read(path: string): Promise<Uint8Array | null>;
  /**
   * The file opened for reads by byte range, or null when there is no such file: large files (model weights) are
   * read a piece at a time through it, never whole. The caller closes it.
   */
  open(path: string): Promise<RandomAccessFile | null>;
  /** Every file path under the folder `prefix` ("" for all), sorted, as full paths from the root. */
  list(prefix: string): Promise<string[]>;
  /**
   * Writes a group of files atomically: after a crash either all of them are visible or none (previous versions stay
   * intact). A Blob (a picked File) is stored without being loaded whole where the storage can (IndexedDB).
   */
  commit(files: Record<string, FileContents>): Promise<void>;
  /** Deletes the file named `prefix`, if any, and every file under the folder `prefix` ("" for everything). */
  remove(prefix: string): Promise<void>;
}

/** Name prefix of the entries an implementation keeps for itself (journals, temporary files). */
export const RESERVED_PREFIX = '.clora-';

/**
 * Checks a file path (or, with `folder`, a folder prefix, where "" and a trailing "/" are allowed)
 * against the rules in `RunStorage`, and returns it without a trailing slash. Throws an Error
 * naming `label` and the path.
 */
export function checkPath(label: string, path: string, folder = false): string {
  const bad = (why: string): never => {
    throw new Error(`${label}: invalid path ${JSON.stringify(path)}: ${why}`);
  };
  if (typeof path !== 'string') bad('not a string');
  let p = path;
  if (folder && p.endsWith('/')) p = p.slice(0, -1);
  if (p === '') {
    if (folder) return '';
    bad('empty');
  }
  if (p.includes('\0')) bad('contains a NUL character');
  if (p.includes('\\')) bad("contains a backslash; use '/' to separate folders");
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) bad('absolute paths are not allowed; paths are relative to the storage root');
  for (const seg of p.split('/')) {
    if (seg === '') bad('empty folder name (a doubled or trailing "/")');
    if (seg === '..') bad('".." would escape the storage root');
    if (seg === '.') bad('"." segments are not allowed');
    if (seg.startsWith(RESERVED_PREFIX)) bad(`names starting with "${RESERVED_PREFIX}" are reserved`);
  }
  return p;
}

/** True when `path` is the folder prefix itself or lies under it ("" contains everything). */
export function isUnder(path: string, prefix: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(prefix + '/');
}

/** What a commit can write: bytes, text (stored as UTF-8) or a Blob. */
export type FileContents = Uint8Array | string | Blob;

/** A commit's Blobs read into bytes, for storages that keep bytes (memory, a folder). */
export async function readBlobs(files: Record<string, FileContents>): Promise<Record<string, Uint8Array | string>> {
  const out: Record<string, Uint8Array | string> = {};
  for (const [path, data] of Object.entries(files)) out[path] = data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : data;
  return out;
}

/**
 * Encodes a commit's contents (strings as UTF-8; Blobs pass through) after checking every path; also rejects a file
 * that is another file's folder in the same commit.
 */
export function prepareCommit(label: string, files: Record<string, Uint8Array | string>): Map<string, Uint8Array>;
export function prepareCommit(label: string, files: Record<string, FileContents>): Map<string, Uint8Array | Blob>;
export function prepareCommit(label: string, files: Record<string, FileContents>): Map<string, Uint8Array | Blob> {
  const out = new Map<string, Uint8Array | Blob>();
  const enc = new TextEncoder();
  for (const [path, data] of Object.entries(files)) {
    const p = checkPath(label, path);
    if (typeof data === 'string') out.set(p, enc.encode(data));
    else if (data instanceof Uint8Array || data instanceof Blob) out.set(p, data);
    else throw new Error(`${label}: ${p}: file contents must be a string, a Uint8Array or a Blob`);
  }
  for (const p of out.keys()) {
    for (const dir of ancestors(p)) {
      if (out.has(dir)) throw new Error(`${label}: cannot write both ${dir} and ${p}: ${dir} would have to be a file and a folder`);
    }
  }
  return out;
}

/** The folder prefixes that contain `path`, outermost first ("a/b/c" -> ["a", "a/b"]). */
export function ancestors(path: string): string[] {
  const segs = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) out.push(segs.slice(0, i).join('/'));
  return out;
}

/** Reads and parses a JSON file; null when it is absent. Bad UTF-8 or JSON throws an Error naming the storage and the path. */
export async function readJsonFile<T = unknown>(storage: RunStorage, path: string): Promise<T | null> {
  const bytes = await storage.read(path);
  if (bytes === null) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${storage.label}: ${path}: not valid UTF-8 text`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${storage.label}: ${path}: invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Writes values as JSON files (two-space indent, trailing newline) in one atomic commit. */
export async function writeJsonFiles(storage: RunStorage, files: Record<string, unknown>): Promise<void> {
  const out: Record<string, string> = {};
  for (const [path, value] of Object.entries(files)) {
    const text = JSON.stringify(value, null, 2);
    if (text === undefined) throw new Error(`${storage.label}: ${path}: value cannot be written as JSON`);
    out[path] = text + '\n';
  }
  await storage.commit(out);
}

/**
 * Storage in memory, for tests and as the browser's fallback when IndexedDB is unavailable. It
 * keeps copies of the bytes it is given and hands out copies, so callers cannot alter stored files.
 */
export function memoryStorage(label = 'memory'): RunStorage {
  const files = new Map<string, Uint8Array>();
  return {
    label,
    async read(path) {
      const data = files.get(checkPath(label, path));
      return data ? data.slice() : null;
    },
    async open(path) {
      const p = checkPath(label, path);
      const data = files.get(p);
      return data ? bytesRandomAccess(p, data) : null;
    },
    async list(prefix) {
      const p = checkPath(label, prefix, true);
      return [...files.keys()].filter((f) => f !== p && isUnder(f, p)).sort();
    },
    async commit(input) {
      const batch = prepareCommit(label, await readBlobs(input));
      for (const path of batch.keys()) {
        for (const dir of ancestors(path)) {
          if (files.has(dir)) throw new Error(`${label}: cannot write ${path}: ${dir} is a file`);
        }
        for (const existing of files.keys()) {
          if (existing.startsWith(path + '/')) throw new Error(`${label}: cannot write ${path}: it is a folder`);
        }
      }
      for (const [path, data] of batch) files.set(path, data.slice());
    },
    async remove(prefix) {
      const p = checkPath(label, prefix, true);
      for (const f of [...files.keys()]) if (isUnder(f, p)) files.delete(f);
    },
  };
}

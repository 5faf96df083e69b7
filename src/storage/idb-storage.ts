// A RunStorage over IndexedDB for the browser app, whose commits are atomic because each one is a single readwrite transaction.
import { wrap, type DBSchema, type IDBPDatabase, type IDBPObjectStore } from 'idb';
import { ancestors, checkPath, isUnder, prepareCommit, type FileContents, type RunStorage } from '../cl/storage.ts';
import { blobRandomAccess, bytesRandomAccess, type RandomAccessFile } from '../io/random-access.ts';
import { formatBytes } from '../report/format.ts';

/**
 * One stored file: its full path (the key), its bytes, their length and when it was written (ms since 1970). Files of
 * BLOB_MIN_BYTES or more are kept as a Blob, which browsers store apart from the record (on disk): reading a record
 * then loads no bytes, and a byte range of it (one tensor of a cached model) is read through `Blob.slice` alone.
 */
export interface FileRecord {
  path: string;
  data: Uint8Array | Blob;
  size: number;
  modified: number;
}

/** How much the database holds, from its own records and from the browser's estimate. */
export interface StorageUsage {
  /** Bytes of every stored file together. */
  totalBytes: number;
  /** Bytes per top-level folder ("runs") and per second-level folder ("runs/r1"); files at the root count only in `totalBytes`. */
  byFolder: Record<string, number>;
  /** The origin's quota in bytes from `navigator.storage.estimate()`, or null where that is unavailable (Node). */
  quota: number | null;
  /** The origin's usage in bytes (all of its storage, not only this database) from the same estimate, or null. */
  usage: number | null;
}

/** An open app database; `storage(prefix)` hands out RunStorages over folders of it. */
export interface AppDatabase {
  /**
   * A RunStorage whose paths are relative to the folder `prefix` ("" or omitted: the whole database). With `requires`
   * (a full path, such as a run's record "runs/r1/run.json"), every commit first checks, in its own transaction, that
   * this file still exists, and is refused with a RecordGoneError otherwise: files of a run deleted meanwhile (from
   * another tab) are never recreated.
   */
  storage(prefix?: string, opts?: { requires?: string }): RunStorage;
  /** Bytes stored in total and per folder, with the browser's quota estimate where there is one. */
  usage(): Promise<StorageUsage>;
  /** Closes the connection; later operations on its storages fail. */
  close(): void;
}

export interface OpenAppDatabaseOptions {
  /** Database name; default "clora". */
  name?: string;
  /** The IndexedDB factory to open it with; default the global `indexedDB`. */
  factory?: IDBFactory;
}

/**
 * A commit did not fit in the space the browser allows this site. Nothing from that commit was
 * saved; files saved before it are unchanged.
 */
export class StorageQuotaError extends Error {
  override readonly name = 'StorageQuotaError';
  /** The storage's label. */
  readonly storage: string;
  /** How many bytes the failed commit tried to write. */
  readonly bytes: number;

  constructor(storage: string, bytes: number, fileCount: number, cause?: unknown) {
    super(
      `${storage}: out of storage space: the commit tried to write ${formatBytes(bytes)} (${bytes} bytes in ${fileCount} ${fileCount === 1 ? 'file' : 'files'}) ` +
        'and nothing from this commit was saved. Free space by deleting old runs or cached models, then try again.',
      cause !== undefined ? { cause } : undefined,
    );
    this.storage = storage;
    this.bytes = bytes;
  }
}

/** A commit refused because the file it requires (a run's record) is gone; nothing from the commit was saved. */
export class RecordGoneError extends Error {
  override readonly name = 'RecordGoneError';

  constructor(storage: string, readonly required: string) {
    super(`${storage}: ${required} no longer exists (it was deleted, perhaps from another tab), so nothing from this commit was saved and the deleted files are not recreated`);
  }
}

/** Files from this size on are stored as Blobs (see FileRecord). */
export const BLOB_MIN_BYTES = 1 << 20;

/** The default database name. */
export const DEFAULT_DATABASE_NAME = 'clora';

const SCHEMA_VERSION = 1;
const FILES = 'files';
const SIZE_INDEX = 'size';

interface AppSchema extends DBSchema {
  files: { key: string; value: FileRecord; indexes: { size: number } };
}

type AppDB = IDBPDatabase<AppSchema>;
type FileStore = IDBPObjectStore<AppSchema, ['files'], 'files', 'readonly' | 'readwrite'>;

/** A commit refused before writing anything because a path would be both a file and a folder. */
class PathConflictError extends Error {}

/**
 * Opens (creating or upgrading it as needed) the app's IndexedDB database. The open goes through
 * the given factory, or the global `indexedDB`, and idb's `wrap`, since idb's `openDB` always uses
 * the global. idb recognises IndexedDB objects by the global classes (`IDBRequest`, `IDBKeyRange`,
 * …), so those must exist, as they do in browsers and workers; in Node, `import
 * 'fake-indexeddb/auto'` provides them and any fake-indexeddb factory can then be passed.
 */
export async function openAppDatabase(opts: OpenAppDatabaseOptions = {}): Promise<AppDatabase> {
  const name = opts.name ?? DEFAULT_DATABASE_NAME;
  const dbLabel = `IndexedDB ${JSON.stringify(name)}`;
  const factory = opts.factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!factory) throw new Error(`${dbLabel}: IndexedDB is not available here, so runs cannot be saved in the browser`);
  let db: AppDB;
  try {
    db = await openWithFactory(factory, name);
  } catch (err) {
    throw failure(dbLabel, 'open the database', err);
  }
  // Let another tab upgrade or delete the database instead of blocking it.
  db.addEventListener('versionchange', () => db.close());
  return {
    storage: (prefix = '', opts = {}) => idbStorage(db, dbLabel, checkPath(dbLabel, prefix, true), opts.requires === undefined ? null : checkPath(dbLabel, opts.requires)),
    usage: () => usageOf(db, dbLabel),
    close: () => db.close(),
  };
}

function openWithFactory(factory: IDBFactory, name: string): Promise<AppDB> {
  const request = factory.open(name, SCHEMA_VERSION);
  request.addEventListener('upgradeneeded', () => createSchema(request.result));
  return wrap(request) as Promise<AppDB>;
}

function createSchema(db: IDBDatabase): void {
  if (db.objectStoreNames.contains(FILES)) return;
  const files = db.createObjectStore(FILES, { keyPath: 'path' });
  // Lets usage() read every file's size without loading the files' bytes.
  files.createIndex(SIZE_INDEX, 'size');
}

/** The full key of a path relative to the folder `prefix`. */
const joinPath = (prefix: string, path: string): string => (prefix === '' ? path : path === '' ? prefix : `${prefix}/${path}`);

/** Every key strictly inside the folder `folder` (not the folder's own key); undefined for the root, meaning all keys. */
function keysUnder(folder: string): IDBKeyRange | undefined {
  if (folder === '') return undefined;
  // '0' is the character right after '/', so this range holds exactly the keys starting with "folder/".
  return IDBKeyRange.bound(`${folder}/`, `${folder}0`, false, true);
}

/** Wraps an IndexedDB failure in an Error naming the storage and what it was doing. */
function failure(label: string, operation: string, err: unknown): Error {
  const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new Error(`${label}: could not ${operation}: ${why}`, { cause: err });
}

const isQuotaError = (err: unknown): boolean => (err as { name?: unknown } | null)?.name === 'QuotaExceededError';

/** A RunStorage over the keys under the folder `prefix` (already checked) of an open database; see AppDatabase.storage for `requires`. */
function idbStorage(db: AppDB, dbLabel: string, prefix: string, requires: string | null): RunStorage {
  const label = prefix === '' ? dbLabel : `${dbLabel} ${prefix}`;
  const full = (path: string): string => joinPath(prefix, path);
  const relative = (key: string): string => (prefix === '' ? key : key.slice(prefix.length + 1));

  async function read(path: string): Promise<Uint8Array | null> {
    const p = checkPath(label, path);
    let record: FileRecord | undefined;
    try {
      record = await db.get(FILES, full(p));
    } catch (err) {
      throw failure(label, `read ${p}`, err);
    }
    if (record === undefined) return null;
    if (record.data instanceof Blob) return new Uint8Array(await record.data.arrayBuffer());
    if (!(record.data instanceof Uint8Array)) throw new Error(`${label}: ${p}: the stored record holds no bytes`);
    return record.data.slice();
  }

  async function open(path: string): Promise<RandomAccessFile | null> {
    const p = checkPath(label, path);
    let record: FileRecord | undefined;
    try {
      record = await db.get(FILES, full(p));
    } catch (err) {
      throw failure(label, `open ${p}`, err);
    }
    if (record === undefined) return null;
    if (record.data instanceof Blob) return blobRandomAccess(p, record.data);
    // Small files, and files written before large ones were kept as Blobs, are in the record itself.
    if (!(record.data instanceof Uint8Array)) throw new Error(`${label}: ${p}: the stored record holds no bytes`);
    return bytesRandomAccess(p, record.data);
  }

  async function list(folder: string): Promise<string[]> {
    const p = checkPath(label, folder, true);
    try {
      // Keys come back in IndexedDB's order, which for strings is the same as Array.prototype.sort's.
      const keys = await db.getAllKeys(FILES, keysUnder(full(p)));
      return keys.map(relative);
    } catch (err) {
      throw failure(label, `list ${p === '' ? 'the files' : p}`, err);
    }
  }

  /** A stored key as the caller knows it: relative when inside this storage's folder, else the full key with a note. */
  const describeStored = (key: string): string => {
    if (key === prefix) return `${key} (this storage's own folder)`;
    return isUnder(key, prefix) ? relative(key) : `${key} (outside this storage)`;
  };

  /** Throws a PathConflictError when writing `key` would need a stored file to be a folder or a stored folder to be a file. */
  async function checkNoConflict(store: FileStore, key: string): Promise<void> {
    for (const dir of ancestors(key)) {
      if ((await store.getKey(dir)) !== undefined) {
        throw new PathConflictError(`${label}: cannot write ${relative(key)}: ${describeStored(dir)} is a file`);
      }
    }
    if ((await store.count(keysUnder(key))) > 0) throw new PathConflictError(`${label}: cannot write ${relative(key)}: it is a folder`);
  }

  async function commit(input: Record<string, FileContents>): Promise<void> {
    const batch = prepareCommit(label, input);
    if (batch.size === 0) return;
    const sizeOf = (data: Uint8Array | Blob) => (data instanceof Blob ? data.size : data.byteLength);
    const bytes = [...batch.values()].reduce((sum, data) => sum + sizeOf(data), 0);
    const modified = Date.now();
    const tx = db.transaction(FILES, 'readwrite');
    const pending: Promise<unknown>[] = [tx.done];
    try {
      // In the commit's transaction, so a removal cannot slip in between the check and the writes.
      if (requires !== null && (await tx.store.getKey(requires)) === undefined) throw new RecordGoneError(label, requires);
      for (const path of batch.keys()) await checkNoConflict(tx.store, full(path));
      for (const [path, data] of batch) {
        // A Blob is stored as given (the browser copies it apart from the record, without loading it); new Blob and
        // slice() copy bytes, so later changes by the caller cannot reach the stored file.
        const stored = data instanceof Blob ? data
          : data.byteLength >= BLOB_MIN_BYTES ? new Blob([data as Uint8Array<ArrayBuffer>]) : data.slice();
        const record: FileRecord = { path: full(path), data: stored, size: sizeOf(data), modified };
        pending.push(tx.store.put(record));
      }
      await Promise.all(pending);
    } catch (err) {
      abortQuietly(tx);
      await Promise.allSettled(pending);
      if (err instanceof PathConflictError || err instanceof RecordGoneError) throw err;
      if (isQuotaError(err) || isQuotaError(tx.error)) throw new StorageQuotaError(label, bytes, batch.size, err);
      throw failure(label, `commit ${batch.size} ${batch.size === 1 ? 'file' : 'files'} (nothing from this commit was saved)`, err);
    }
  }

  async function remove(folder: string): Promise<void> {
    const p = checkPath(label, folder, true);
    const key = full(p);
    const tx = db.transaction(FILES, 'readwrite');
    try {
      if (key === '') await Promise.all([tx.store.clear(), tx.done]);
      else await Promise.all([tx.store.delete(key), tx.store.delete(keysUnder(key)!), tx.done]);
    } catch (err) {
      abortQuietly(tx);
      await tx.done.catch(() => undefined);
      throw failure(label, `remove ${p === '' ? 'the files' : p}`, err);
    }
  }

  return { label, read, open, list, commit, remove };
}

/** Aborts a transaction that may already have finished or aborted by itself. */
function abortQuietly(tx: { abort(): void }): void {
  try {
    tx.abort();
  } catch {
    // Already finished: there is nothing left to undo.
  }
}

/** The folders a file's bytes count towards in `StorageUsage.byFolder`: its first and second level folders. */
function usageFolders(path: string): string[] {
  return ancestors(path).slice(0, 2);
}

async function usageOf(db: AppDB, label: string): Promise<StorageUsage> {
  const byFolder: Record<string, number> = {};
  let totalBytes = 0;
  try {
    // A key cursor over the size index yields (size, path) pairs without reading any file's bytes.
    let cursor = await db.transaction(FILES).store.index(SIZE_INDEX).openKeyCursor();
    while (cursor) {
      const size = cursor.key;
      totalBytes += size;
      for (const folder of usageFolders(cursor.primaryKey)) byFolder[folder] = (byFolder[folder] ?? 0) + size;
      cursor = await cursor.continue();
    }
  } catch (err) {
    throw failure(label, 'measure its usage', err);
  }
  const estimate = await browserEstimate();
  return { totalBytes, byFolder, quota: estimate.quota, usage: estimate.usage };
}

/** The browser's quota and usage estimate for this origin, nulls where there is none. */
async function browserEstimate(): Promise<{ quota: number | null; usage: number | null }> {
  const storageManager = (globalThis as { navigator?: { storage?: Partial<StorageManager> } }).navigator?.storage;
  if (typeof storageManager?.estimate !== 'function') return { quota: null, usage: null };
  try {
    const est = await storageManager.estimate();
    return { quota: est.quota ?? null, usage: est.usage ?? null };
  } catch {
    return { quota: null, usage: null };
  }
}

/**
 * The distinct names of the folders directly under the folder `prefix` of a storage, sorted
 * (for example the run ids under "runs"). Files directly in `prefix` are not folders and are left out.
 */
export async function listFolders(storage: RunStorage, prefix: string): Promise<string[]> {
  const folder = checkPath(storage.label, prefix, true);
  const start = folder === '' ? 0 : folder.length + 1;
  const names = new Set<string>();
  for (const path of await storage.list(folder)) {
    const slash = path.indexOf('/', start);
    if (slash !== -1) names.add(path.slice(start, slash));
  }
  return [...names].sort();
}

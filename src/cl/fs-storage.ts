// A RunStorage over a folder on disk (Node only), whose commits are atomic across crashes through temporary files, fsync and a journal.
import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, readFile, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { nodeRandomAccess } from '../io/node-files.ts';
import { describeWriteError, makeFolders, withDeadline } from '../io/node-folders.ts';
import { ancestors, checkPath, isUnder, prepareCommit, readBlobs, RESERVED_PREFIX, type RunStorage } from './storage.ts';

/** The points of a commit at which `FsStorageOptions.onCommitStep` is called, in order. */
export type CommitStep =
  /** The pending journal (the list of planned renames) is on disk; no temporary file yet. */
  | { step: 'journal-pending' }
  /** One file's new contents are on disk under its temporary name. */
  | { step: 'temp-written'; path: string }
  /** The commit point: the journal is marked committed, so a crash from here on rolls forward. */
  | { step: 'journal-committed' }
  /** One temporary file has been renamed into place. */
  | { step: 'renamed'; path: string }
  /** Every file is in place and the journal is gone. */
  | { step: 'done' };

export interface FsStorageOptions {
  /**
   * Test hook called at every step of a commit. Throwing from it simulates a crash at that point:
   * the commit stops and, as after a real crash, nothing is cleaned up until the folder is opened
   * again. The commit then rejects with the thrown error.
   */
  onCommitStep?: (step: CommitStep) => void;
  /**
   * Test hook called before each file is written (the probe file on opening; a commit's journal, then every temporary
   * file), with its absolute path. An error thrown from it fails that write as the file system would (a full disk: give it
   * `code: 'ENOSPC'`), and the commit cleans up as after any failed write.
   */
  beforeWrite?: (file: string) => void;
  /**
   * How long opening may take (creating the folder, writing and removing a probe file, finishing an earlier commit)
   * before it fails naming the folder: a folder on a hung network mount, or a file system that never answers, would
   * otherwise stall the run forever. Default 30 s.
   */
  openTimeoutMs?: number;
}

const JOURNAL = `${RESERVED_PREFIX}commit-`;
const PENDING_SUFFIX = '.pending.json';
const TEMP = `${RESERVED_PREFIX}tmp-`;
const TRASH = `${RESERVED_PREFIX}trash-`;

interface JournalEntry {
  /** Final path, relative to the root. */
  path: string;
  /** Temporary path in the same folder, relative to the root. */
  temp: string;
}

interface Journal {
  version: 1;
  id: string;
  files: JournalEntry[];
}

class SimulatedCrash {
  constructor(readonly cause: unknown) {}
}

const errCode = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;

async function exists(p: string): Promise<'file' | 'dir' | null> {
  try {
    const st = await lstat(p);
    return st.isDirectory() ? 'dir' : 'file';
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return null;
    throw err;
  }
}

/** Writes a new file (failing if it exists) and flushes it to the disk. */
async function writeDurable(file: string, data: Uint8Array | string): Promise<void> {
  const h = await open(file, 'wx');
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Flushes a folder's entries (new, renamed and deleted names) to the disk, where the platform allows it. */
async function syncDir(dir: string): Promise<void> {
  let h;
  try {
    h = await open(dir, 'r');
    await h.sync();
  } catch (err) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'ENOENT'].includes(errCode(err) ?? '')) throw err;
  } finally {
    await h?.close();
  }
}

/** Writes and removes a file in `root`, so that a folder that cannot be written fails before any work is done. */
async function probe(root: string, options: FsStorageOptions): Promise<void> {
  const file = join(root, `${TEMP}probe-${randomBytes(6).toString('hex')}`);
  try {
    options.beforeWrite?.(file);
    await writeDurable(file, 'clora write test\n');
    await unlink(file);
  } catch (err) {
    await unlinkIfPresent(file).catch(() => undefined);
    throw describeWriteError(err, root, 'writing a test file in the folder');
  }
}

async function unlinkIfPresent(p: string): Promise<void> {
  try {
    await unlink(p);
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
  }
}

const parentOf = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

/** Every folder (relative, "" = root) holding one of `paths`, with the folders above them, deepest first. */
function foldersOf(paths: string[]): string[] {
  const set = new Set<string>(['']);
  for (const p of paths) for (const a of ancestors(p)) set.add(a);
  return [...set].sort((a, b) => b.length - a.length);
}

function parseJournal(label: string, text: string): Journal {
  const j = JSON.parse(text) as Journal;
  if (!j || j.version !== 1 || !Array.isArray(j.files)) throw new Error('not a commit journal');
  for (const e of j.files) {
    checkPath(label, e.path);
    const tempName = e.temp.slice(e.temp.lastIndexOf('/') + 1);
    if (!tempName.startsWith(TEMP) || parentOf(e.temp) !== parentOf(e.path)) throw new Error(`bad temporary name ${JSON.stringify(e.temp)}`);
    if (parentOf(e.temp) !== '') checkPath(label, parentOf(e.temp));
  }
  return j;
}

/**
 * Opens (creating it if needed) a folder as a RunStorage and finishes whatever an earlier process
 * left half-done: a commit that passed its commit point is rolled forward, one that did not is
 * rolled back (its temporary files deleted), and interrupted removals are completed.
 *
 * A commit writes every file under a temporary name in its final folder and fsyncs it, after
 * recording the planned renames in a pending journal at the root; renaming the journal to its
 * committed name is the commit point; then each temporary file is renamed over its target and the
 * journal is deleted. Renames within a folder are atomic, so a reader after a crash and reopen sees
 * either every new version or every previous one. One process at a time may write a folder.
 *
 * Opening writes and removes a probe file, so a folder that cannot be written (read-only, forbidden, full) fails here,
 * before any work, and opening fails after `openTimeoutMs` on a file system that never answers. A write that fails
 * for a reason the user can fix (full disk, quota, read-only, permissions) names the file or folder and what to do.
 * Once open, the folder is never recreated: a commit into a folder that was removed meanwhile is refused.
 */
export async function fsStorage(dir: string, options: FsStorageOptions = {}): Promise<RunStorage> {
  const root = resolve(dir);
  const timeout = options.openTimeoutMs ?? 30_000;
  return withDeadline(openFolder(root, options), timeout, () =>
    `${root}: the file system did not answer within ${Math.round(timeout / 1000)} s while opening the folder (creating it and writing a test file); choose a folder on a local, writable disk`);
}

async function openFolder(root: string, options: FsStorageOptions): Promise<RunStorage> {
  const label = root;
  await makeFolders(root);
  await probe(root, options);
  const abs = (rel: string): string => (rel === '' ? root : join(root, ...rel.split('/')));

  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const hook = (step: CommitStep): void => {
    if (!options.onCommitStep) return;
    try {
      options.onCommitStep(step);
    } catch (err) {
      throw new SimulatedCrash(err);
    }
  };

  async function rollForward(j: Journal): Promise<void> {
    for (const e of j.files) {
      try {
        await rename(abs(e.temp), abs(e.path));
      } catch (err) {
        // A temporary file that is gone was renamed into place before the interruption.
        if (errCode(err) !== 'ENOENT') throw err;
      }
    }
    for (const f of foldersOf(j.files.map((e) => e.path))) await syncDir(abs(f));
  }

  async function rollBack(j: Journal): Promise<void> {
    for (const e of j.files) await unlinkIfPresent(abs(e.temp));
  }

  async function sweep(rel: string): Promise<void> {
    for (const ent of await readdir(abs(rel), { withFileTypes: true })) {
      const child = rel === '' ? ent.name : `${rel}/${ent.name}`;
      if (ent.name.startsWith(TEMP)) await rm(abs(child), { recursive: true, force: true });
      else if (ent.name.startsWith(TRASH) && rel === '') await rm(abs(child), { recursive: true, force: true });
      else if (ent.isDirectory() && !ent.name.startsWith(RESERVED_PREFIX)) await sweep(child);
    }
  }

  async function recover(): Promise<void> {
    const journals = (await readdir(root)).filter((n) => n.startsWith(JOURNAL) && n.endsWith('.json')).sort();
    for (const name of journals) {
      const file = join(root, name);
      const pending = name.endsWith(PENDING_SUFFIX);
      let j: Journal | null = null;
      try {
        j = parseJournal(label, await readFile(file, 'utf8'));
      } catch (err) {
        // A pending journal is written before any temporary file, so a torn one has nothing to undo.
        if (!pending) throw new Error(`${label}: ${name}: unreadable commit journal (${err instanceof Error ? err.message : String(err)}); the commit it records cannot be completed`);
      }
      if (j) await (pending ? rollBack(j) : rollForward(j));
      await unlink(file);
    }
    if (journals.length) await syncDir(root);
    // Temporary files no journal accounts for, and folders whose removal was interrupted.
    await sweep('');
  }

  async function commitNow(input: Record<string, Uint8Array | string>): Promise<void> {
    const batch = prepareCommit(label, input);
    if (batch.size === 0) return;
    // The folder is the run: one removed while the run was writing (a user deleting it) is not brought back.
    if ((await exists(root)) !== 'dir') throw new Error(`${root}: the folder was removed while the run was writing to it; nothing was written and it was not recreated`);
    const paths = [...batch.keys()];
    for (const path of paths) {
      for (const a of ancestors(path)) {
        if ((await exists(abs(a))) === 'file') throw new Error(`${label}: cannot write ${path}: ${a} is a file`);
      }
      if ((await exists(abs(path))) === 'dir') throw new Error(`${label}: cannot write ${path}: it is a folder`);
    }
    const id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const entries: JournalEntry[] = paths.map((path, i) => {
      const parent = parentOf(path);
      return { path, temp: `${parent === '' ? '' : parent + '/'}${TEMP}${id}-${i}` };
    });
    const journal: Journal = { version: 1, id, files: entries };
    const pendingFile = join(root, `${JOURNAL}${id}${PENDING_SUFFIX}`);
    const committedFile = join(root, `${JOURNAL}${id}.json`);
    const folders = foldersOf(paths);
    let committed = false;
    // What the commit was writing when it failed, for the error message: the file it names is the one that failed.
    let writing = { doing: 'writing the commit journal into the folder', path: root };
    // Folders this commit created, removed again if it is undone (a full disk must not leave empty folders behind).
    const made: string[] = [];
    try {
      options.beforeWrite?.(pendingFile);
      await writeDurable(pendingFile, JSON.stringify(journal));
      await syncDir(root);
      hook({ step: 'journal-pending' });
      for (const e of entries) {
        writing = { doing: 'creating the folder', path: abs(parentOf(e.path)) };
        made.push(...(await makeFolders(abs(parentOf(e.path)))));
        // Named by its final path: the temporary name means nothing to the user.
        writing = { doing: 'writing', path: abs(e.path) };
        options.beforeWrite?.(abs(e.temp));
        await writeDurable(abs(e.temp), batch.get(e.path)!);
        hook({ step: 'temp-written', path: e.path });
      }
      writing = { doing: 'completing the commit in', path: root };
      for (const f of folders) await syncDir(abs(f));
      await rename(pendingFile, committedFile);
      await syncDir(root);
      committed = true;
      hook({ step: 'journal-committed' });
      for (const e of entries) {
        await rename(abs(e.temp), abs(e.path));
        hook({ step: 'renamed', path: e.path });
      }
      for (const f of folders) await syncDir(abs(f));
      await unlink(committedFile);
      await syncDir(root);
      hook({ step: 'done' });
    } catch (err) {
      if (err instanceof SimulatedCrash) throw err.cause;
      let after: string;
      if (!committed) {
        // Nothing is in place yet: undo, leaving the previous versions as they were.
        await rollBack(journal).catch(() => undefined);
        await unlinkIfPresent(pendingFile).catch(() => undefined);
        for (const f of made.reverse()) await rmdir(f).catch(() => undefined);
        after = 'Nothing of this write was kept; the files written before are intact.';
      } else {
        // Past the commit point: finish now if possible; otherwise the next open will.
        after = await rollForward(journal)
          .then(() => unlinkIfPresent(committedFile))
          .then(() => 'The write was completed nevertheless.', () => 'The write will be completed when the folder is next opened.');
      }
      throw describeWriteError(err, writing.path, writing.doing, after);
    }
  }

  async function listNow(prefix: string): Promise<string[]> {
    const p = checkPath(label, prefix, true);
    if ((await exists(abs(p))) !== 'dir') return [];
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const ent of await readdir(abs(rel), { withFileTypes: true })) {
        if (ent.name.startsWith(RESERVED_PREFIX)) continue;
        const child = rel === '' ? ent.name : `${rel}/${ent.name}`;
        if (ent.isDirectory()) await walk(child);
        else if (ent.isFile()) out.push(child);
      }
    };
    await walk(p);
    return out.filter((f) => isUnder(f, p)).sort();
  }

  async function removeNow(prefix: string): Promise<void> {
    const p = checkPath(label, prefix, true);
    if (p === '') {
      for (const name of await readdir(root)) {
        if (!name.startsWith(RESERVED_PREFIX)) await rm(join(root, name), { recursive: true, force: true });
      }
      await syncDir(root);
      return;
    }
    const kind = await exists(abs(p));
    if (kind === 'file') {
      await unlink(abs(p));
      await syncDir(abs(parentOf(p)));
    } else if (kind === 'dir') {
      // Moving the folder aside first makes the removal all-or-nothing; a leftover is swept on open.
      const trash = join(root, `${TRASH}${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`);
      await rename(abs(p), trash);
      await syncDir(abs(parentOf(p)));
      await syncDir(root);
      await rm(trash, { recursive: true, force: true });
    }
  }

  await recover();

  return {
    label,
    read: (path) =>
      exclusive(async () => {
        const p = checkPath(label, path);
        try {
          return new Uint8Array(await readFile(abs(p)));
        } catch (err) {
          if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes(errCode(err) ?? '')) return null;
          throw err;
        }
      }),
    open: (path) =>
      exclusive(async () => {
        const p = checkPath(label, path);
        try {
          return await nodeRandomAccess(abs(p), p);
        } catch (err) {
          if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes(errCode(err) ?? '')) return null;
          if (err instanceof Error && /not a regular file/.test(err.message)) return null;
          throw err;
        }
      }),
    list: (prefix) => exclusive(() => listNow(prefix)),
    commit: async (files) => {
      const bytes = await readBlobs(files);
      return exclusive(() => commitNow(bytes));
    },
    remove: (prefix) => exclusive(() => removeNow(prefix)),
  };
}

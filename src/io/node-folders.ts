// Writing into folders from Node without hanging and with errors a user can act on: folders created one level at a
// time, a deadline for file-system calls that may never settle, and write errors that name the file and what to do.
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const errCode = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;

const described = new WeakSet<object>();

/** What a failed write's error code means and what to do about it. */
const WRITE_ERRORS: Record<string, { reason: string; advice: string }> = {
  ENOSPC: { reason: 'the disk is full', advice: 'free some space on that disk, or choose a folder on another one' },
  EDQUOT: { reason: 'the disk quota is used up', advice: 'delete some files under that quota or have it raised, or choose a folder elsewhere' },
  EROFS: { reason: 'the file system is read-only', advice: 'choose a folder on a writable disk' },
  EACCES: { reason: 'permission denied', advice: 'choose a folder you may write to, or change its permissions' },
  EPERM: { reason: 'the operation is not permitted there', advice: 'choose a folder you may write to, or change its permissions' },
};

/**
 * A write error as a message naming `path` (the file or folder being written) and what to do, for the errors a user
 * can fix (full disk, quota, read-only or forbidden folder); any other error comes back unchanged. `after` is added
 * to the message: what became of the write (for example, that nothing of it was kept).
 */
export function describeWriteError(err: unknown, path: string, doing: string, after = ''): unknown {
  const code = errCode(err);
  const known = code ? WRITE_ERRORS[code] : undefined;
  if (!known) return err;
  // Described already, deeper down (creating a folder): add only what became of the write.
  if (described.has(err as object)) return after ? Object.assign(new Error(`${(err as Error).message} ${after}`, { cause: err }), { code, path: (err as { path?: string }).path }) : err;
  const out = Object.assign(new Error(`${doing} ${path} failed: ${known.reason} (${code}); ${known.advice}.${after ? ` ${after}` : ''}`, { cause: err }), { code, path });
  described.add(out);
  return out;
}

async function kindOf(path: string): Promise<'dir' | 'other' | null> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return null;
    throw describeWriteError(err, path, 'checking');
  }
}

/**
 * Creates `dir` and its missing parents, one level at a time. Node's `mkdir(..., { recursive: true })` never settles
 * where a file system refuses a new folder with ENOENT although its parent exists (/proc): this fails at once
 * instead, naming the folder. Returns the folders it created, outermost first.
 */
export async function makeFolders(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    const kind = await kindOf(at);
    if (kind === 'dir') break;
    if (kind === 'other') throw new Error(`${at} is a file, so the folder ${resolve(dir)} cannot be created; choose another folder`);
    missing.push(at);
    if (dirname(at) === at) break;
  }
  const made: string[] = [];
  for (const folder of missing.reverse()) {
    try {
      await mkdir(folder);
      made.push(folder);
    } catch (err) {
      if (errCode(err) === 'EEXIST' && (await kindOf(folder)) === 'dir') continue;
      if (errCode(err) === 'ENOENT') {
        throw Object.assign(new Error(`creating the folder ${folder} failed: its parent exists but the file system there does not take new folders (ENOENT); choose a folder on an ordinary writable disk`), { code: 'ENOENT', path: folder });
      }
      throw describeWriteError(err, folder, 'creating the folder');
    }
  }
  return made;
}

/** `work`, or an Error with `message` once `ms` pass without it settling (the work itself cannot be stopped). */
export async function withDeadline<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

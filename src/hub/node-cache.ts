// The Hugging Face cache on disk (huggingface_hub's layout, shared with Python tools), and the HF_* environment
// variables that place it and configure the client. Node only.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat, symlink, writeFile, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { dirSource } from '../io/node-files.ts';
import type { HubCache, PartialBlob } from './cache.ts';
import { normaliseEndpoint } from './repo-id.ts';

/** huggingface_hub's _is_true: "1", "ON", "YES", "TRUE" in any case. */
function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.trim().toUpperCase());
}

export interface HubEnv {
  endpoint: string;
  token: string | null;
  offline: boolean;
  cacheDir: string;
}

/**
 * The settings huggingface_hub reads: HF_ENDPOINT, HF_TOKEN (else the token file HF_TOKEN_PATH or $HF_HOME/token that
 * `huggingface-cli login` writes), HF_HUB_OFFLINE, and the cache HF_HUB_CACHE (else $HF_HOME/hub, HF_HOME defaulting
 * to $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface).
 */
export function hubEnv(env: NodeJS.ProcessEnv = process.env): HubEnv {
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  const cacheDir = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(home, 'hub');
  let token = env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim() || null;
  if (!token) {
    const file = env.HF_TOKEN_PATH || join(home, 'token');
    try {
      if (existsSync(file) && statSync(file).isFile()) token = readFileSync(file, 'utf8').trim() || null;
    } catch {
      token = null;
    }
  }
  return { endpoint: normaliseEndpoint(env.HF_ENDPOINT), token, offline: isTrue(env.HF_HUB_OFFLINE), cacheDir };
}

/** `models--org--name`, the folder of a model repo in the cache. */
export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

/** The cache folder of one model repo. */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, repoFolderName(repo));
}

const missing = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as { code?: string } | null)?.code ?? '');

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (e) {
    if (missing(e)) return false;
    throw e;
  }
}

/** Writes `path` through a temporary file and a rename, so readers never see half of it. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** huggingface_hub's cache in `cacheDir`: refs/<rev> hold a commit, snapshots/<commit>/<path> link to blobs/<etag>. */
export function nodeHubCache(cacheDir: string): HubCache {
  const repoDir = (repo: string) => repoCacheDir(cacheDir, repo);
  const blobPath = (repo: string, etag: string) => join(repoDir(repo), 'blobs', etag);
  const snapPath = (repo: string, commit: string, path: string) => join(repoDir(repo), 'snapshots', commit, ...path.split('/'));
  return {
    label: cacheDir,
    async readRef(repo, revision) {
      try {
        const commit = (await readFile(join(repoDir(repo), 'refs', ...revision.split('/')), 'utf8')).trim();
        return /^[0-9a-f]{40}$/.test(commit) ? commit : null;
      } catch (e) {
        if (missing(e)) return null;
        throw e;
      }
    },
    async writeRef(repo, revision, commit) {
      const file = join(repoDir(repo), 'refs', ...revision.split('/'));
      if ((await this.readRef(repo, revision)) !== commit) await writeAtomic(file, commit);
    },
    hasSnapshotFile: (repo, commit, path) => isFile(snapPath(repo, commit, path)),
    hasBlob: (repo, etag) => isFile(blobPath(repo, etag)),
    async linkSnapshotFile(repo, commit, path, etag) {
      const link = snapPath(repo, commit, path);
      const blob = blobPath(repo, etag);
      await mkdir(dirname(link), { recursive: true });
      await rm(link, { force: true });
      try {
        // Relative, as huggingface_hub makes them, so the cache folder can be moved.
        await symlink(relative(dirname(link), blob), link);
      } catch {
        await copyFile(blob, link);
      }
    },
    async openPartial(repo, etag): Promise<PartialBlob> {
      const final = blobPath(repo, etag);
      const path = `${final}.incomplete`;
      await mkdir(dirname(path), { recursive: true });
      const fh: FileHandle = await open(path, 'a+');
      let closed = false;
      let length = (await fh.stat()).size;
      return {
        get length() {
          return length;
        },
        async read(offset, n) {
          const out = new Uint8Array(n);
          const { bytesRead } = await fh.read(out, 0, n, offset);
          return out.subarray(0, bytesRead);
        },
        async append(chunk) {
          await fh.write(chunk, 0, chunk.byteLength, null);
          length += chunk.byteLength;
        },
        async reset() {
          await fh.truncate(0);
          length = 0;
        },
        async complete() {
          await fh.sync();
          await fh.close();
          closed = true;
          await rename(path, final);
        },
        async close() {
          if (!closed) await fh.close();
          closed = true;
        },
      };
    },
    async snapshot(repo, commit) {
      const dir = join(repoDir(repo), 'snapshots', commit);
      try {
        if (!(await stat(dir)).isDirectory()) return null;
      } catch (e) {
        if (missing(e)) return null;
        throw e;
      }
      return dirSource(dir);
    },
  };
}

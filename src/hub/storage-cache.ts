// The Hub cache kept in a RunStorage (the app's IndexedDB): the Hugging Face layout (refs, snapshots, blobs by etag),
// with each blob stored as chunk files committed as bytes arrive, so a download never sits whole in memory and a
// reload mid-download resumes from the last chunk; snapshots are read back by byte range across the chunks.
import type { RunStorage } from '../cl/storage.ts';
import { MissingFileError } from '../io/errors.ts';
import { decodeText, type FileSource } from '../io/files.ts';
import { checkRange, type RandomAccessFile } from '../io/random-access.ts';
import type { HubCache, PartialBlob } from './cache.ts';

/** A chunk is committed when it reaches this size... */
export const CHUNK_BYTES = 4 << 20;
/** ...or when this long has passed since the last commit, so a slow download loses little to a reload. */
export const CHUNK_MS = 1000;

const COMPLETE = 'complete.json';
const pad = (n: number) => String(n).padStart(15, '0');

/** Chunk files of a blob: `<start>-<end>` byte offsets, zero-padded so they sort in order. */
function parseChunks(paths: string[], dir: string): { path: string; start: number; end: number }[] {
  const out: { path: string; start: number; end: number }[] = [];
  for (const p of paths) {
    const m = /^(\d{15})-(\d{15})$/.exec(p.slice(dir.length + 1));
    if (m) out.push({ path: p, start: Number(m[1]), end: Number(m[2]) });
  }
  return out.sort((a, b) => a.start - b.start);
}

interface Pointer {
  etag: string;
  size: number;
}

/** `root` is the folder of the cache inside the storage ("hub"). */
export function storageHubCache(storage: RunStorage, root = 'hub', opts: { chunkBytes?: number; chunkMs?: number } = {}): HubCache {
  const chunkBytes = opts.chunkBytes ?? CHUNK_BYTES;
  const chunkMs = opts.chunkMs ?? CHUNK_MS;
  const repoDir = (repo: string) => `${root}/models--${repo.split('/').join('--')}`;
  const blobDir = (repo: string, etag: string) => `${repoDir(repo)}/blobs/${etag}`;
  const pointerPath = (repo: string, commit: string, path: string) => `${repoDir(repo)}/snapshots/${commit}/${path}`;
  const readPointer = async (repo: string, commit: string, path: string): Promise<Pointer | null> => {
    const bytes = await storage.read(pointerPath(repo, commit, path));
    return bytes ? (JSON.parse(decodeText(bytes)) as Pointer) : null;
  };
  const isComplete = async (repo: string, etag: string) => (await storage.read(`${blobDir(repo, etag)}/${COMPLETE}`)) !== null;

  /** A blob's bytes by range, read from the chunk files that cover it. */
  async function openBlob(repo: string, etag: string, name: string, size: number): Promise<RandomAccessFile> {
    const dir = blobDir(repo, etag);
    const chunks = parseChunks(await storage.list(dir), dir);
    const stored = chunks.at(-1)?.end ?? 0;
    return {
      name,
      size,
      async read(offset, length) {
        checkRange(name, Math.min(size, stored), offset, length);
        const out = new Uint8Array(length);
        for (const c of chunks) {
          if (c.end <= offset || c.start >= offset + length) continue;
          const from = Math.max(offset, c.start);
          const to = Math.min(offset + length, c.end);
          const file = await storage.open(c.path);
          if (!file) throw new MissingFileError(c.path, storage.label);
          try {
            out.set(await file.read(from - c.start, to - from), from - offset);
          } finally {
            await file.close();
          }
        }
        return out;
      },
      async close() {},
    };
  }

  return {
    label: `${storage.label} ${root}`,
    async readRef(repo, revision) {
      const bytes = await storage.read(`${repoDir(repo)}/refs/${revision}`);
      const commit = bytes ? decodeText(bytes).trim() : null;
      return commit && /^[0-9a-f]{40}$/.test(commit) ? commit : null;
    },
    async writeRef(repo, revision, commit) {
      await storage.commit({ [`${repoDir(repo)}/refs/${revision}`]: commit });
    },
    async hasSnapshotFile(repo, commit, path) {
      const p = await readPointer(repo, commit, path);
      return p !== null && (await isComplete(repo, p.etag));
    },
    hasBlob: isComplete,
    async linkSnapshotFile(repo, commit, path, etag) {
      const done = await storage.read(`${blobDir(repo, etag)}/${COMPLETE}`);
      const size = done ? (JSON.parse(decodeText(done)) as { size: number }).size : 0;
      await storage.commit({ [pointerPath(repo, commit, path)]: JSON.stringify({ etag, size } satisfies Pointer) });
    },
    async openPartial(repo, etag): Promise<PartialBlob> {
      const dir = blobDir(repo, etag);
      let length = parseChunks(await storage.list(dir), dir).at(-1)?.end ?? 0;
      let stored = length;
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      let lastFlush = Date.now();
      const flush = async () => {
        if (pendingBytes === 0) return;
        const data = new Uint8Array(pendingBytes);
        let at = 0;
        for (const p of pending) { data.set(p, at); at += p.byteLength; }
        await storage.commit({ [`${dir}/${pad(stored)}-${pad(stored + pendingBytes)}`]: data });
        stored += pendingBytes;
        pending = [];
        pendingBytes = 0;
        lastFlush = Date.now();
      };
      return {
        get length() {
          return length;
        },
        async read(offset, n) {
          await flush();
          return (await openBlob(repo, etag, etag, stored)).read(offset, n);
        },
        async append(chunk) {
          pending.push(chunk.slice());
          pendingBytes += chunk.byteLength;
          length += chunk.byteLength;
          if (pendingBytes >= chunkBytes || Date.now() - lastFlush >= chunkMs) await flush();
        },
        async reset() {
          pending = [];
          pendingBytes = 0;
          await storage.remove(dir);
          length = 0;
          stored = 0;
        },
        async complete() {
          await flush();
          await storage.commit({ [`${dir}/${COMPLETE}`]: JSON.stringify({ size: stored }) });
        },
        close: flush,
      };
    },
    async snapshot(repo, commit) {
      const dir = `${repoDir(repo)}/snapshots/${commit}`;
      const listed = await storage.list(dir);
      if (listed.length === 0) return null;
      const label = `${storage.label} ${repo}@${commit.slice(0, 12)}`;
      const open = async (name: string): Promise<RandomAccessFile> => {
        const p = await readPointer(repo, commit, name);
        if (!p || !(await isComplete(repo, p.etag))) throw new MissingFileError(name, label);
        return openBlob(repo, p.etag, name, p.size);
      };
      const readAll = async (name: string) => {
        const f = await open(name);
        return f.read(0, f.size);
      };
      const source: FileSource = {
        label,
        has: async (name) => (await readPointer(repo, commit, name)) !== null,
        async read(name, onProgress) {
          const data = await readAll(name);
          onProgress?.(data.byteLength, data.byteLength);
          return data;
        },
        readText: async (name) => decodeText(await readAll(name)),
        open,
      };
      return source;
    },
  };
}

/**
 * Forgets one commit of a repository in a Hub cache kept by `storageHubCache`: its snapshot, the refs that point to it,
 * and every blob no remaining snapshot of the repository points to (chunks and all); with no snapshot left, the
 * repository's whole folder. What other commits still use stays.
 */
export async function removeHubSnapshot(storage: RunStorage, repo: string, commit: string, root = 'hub'): Promise<void> {
  const repoDir = `${root}/models--${repo.split('/').join('--')}`;
  await storage.remove(`${repoDir}/snapshots/${commit}`);
  const remaining = (await storage.list(`${repoDir}/snapshots`)).filter((p) => p.split('/').length > repoDir.split('/').length + 2);
  if (remaining.length === 0) {
    await storage.remove(repoDir);
    return;
  }
  for (const ref of await storage.list(`${repoDir}/refs`)) {
    const bytes = await storage.read(ref);
    if (bytes && decodeText(bytes).trim() === commit) await storage.remove(ref);
  }
  const used = new Set<string>();
  for (const path of remaining) {
    const bytes = await storage.read(path);
    if (bytes) used.add((JSON.parse(decodeText(bytes)) as Pointer).etag);
  }
  const blobs = new Set((await storage.list(`${repoDir}/blobs`)).map((p) => p.slice(`${repoDir}/blobs/`.length).split('/')[0]));
  for (const etag of blobs) if (!used.has(etag)) await storage.remove(`${repoDir}/blobs/${etag}`);
}

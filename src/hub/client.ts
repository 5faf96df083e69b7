// The Hub client shared by the CLI and the app's worker: resolves a revision to a commit from the Hub API, fetches
// each file a model needs once (resuming cut transfers with Range, checking sha256 or the git blob id), and keeps
// them in a HubCache laid out as huggingface_hub's cache; offline it reads that cache as it is.
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { FileSource } from '../io/files.ts';
import type { HubCache, PartialBlob } from './cache.ts';
import { HubError } from './errors.ts';
import { HubHttp, isNetworkError, type HubHttpOptions } from './http.ts';
import { checkRepoId, isCommitHash, normaliseEndpoint, resolveUrl, revisionApiUrl, type ModelRef } from './repo-id.ts';

/** One file of a revision as the API lists it (`?blobs=true`). */
export interface HubFile {
  path: string;
  size: number | null;
  /** The cache key of its blob: the LFS sha256 for LFS files, else the git blob id. */
  etag: string | null;
  /** Set for LFS files. */
  sha256: string | null;
  /** Set for plain git files: sha1 of `blob <size>\0<bytes>`. */
  blobId: string | null;
}

export interface RevisionInfo {
  repo: string;
  revision: string;
  commit: string;
  files: HubFile[];
}

/** Where a download stands: the current file (k of n) and all files, with a speed and ETA once bytes flow. */
export interface HubProgress {
  file: string;
  fileIndex: number;
  files: number;
  fileLoaded: number;
  fileTotal: number | null;
  loaded: number;
  total: number | null;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
}

export interface SnapshotOptions extends Omit<HubHttpOptions, 'endpoint'> {
  endpoint?: string | null;
  /** HF_HUB_OFFLINE=1: never touch the network; use the cache as it is. */
  offline?: boolean;
  onProgress?: (p: HubProgress) => void;
  /** Told, in one sentence, when the cache is used because the network failed. */
  onNote?: (message: string) => void;
}

export interface Snapshot {
  repo: string;
  revision: string;
  commit: string;
  source: FileSource;
  /** Files fetched over the network this time (empty when everything came from the cache). */
  downloaded: string[];
  /** True when the network was not asked (offline) or could not be reached. */
  offline: boolean;
}

/** Files the engine reads besides the weights, fetched when the repo has them. */
export const MODEL_EXTRA_FILES = ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];
const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

/** Reads the API's answer; a malformed one is a server error naming the URL. */
export function parseRevisionInfo(json: unknown, repo: string, revision: string, url: string): RevisionInfo {
  const bad = (what: string) => new HubError('server', `${url} answered with ${what}, not a model's revision info.`);
  if (!isObject(json)) throw bad('something other than a JSON object');
  if (typeof json.sha !== 'string' || !isCommitHash(json.sha)) throw bad('no 40-hex "sha"');
  if (!Array.isArray(json.siblings)) throw bad('no "siblings" list');
  const files: HubFile[] = [];
  for (const s of json.siblings) {
    if (!isObject(s) || typeof s.rfilename !== 'string') throw bad('a sibling without "rfilename"');
    const lfs = isObject(s.lfs) && typeof s.lfs.sha256 === 'string' ? s.lfs : null;
    const size = typeof s.size === 'number' ? s.size : lfs && typeof lfs.size === 'number' ? lfs.size : null;
    const blobId = typeof s.blobId === 'string' ? s.blobId : null;
    const sha = lfs ? (lfs.sha256 as string) : null;
    files.push({ path: s.rfilename, size, etag: sha ?? blobId, sha256: sha, blobId: lfs ? null : blobId });
  }
  return { repo, revision, commit: json.sha, files };
}

/** Resolves a branch, tag or commit to a commit and lists its files: GET /api/models/{repo}/revision/{rev}?blobs=true. */
export async function fetchRevision(http: HubHttp, repo: string, revision: string): Promise<RevisionInfo> {
  const url = revisionApiUrl(http.endpoint, repo, revision);
  const res = await http.get(url, { repo, revision });
  let json: unknown;
  try {
    json = await res.json();
  } catch (e) {
    throw new HubError('server', `${url} answered with invalid JSON.`, { cause: e });
  }
  return parseRevisionInfo(json, repo, revision, url);
}

/** The incremental check of a file's bytes: sha256 for LFS files, the git blob hash for others, none without either. */
function hasherFor(file: HubFile): { update(b: Uint8Array): void; check(): string | null } | null {
  if (file.sha256) {
    const h = sha256.create();
    return { update: (b) => h.update(b), check: () => { const got = bytesToHex(h.digest()); return got === file.sha256!.toLowerCase() ? null : got; } };
  }
  if (file.blobId && file.size !== null) {
    const h = sha1.create();
    h.update(new TextEncoder().encode(`blob ${file.size}\0`));
    return { update: (b) => h.update(b), check: () => { const got = bytesToHex(h.digest()); return got === file.blobId!.toLowerCase() ? null : got; } };
  }
  return null;
}

const READ_BACK = 8 << 20;

/** Feeds the bytes already in a partial blob to a fresh hasher (a resumed file is hashed from its first byte). */
async function hashStored(part: PartialBlob, hasher: { update(b: Uint8Array): void } | null): Promise<void> {
  if (!hasher) return;
  for (let off = 0; off < part.length; off += READ_BACK) hasher.update(await part.read(off, Math.min(READ_BACK, part.length - off)));
}

/** The start of a 206's Content-Range (`bytes 100-199/200`), or null. */
function rangeStart(res: Response): number | null {
  const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * Fetches one file into the cache: one GET (a second only to resume a cut transfer from where it stopped, with
 * `Range`), its bytes hashed as they arrive and checked before the blob is completed. `onBytes` gets the file's
 * bytes so far.
 */
export async function downloadFile(http: HubHttp, cache: HubCache, repo: string, commit: string, file: HubFile, onBytes: (loaded: number, fresh: number) => void): Promise<void> {
  const etag = file.etag ?? `${commit}-${file.path.replace(/\//g, '--')}`;
  const part = await cache.openPartial(repo, etag);
  try {
    await fillPartial(http, cache, part, repo, commit, file, etag, onBytes);
  } finally {
    await part.close();
  }
}

async function fillPartial(http: HubHttp, cache: HubCache, part: PartialBlob, repo: string, commit: string, file: HubFile, etag: string, onBytes: (loaded: number, fresh: number) => void): Promise<void> {
  if (file.size !== null && part.length > file.size) await part.reset();
  let hasher = hasherFor(file);
  await hashStored(part, hasher);
  onBytes(part.length, 0);
  const url = resolveUrl(http.endpoint, repo, commit, file.path);
  const subject = { repo, revision: commit, file: file.path };
  let attempt = 0;
  for (;;) {
    if (file.size !== null && part.length === file.size) break;
    const resumeFrom = part.length;
    const res = await http.get(url, subject, resumeFrom > 0 ? { range: `bytes=${resumeFrom}-` } : {});
    if (resumeFrom > 0 && (res.status !== 206 || rangeStart(res) !== resumeFrom)) {
      // The server sent the whole file: start over rather than append it to what is there.
      await part.reset();
      hasher = hasherFor(file);
      onBytes(0, 0);
      if (res.status === 206) { void res.body?.cancel(); continue; }
    }
    let progressed = false;
    try {
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await part.append(value);
        hasher?.update(value);
        progressed = true;
        onBytes(part.length, value.byteLength);
      }
    } catch (e) {
      if (!isNetworkError(e)) throw e;
      if (progressed) attempt = 0;
      if (await http.backoff(url, attempt++, null)) continue;
      throw new HubError('network', `the download of ${file.path} from ${repo} was cut at ${part.length} bytes and could not be resumed; run again to continue from there.`, { cause: e });
    }
    if (file.size === null || part.length >= file.size) break;
    // The body ended early without an error: resume like a cut.
    if (progressed) attempt = 0;
    if (!(await http.backoff(url, attempt++, null))) {
      throw new HubError('network', `the download of ${file.path} from ${repo} stopped at ${part.length} of ${file.size} bytes; run again to continue from there.`);
    }
  }
  const wrong = hasher?.check() ?? null;
  if (wrong !== null) {
    await part.reset();
    const want = file.sha256 ? `sha256 ${file.sha256}` : `git blob id ${file.blobId}`;
    throw new HubError('integrity', `${file.path} from ${repo} does not match its ${want} (got ${wrong}); the bad copy was deleted, run again to fetch it anew.`);
  }
  await part.complete();
  await cache.linkSnapshotFile(repo, commit, file.path, etag);
}

/** The files of a revision that a model needs, in download order; the weight shards come from the index once it is in. */
function listedFile(info: RevisionInfo, path: string): HubFile | null {
  return info.files.find((f) => f.path === path) ?? null;
}

async function offlineSnapshot(cache: HubCache, repo: string, revision: string, why: string): Promise<Snapshot> {
  const commit = isCommitHash(revision) ? revision : await cache.readRef(repo, revision);
  const source = commit ? await cache.snapshot(repo, commit) : null;
  if (!commit || !source) throw new HubError('offline', `${repo}@${revision} is not in the Hugging Face cache at ${cache.label}, and ${why}.`);
  return { repo, revision, commit, source, downloaded: [], offline: true };
}

/**
 * A model's files at a revision, fetched into `cache` as needed (huggingface_hub's snapshot_download, limited to the
 * files clora reads). A cached branch is revalidated with one API request when the network is there, and used as it
 * is when it is not; HF_HUB_OFFLINE (`offline`) never asks the network.
 */
export async function snapshotModel(cache: HubCache, ref: ModelRef, opts: SnapshotOptions = {}): Promise<Snapshot> {
  const repo = checkRepoId(ref.repo);
  const revision = ref.revision || 'main';
  const endpoint = normaliseEndpoint(opts.endpoint);
  if (opts.offline) return offlineSnapshot(cache, repo, revision, 'offline mode is on (HF_HUB_OFFLINE)');
  if (isCommitHash(revision)) {
    // A commit never changes: a snapshot of it that holds a model is used without asking the Hub (as huggingface_hub
    // does for files of a commit already in the cache).
    const source = await cache.snapshot(repo, revision);
    if (source && (await source.has('config.json')) && ((await source.has(SINGLE)) || (await source.has(INDEX)))) {
      return { repo, revision, commit: revision, source, downloaded: [], offline: false };
    }
  }
  const http = new HubHttp({ ...opts, endpoint });
  let info: RevisionInfo;
  try {
    info = await fetchRevision(http, repo, revision);
  } catch (e) {
    if (!(e instanceof HubError && e.kind === 'network')) throw e;
    const snap = await offlineSnapshot(cache, repo, revision, `${endpoint} cannot be reached`).catch(() => { throw e; });
    opts.onNote?.(`${endpoint} cannot be reached; using ${repo}@${revision} (${snap.commit.slice(0, 12)}) from the cache as it is.`);
    return snap;
  }
  const commit = info.commit;
  if (!isCommitHash(revision)) await cache.writeRef(repo, revision, commit);

  const need = (path: string, required: boolean, hint = '') => {
    const f = listedFile(info, path);
    if (!f && required) throw new HubError('entry-not-found', `${repo}@${revision} has no file ${path}${hint}.`);
    return f;
  };
  const plan: HubFile[] = [need('config.json', true)!];
  for (const name of MODEL_EXTRA_FILES) { const f = need(name, false); if (f) plan.push(f); }
  const single = need(SINGLE, false);
  const index = single ? null : need(INDEX, true, ` or ${SINGLE} (clora reads safetensors weights)`);
  plan.push((single ?? index)!);

  const total0 = plan.reduce<number | null>((s, f) => (s === null || f.size === null ? null : s + f.size), 0);
  let total = total0;
  let done = 0;
  let fresh = 0;
  const t0 = Date.now();
  const downloaded: string[] = [];
  const fetchAll = async (files: HubFile[], offset: number, count: number) => {
    for (const [k, f] of files.entries()) {
      const report = (fileLoaded: number) => {
        const seconds = (Date.now() - t0) / 1000;
        const rate = fresh > 0 && seconds > 0 ? fresh / seconds : null;
        const loaded = done + fileLoaded;
        opts.onProgress?.({
          file: f.path, fileIndex: offset + k, files: count, fileLoaded, fileTotal: f.size, loaded, total,
          bytesPerSecond: rate, etaSeconds: rate && total !== null ? Math.max(0, (total - loaded) / rate) : null,
        });
      };
      if (await cache.hasSnapshotFile(repo, commit, f.path)) {
        // Already in this snapshot (an earlier run, or Python tools sharing the cache).
      } else if (f.etag && (await cache.hasBlob(repo, f.etag))) {
        await cache.linkSnapshotFile(repo, commit, f.path, f.etag);
      } else {
        await downloadFile(http, cache, repo, commit, f, (loaded, bytes) => { fresh += bytes; report(loaded); });
        downloaded.push(f.path);
      }
      report(f.size ?? 0);
      done += f.size ?? 0;
    }
  };
  await fetchAll(plan, 0, plan.length);
  let source = await cache.snapshot(repo, commit);
  if (index && source) {
    let shards: string[];
    try {
      const map = (JSON.parse(await source.readText(INDEX)) as { weight_map?: Record<string, string> }).weight_map;
      if (!isObject(map)) throw new Error('no "weight_map"');
      shards = [...new Set(Object.values(map))];
    } catch (e) {
      throw new HubError('server', `${repo}@${revision}: ${INDEX} is not a valid index (${e instanceof Error ? e.message : String(e)}).`);
    }
    const files = shards.map((s) => need(s, true, ` (named by ${INDEX})`)!);
    if (total !== null) total = files.reduce<number | null>((s, f) => (s === null || f.size === null ? null : s + f.size), total);
    await fetchAll(files, plan.length, plan.length + files.length);
    source = await cache.snapshot(repo, commit);
  }
  if (!source) throw new HubError('server', `${repo}@${revision}: the snapshot ${commit} is missing from ${cache.label} after the download.`);
  return { repo, revision, commit, source, downloaded, offline: false };
}

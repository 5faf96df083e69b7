// Where the worker gets a model's files: the bundled demo model by URL, files the person picked (copied into IndexedDB),
// or a Hugging Face repository fetched by the shared Hub client into the chunked Hub cache in IndexedDB, so later
// visits and resumed runs work offline.
import type { FileContents, RunStorage } from '../cl/storage.ts';
import { readJsonFile } from '../cl/storage.ts';
import { fileListSource, parseJson, urlSource, type FileSource, type PathedFile, type PickedFiles } from '../io/files.ts';
import { MissingFileError } from '../io/errors.ts';
import { INDEX_FILE, SINGLE_FILE } from '../model/weights.ts';
import { snapshotModel, type HubProgress } from '../hub/client.ts';
import { normaliseEndpoint } from '../hub/repo-id.ts';
import { removeHubSnapshot, storageHubCache } from '../hub/storage-cache.ts';

/** The model a person chose. `cached` names a model already copied into the database. */
export type ModelChoice =
  | { kind: 'bundled'; url: string; label: string }
  | { kind: 'files'; files: PathedFile[]; label: string }
  | { kind: 'hub'; repo: string; revision: string; hubUrl?: string; token?: string }
  | { kind: 'cached'; id: string };

/** What the cache keeps about a model, in models/<id>/model.json. */
export interface CachedModelInfo {
  id: string;
  label: string;
  /** 'files' or 'hub:<repo>@<commit>'. */
  origin: string;
  /** For hub models: the address they came from (their files live in the Hub cache, not under models/<id>). */
  hubUrl?: string;
  files: string[];
  bytes: number;
  saved: number;
}

export const MODEL_INFO = 'model.json';
export const DEFAULT_HUB_URL = 'https://huggingface.co';
const OPTIONAL_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'chat_template.jinja'];

/** A short folder-safe id: the label's letters, then a hash of the origin and file sizes. */
export function modelId(label: string, fingerprint: string): string {
  let h = 2166136261;
  for (let i = 0; i < fingerprint.length; i++) h = Math.imul(h ^ fingerprint.charCodeAt(i), 16777619);
  const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'model';
  return `${slug}-${(h >>> 0).toString(16).padStart(8, '0')}`;
}

/** The weight files a model folder needs: model.safetensors, or the shards its index names. */
export async function weightFiles(src: FileSource): Promise<string[]> {
  if (await src.has(SINGLE_FILE)) return [SINGLE_FILE];
  if (!(await src.has(INDEX_FILE))) {
    throw new MissingFileError(SINGLE_FILE, src.label, `a model needs ${SINGLE_FILE} or ${INDEX_FILE} with its shards`);
  }
  const index = parseJson(await src.readText(INDEX_FILE), INDEX_FILE) as { weight_map?: Record<string, string> };
  if (!index.weight_map || typeof index.weight_map !== 'object') throw new Error(`${src.label}: ${INDEX_FILE} has no "weight_map"`);
  return [INDEX_FILE, ...new Set(Object.values(index.weight_map))];
}

/** Every file of a model folder that the engine reads, required ones first. */
export async function modelFiles(src: FileSource): Promise<string[]> {
  if (!(await src.has('config.json'))) throw new MissingFileError('config.json', src.label, 'a Hugging Face model folder has config.json');
  const out = ['config.json'];
  for (const name of OPTIONAL_FILES) if (await src.has(name)) out.push(name);
  if (!out.includes('tokenizer.json')) throw new MissingFileError('tokenizer.json', src.label, 'continual learning needs the tokenizer');
  return out.concat(await weightFiles(src));
}

/** Reads a model folder kept in the database (models/<id>/...). */
export function storedModelSource(storage: RunStorage, id: string): FileSource {
  const label = `${storage.label} models/${id}`;
  const read = async (name: string) => {
    const data = await storage.read(`models/${id}/${name}`);
    if (!data) throw new MissingFileError(name, label);
    return data;
  };
  return {
    label,
    has: async (name) => (await storage.list(`models/${id}`)).includes(`models/${id}/${name}`),
    async read(name, onProgress) {
      const data = await read(name);
      onProgress?.(data.byteLength, data.byteLength);
      return data;
    },
    readText: async (name) => new TextDecoder().decode(await read(name)),
    async open(name) {
      const file = await storage.open(`models/${id}/${name}`);
      if (!file) throw new MissingFileError(name, label);
      return file;
    },
  };
}

/** Progress of copying or downloading a model: the file being read (k of n), its bytes, and all bytes so far. */
export interface ModelCopyProgress {
  file: string;
  index: number;
  files: number;
  loaded: number;
  /** The file's size when the source says (a download's content-length). */
  total: number | null;
  bytesSoFar: number;
  /** Hub downloads: the bytes of every file together, and the time left at the speed so far. */
  grandTotal?: number | null;
  etaSeconds?: number | null;
}

const HUB_ORIGIN = /^hub:([^@]+)@([0-9a-f]{40})$/;

/**
 * Fetches a hub model into the Hub cache (resuming what an earlier visit left half done) and lists it among the
 * stored models, pinned to the commit it resolved to. The token goes to the hub address only and is not stored.
 */
async function openHubModel(storage: RunStorage, choice: Extract<ModelChoice, { kind: 'hub' }>, onProgress?: (p: ModelCopyProgress) => void): Promise<{ source: FileSource; id: string }> {
  const hubUrl = normaliseEndpoint(choice.hubUrl);
  const snap = await snapshotModel(storageHubCache(storage), { repo: choice.repo, revision: choice.revision || 'main' }, {
    endpoint: hubUrl,
    token: choice.token,
    onProgress: (p: HubProgress) => onProgress?.({
      file: p.file, index: p.fileIndex, files: p.files, loaded: p.fileLoaded, total: p.fileTotal, bytesSoFar: p.loaded, grandTotal: p.total, etaSeconds: p.etaSeconds,
    }),
  });
  const origin = `hub:${choice.repo}@${snap.commit}`;
  const id = modelId(choice.repo, origin);
  if (!(await readJsonFile<CachedModelInfo>(storage, `models/${id}/${MODEL_INFO}`))) {
    const files = await modelFiles(snap.source);
    let bytes = 0;
    for (const name of files) {
      const f = await snap.source.open(name);
      bytes += f.size;
      await f.close();
    }
    const info: CachedModelInfo = { id, label: choice.repo, origin, hubUrl, files, bytes, saved: Date.now() };
    await storage.commit({ [`models/${id}/${MODEL_INFO}`]: JSON.stringify(info, null, 2) });
  }
  return { source: snap.source, id };
}

/**
 * Copies a model's files into the database in one commit (all or nothing) and returns its id. Picked files go in as
 * the Files themselves (`picked`), which the database copies without loading them, so a model of any size can be kept.
 */
async function cacheModel(storage: RunStorage, src: FileSource, label: string, origin: string, onProgress?: (p: ModelCopyProgress) => void, picked?: PickedFiles): Promise<string> {
  const names = await modelFiles(src);
  const data: Record<string, Uint8Array | Blob> = {};
  const sizeOf = (d: Uint8Array | Blob) => (d instanceof Blob ? d.size : d.byteLength);
  let done = 0;
  for (const [index, name] of names.entries()) {
    const file = picked?.file(name);
    data[name] = file ?? await src.read(name, (loaded, total) => onProgress?.({ file: name, index, files: names.length, loaded, total, bytesSoFar: done + loaded }));
    done += sizeOf(data[name]);
    if (file) onProgress?.({ file: name, index, files: names.length, loaded: file.size, total: file.size, bytesSoFar: done });
  }
  const id = modelId(label, `${origin}|${names.map((n) => `${n}:${sizeOf(data[n])}`).join('|')}`);
  const info: CachedModelInfo = { id, label, origin, files: names, bytes: done, saved: Date.now() };
  const files: Record<string, FileContents> = { [`models/${id}/${MODEL_INFO}`]: JSON.stringify(info, null, 2) };
  for (const name of names) files[`models/${id}/${name}`] = data[name];
  await storage.commit(files);
  return id;
}

/** The models kept in the database. */
export async function listCachedModels(storage: RunStorage): Promise<CachedModelInfo[]> {
  const out: CachedModelInfo[] = [];
  for (const path of await storage.list('models')) {
    if (!path.endsWith(`/${MODEL_INFO}`) || path.split('/').length !== 3) continue;
    const info = await readJsonFile<CachedModelInfo>(storage, path);
    if (info) out.push(info);
  }
  return out.sort((a, b) => b.saved - a.saved);
}

/**
 * Deletes a stored model: its folder under models/, and for a hub model the commit's snapshot in the Hub cache with the
 * blobs no other stored commit of that repository uses, so deleting frees the weights' space.
 */
export async function deleteCachedModel(storage: RunStorage, id: string): Promise<void> {
  const info = await readJsonFile<CachedModelInfo>(storage, `models/${id}/${MODEL_INFO}`);
  await storage.remove(`models/${id}`);
  const hub = info ? HUB_ORIGIN.exec(info.origin) : null;
  if (hub) await removeHubSnapshot(storage, hub[1], hub[2]);
}

/**
 * Resolves a choice to the source the engine reads and the choice a stored run keeps: picked files and
 * hub models are copied into the database first (once: a hub model already cached is not downloaded again).
 */
export async function openModel(storage: RunStorage, choice: ModelChoice, onProgress?: (p: ModelCopyProgress) => void): Promise<{ source: FileSource; kept: ModelChoice; label: string }> {
  switch (choice.kind) {
    case 'bundled':
      return { source: urlSource(choice.url), kept: choice, label: choice.label };
    case 'cached': {
      const info = await readJsonFile<CachedModelInfo>(storage, `models/${choice.id}/${MODEL_INFO}`);
      if (!info) throw new Error(`the model "${choice.id}" is no longer in this browser's storage; choose it again`);
      const hub = HUB_ORIGIN.exec(info.origin);
      if (hub) {
        const opened = await openHubModel(storage, { kind: 'hub', repo: hub[1], revision: hub[2], hubUrl: info.hubUrl });
        return { source: opened.source, kept: choice, label: info.label };
      }
      return { source: storedModelSource(storage, choice.id), kept: choice, label: info.label };
    }
    case 'files': {
      const src = fileListSource(choice.files, choice.label);
      const id = await cacheModel(storage, src, choice.label, 'files', onProgress, src);
      return { source: storedModelSource(storage, id), kept: { kind: 'cached', id }, label: choice.label };
    }
    case 'hub': {
      const opened = await openHubModel(storage, choice, onProgress);
      return { source: opened.source, kept: { kind: 'cached', id: opened.id }, label: choice.repo };
    }
  }
}

/** Wraps a source to add up the bytes read from it (the size of what the engine loaded). */
export function countingSource(src: FileSource): { source: FileSource; bytesRead: () => number } {
  let total = 0;
  return {
    bytesRead: () => total,
    source: {
      label: src.label,
      has: (name) => src.has(name),
      async read(name, onProgress) {
        const data = await src.read(name, onProgress);
        total += data.byteLength;
        return data;
      },
      readText: (name) => src.readText(name),
      async open(name) {
        const file = await src.open(name);
        return {
          name: file.name,
          size: file.size,
          async read(offset, length, into) {
            const data = await file.read(offset, length, into);
            total += data.byteLength;
            return data;
          },
          close: () => file.close(),
        };
      },
    },
  };
}

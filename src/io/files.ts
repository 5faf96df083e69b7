// One read-only interface over the places model and adapter files come from: a URL prefix, browser-picked Files, or memory.
import { FormatError, MissingFileError } from './errors.ts';
import { blobRandomAccess, bytesRandomAccess, checkRange, target, type RandomAccessFile } from './random-access.ts';

/** Reports bytes read so far; `total` is null when the size is not known up front. */
export type ReadProgress = (loaded: number, total: number | null) => void;

export interface FileSource {
  /** Where the files come from (a directory path, a URL), used in error messages. */
  readonly label: string;
  has(name: string): Promise<boolean>;
  /** Throws MissingFileError when the file does not exist. */
  read(name: string, onProgress?: ReadProgress): Promise<Uint8Array>;
  readText(name: string): Promise<string>;
  /**
   * Opens a file for reads by byte range (large weights: one tensor at a time). Throws MissingFileError when the
   * file does not exist. The caller closes it.
   */
  open(name: string): Promise<RandomAccessFile>;
}

const utf8 = new TextDecoder('utf-8');

/** Decodes UTF-8, dropping a leading byte-order mark as editors on Windows tend to write one. */
export function decodeText(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** JSON.parse that reports failures as a FormatError naming the file and, when the engine says where, the line. */
export function parseJson(text: string, file: string): unknown {
  // A byte-order mark is no part of the JSON; editors on Windows write one.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    let line: number | undefined;
    const lineMatch = /line (\d+)/.exec(msg);
    const posMatch = /position (\d+)/.exec(msg);
    if (lineMatch) line = Number(lineMatch[1]);
    else if (posMatch) line = text.slice(0, Number(posMatch[1])).split('\n').length;
    throw new FormatError(file, 'invalid JSON', { line, detail: msg, cause: e });
  }
}

/** Runs `read`, rewriting a FormatError about a file of `src` so that it names the file's folder too. */
export async function namingFolder<T>(src: FileSource, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof FormatError && !e.file.includes('/')) {
      throw new FormatError(`${src.label.replace(/\/+$/, '')}/${e.file}`, e.problem, { line: e.line, detail: e.detail, cause: e });
    }
    throw e;
  }
}

export async function readJson(src: FileSource, name: string): Promise<unknown> {
  return parseJson(await src.readText(name), name);
}

function joinUrl(base: string, name: string): string {
  const path = name.split('/').map(encodeURIComponent).join('/');
  return base.endsWith('/') ? base + path : `${base}/${path}`;
}

/**
 * A response is treated as "file missing" when it is a 404/410, or when an HTML page comes back for a
 * non-HTML name: single-page-app dev servers (Vite included) answer unknown paths with index.html and 200.
 */
function looksMissing(res: Response, name: string): boolean {
  if (res.status === 404 || res.status === 410) return true;
  if (!res.ok) return false;
  const type = res.headers.get('content-type') ?? '';
  return type.includes('text/html') && !/\.html?$/i.test(name);
}

async function readBody(res: Response, onProgress?: ReadProgress): Promise<Uint8Array> {
  const lengthHeader = res.headers.get('content-length');
  // A compressed transfer reports the compressed length, so the total is only a hint.
  const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  if (!onProgress || !res.body) {
    const out = new Uint8Array(await res.arrayBuffer());
    onProgress?.(out.byteLength, out.byteLength);
    return out;
  }
  const reader = res.body.getReader();
  // Preallocating when the size is known avoids holding every chunk plus the joined copy of a large shard.
  let buf = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > buf.byteLength) {
      const grown = new Uint8Array(Math.max(buf.byteLength * 2, loaded + value.byteLength));
      grown.set(buf.subarray(0, loaded));
      buf = grown;
    }
    buf.set(value, loaded);
    loaded += value.byteLength;
    onProgress(loaded, total);
  }
  return loaded === buf.byteLength ? buf : buf.slice(0, loaded);
}

/** Files under a URL prefix (a static folder, a model hub "resolve" path); `baseUrl` may be relative in the browser. */
export function urlSource(baseUrl: string, init: { fetch?: typeof fetch } = {}): FileSource {
  const doFetch = init.fetch ?? ((input: RequestInfo | URL, opts?: RequestInit) => fetch(input, opts));
  const label = baseUrl;
  async function get(name: string): Promise<Response> {
    const url = joinUrl(baseUrl, name);
    const res = await doFetch(url);
    if (looksMissing(res, name)) {
      void res.body?.cancel();
      throw new MissingFileError(name, label);
    }
    if (!res.ok) {
      void res.body?.cancel();
      throw new Error(`${name}: HTTP ${res.status} ${res.statusText} from ${url}`);
    }
    return res;
  }
  return {
    label,
    async has(name) {
      const url = joinUrl(baseUrl, name);
      let res = await doFetch(url, { method: 'HEAD' });
      // Some static hosts refuse HEAD; a GET whose body is cancelled at once answers the same question.
      if (res.status === 405 || res.status === 501) {
        res = await doFetch(url);
        void res.body?.cancel();
      }
      if (looksMissing(res, name)) return false;
      if (!res.ok) throw new Error(`${name}: HTTP ${res.status} ${res.statusText} from ${url}`);
      return true;
    },
    async read(name, onProgress) {
      return readBody(await get(name), onProgress);
    },
    async readText(name) {
      return decodeText(await readBody(await get(name)));
    },
    open: (name) => openUrl(joinUrl(baseUrl, name), name, label, doFetch),
  };
}

/** The total size from a 206 answer's `Content-Range: bytes a-b/total`, or null when it does not say. */
function rangeTotal(res: Response): number | null {
  const m = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * A file behind a URL read with HTTP Range requests. A server that ignores ranges (answers 200 with the whole body)
 * is read once and served from memory: static hosts without range support only serve small files here.
 */
async function openUrl(url: string, name: string, label: string, doFetch: typeof fetch): Promise<RandomAccessFile> {
  const probe = await doFetch(url, { headers: { Range: 'bytes=0-0' } });
  if (looksMissing(probe, name)) {
    void probe.body?.cancel();
    throw new MissingFileError(name, label);
  }
  if (probe.status === 416) {
    // An empty file has no byte 0 to ask for.
    void probe.body?.cancel();
    return bytesRandomAccess(name, new Uint8Array(0));
  }
  if (!probe.ok) {
    void probe.body?.cancel();
    throw new Error(`${name}: HTTP ${probe.status} ${probe.statusText} from ${url}`);
  }
  const size = probe.status === 206 ? rangeTotal(probe) : null;
  if (size === null) return bytesRandomAccess(name, await readBody(probe));
  void probe.body?.cancel();
  return {
    name,
    size,
    async read(offset, length, into) {
      checkRange(name, size, offset, length);
      if (length === 0) return target(name, 0, into);
      const res = await doFetch(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
      if (res.status !== 206) {
        void res.body?.cancel();
        throw new Error(`${name}: HTTP ${res.status} ${res.statusText} for bytes ${offset}..${offset + length} of ${url} (expected 206 Partial Content)`);
      }
      const got = await readBody(res);
      if (got.byteLength !== length) throw new FormatError(name, `got ${got.byteLength} of ${length} bytes at offset ${offset} from ${url}`);
      if (!into) return got;
      const out = target(name, length, into);
      out.set(got);
      return out;
    },
    async close() {},
  };
}

/** A File together with the path it had inside a dropped folder, for drops where `webkitRelativePath` is empty. */
export interface PathedFile {
  readonly file: File;
  readonly path: string;
}

function normalisePath(p: string): string {
  return p.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');
}

/** A source over picked Files that also hands out the File itself (to store it without reading it). */
export interface PickedFiles {
  /** The picked File a name resolves to, or null. */
  file(name: string): File | null;
}

/**
 * Files the user picked together or dropped as a folder. A name matches a file whose relative path equals it or
 * ends with `/name`, so `config.json` finds `MyModel/config.json`; the shallowest match wins, and two equally
 * shallow matches are refused rather than guessed between.
 */
export function fileListSource(files: ReadonlyArray<File | PathedFile>, label = 'selected files'): FileSource & PickedFiles {
  const entries = files.map((f) => {
    if ('file' in f && 'path' in f) return { file: f.file, path: normalisePath(f.path) };
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath;
    return { file: f, path: normalisePath(rel || f.name) };
  });
  function find(name: string): File | null {
    const want = normalisePath(name);
    const hits = entries.filter((e) => e.path === want || e.path.endsWith('/' + want));
    if (hits.length === 0) return null;
    const depth = (p: string) => p.split('/').length;
    const best = Math.min(...hits.map((h) => depth(h.path)));
    const top = hits.filter((h) => depth(h.path) === best);
    if (top.length > 1) {
      throw new Error(`${label}: several files match ${name} (${top.map((t) => t.path).join(', ')}); select one folder`);
    }
    return top[0].file;
  }
  async function readFile(name: string): Promise<Uint8Array> {
    const f = find(name);
    if (!f) throw new MissingFileError(name, label);
    return new Uint8Array(await f.arrayBuffer());
  }
  return {
    label,
    file: find,
    async has(name) {
      return find(name) !== null;
    },
    async read(name, onProgress) {
      const out = await readFile(name);
      onProgress?.(out.byteLength, out.byteLength);
      return out;
    },
    async readText(name) {
      return decodeText(await readFile(name));
    },
    async open(name) {
      const f = find(name);
      if (!f) throw new MissingFileError(name, label);
      return blobRandomAccess(name, f);
    },
  };
}

/** Files held in memory (tests, adapters kept in IndexedDB, files produced by the writers in src/model). */
export function memorySource(files: Record<string, Uint8Array | string>, label = 'memory'): FileSource {
  const enc = new TextEncoder();
  const get = (name: string): Uint8Array => {
    const v = files[normalisePath(name)];
    if (v === undefined || !Object.prototype.hasOwnProperty.call(files, normalisePath(name))) {
      throw new MissingFileError(name, label);
    }
    return typeof v === 'string' ? enc.encode(v) : v;
  };
  return {
    label,
    async has(name) {
      return Object.prototype.hasOwnProperty.call(files, normalisePath(name));
    },
    async read(name, onProgress) {
      const out = get(name);
      onProgress?.(out.byteLength, out.byteLength);
      return out;
    },
    async readText(name) {
      return decodeText(get(name));
    },
    async open(name) {
      return bytesRandomAccess(name, get(name));
    },
  };
}

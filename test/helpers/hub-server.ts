// A stand-in for huggingface.co on 127.0.0.1, for the Node tests and the Chromium e2e suite: the revision API with
// blob metadata, resolve URLs (LFS files redirected to a "CDN" on another origin), X-Error-Code answers, tokens,
// gated repos, Range requests, CORS, and faults injected on demand (429 with Retry-After, 5xx, a cut connection,
// corrupted bytes, slow transfers).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRepo {
  /** Files per commit (40-hex); strings are UTF-8. */
  commits: Record<string, Record<string, Uint8Array | string>>;
  /** Branches and tags: name -> commit. */
  refs: Record<string, string>;
  /** Needs a token that `grants` it. */
  gated?: boolean;
  /** Answers as missing without a token that `grants` it. */
  private?: boolean;
}

export interface Fault {
  /** Applies to requests whose path ends with this (e.g. "model.safetensors", "/revision/main"). */
  pathEndsWith: string;
  kind: 'status' | 'cut' | 'corrupt';
  /** kind 'status': the HTTP status and an optional Retry-After header (seconds). */
  status?: number;
  retryAfter?: string;
  /** kind 'cut': bytes sent before the socket is destroyed. */
  afterBytes?: number;
  /** How many requests it applies to (default 1). */
  times?: number;
}

export interface LoggedRequest {
  method: string;
  /** 'hub' or 'cdn' */
  server: string;
  path: string;
  authorization: string | null;
  range: string | null;
}

export interface StandInHub {
  endpoint: string;
  cdn: string;
  log: LoggedRequest[];
  faults: Fault[];
  /** Bytes per second for LFS bodies (0: as fast as possible). */
  throttle: { bytesPerSecond: number };
  repos: Map<string, StandInRepo>;
  /** token -> repos it may read (gated or private). */
  tokens: Map<string, string[]>;
  close(): Promise<void>;
}

const enc = new TextEncoder();
const bytesOf = (v: Uint8Array | string) => (typeof v === 'string' ? enc.encode(v) : v);
export const gitBlobId = (b: Uint8Array) => createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');
export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** A made-up commit hash from a seed. */
export const commitHash = (seed: string) => createHash('sha1').update(`commit ${seed}`).digest('hex');
/** Files stored with LFS on the real Hub: the weights. */
export const isLfs = (path: string) => /\.(safetensors|bin|gguf|onnx)$/.test(path);

const EXPOSE = 'X-Error-Code, X-Error-Message, X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag, Content-Range, Content-Length, Accept-Ranges, Retry-After, Location';

function cors(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Headers', 'Authorization, Range, Content-Type');
  res.setHeader('Access-Control-Expose-Headers', EXPOSE);
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

export async function startStandInHub(repos: Record<string, StandInRepo> = {}, tokens: Record<string, string[]> = {}): Promise<StandInHub> {
  const hub: StandInHub = {
    endpoint: '',
    cdn: '',
    log: [],
    faults: [],
    throttle: { bytesPerSecond: 0 },
    repos: new Map(Object.entries(repos)),
    tokens: new Map(Object.entries(tokens)),
    close: async () => {},
  };
  const blobs = new Map<string, Uint8Array>(); // sha256 -> bytes, what the CDN serves

  const takeFault = (path: string, kinds: Fault['kind'][]): Fault | null => {
    const i = hub.faults.findIndex((f) => kinds.includes(f.kind) && path.endsWith(f.pathEndsWith));
    if (i < 0) return null;
    const f = hub.faults[i];
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) hub.faults.splice(i, 1);
    return f;
  };

  const fail = (res: ServerResponse, status: number, code: string | null, message: string) => {
    if (code) res.setHeader('X-Error-Code', code);
    res.setHeader('X-Error-Message', message);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: message }));
  };

  /** Sends `data` from `start`, honouring faults ('cut', 'corrupt') and the throttle. */
  const sendBody = async (req: IncomingMessage, res: ServerResponse, path: string, data: Uint8Array, headers: Record<string, string>, lfs: boolean) => {
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= data.byteLength) {
        res.writeHead(416, { 'Content-Range': `bytes */${data.byteLength}` });
        res.end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${data.byteLength - 1}/${data.byteLength}`;
    }
    let body = data.subarray(start);
    if (takeFault(path, ['corrupt'])) {
      body = body.slice();
      body[body.length >> 1] ^= 0xff;
    }
    const cut = takeFault(path, ['cut']);
    res.writeHead(status, { ...headers, 'Content-Length': String(body.byteLength), 'Accept-Ranges': 'bytes' });
    if (req.method === 'HEAD') return void res.end();
    const limit = cut ? Math.min(cut.afterBytes ?? body.byteLength >> 1, body.byteLength) : body.byteLength;
    const step = lfs && hub.throttle.bytesPerSecond > 0 ? Math.max(1, Math.floor(hub.throttle.bytesPerSecond / 20)) : 1 << 16;
    for (let off = 0; off < limit; off += step) {
      if (res.destroyed) return;
      const piece = body.subarray(off, Math.min(limit, off + step));
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      if (lfs && hub.throttle.bytesPerSecond > 0) await new Promise((r) => setTimeout(r, 50));
    }
    if (cut) {
      // Let the bytes leave, then drop the connection as a flaky network would.
      await new Promise((r) => setTimeout(r, 20));
      res.socket?.destroy();
      return;
    }
    res.end();
  };

  const handleHub = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', hub.endpoint);
    const path = decodeURIComponent(url.pathname);
    const auth = req.headers.authorization ?? null;
    hub.log.push({ method: req.method ?? 'GET', server: 'hub', path: url.pathname + url.search, authorization: auth, range: req.headers.range ?? null });
    cors(res);
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const statusFault = takeFault(path, ['status']);
    if (statusFault) {
      if (statusFault.retryAfter !== undefined) res.setHeader('Retry-After', statusFault.retryAfter);
      return fail(res, statusFault.status ?? 500, null, `injected ${statusFault.status}`);
    }
    let token: string | null = null;
    if (auth) {
      token = /^Bearer (.+)$/.exec(auth)?.[1] ?? '';
      if (!hub.tokens.has(token)) return fail(res, 401, null, 'Invalid credentials in Authorization header');
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repoId = api?.[1] ?? resolve?.[1];
    if (!repoId) return fail(res, 404, null, 'Not Found');
    const repo = hub.repos.get(repoId);
    const granted = token !== null && (hub.tokens.get(token) ?? []).includes(repoId);
    if (!repo || (repo.private && !granted)) {
      // The Hub does not say whether a private repo exists: 401 without a token, 404 with one.
      return fail(res, token ? 404 : 401, 'RepoNotFound', 'Repository not found');
    }
    if (repo.gated && !granted) {
      return fail(res, token ? 403 : 401, 'GatedRepo', `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it.`);
    }
    const rev = api?.[2] ?? resolve![2];
    const commit = /^[0-9a-f]{40}$/.test(rev) && repo.commits[rev] ? rev : repo.refs[rev];
    if (!commit || !repo.commits[commit]) return fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    const files = repo.commits[commit];
    if (api) {
      const siblings = Object.entries(files).map(([rfilename, v]) => {
        const b = bytesOf(v);
        if (!isLfs(rfilename)) return { rfilename, blobId: gitBlobId(b), size: b.byteLength };
        const pointer = enc.encode(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256Hex(b)}\nsize ${b.byteLength}\n`);
        return { rfilename, blobId: gitBlobId(pointer), size: b.byteLength, lfs: { sha256: sha256Hex(b), size: b.byteLength, pointerSize: pointer.byteLength } };
      });
      res.setHeader('X-Repo-Commit', commit);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return void res.end(JSON.stringify({ _id: 'x', id: repoId, modelId: repoId, sha: commit, private: !!repo.private, gated: repo.gated ? 'manual' : false, siblings }));
    }
    const file = resolve![3];
    const value = files[file];
    if (value === undefined) {
      res.setHeader('X-Repo-Commit', commit);
      return fail(res, 404, 'EntryNotFound', `${file} does not exist on "${rev}"`);
    }
    const data = bytesOf(value);
    res.setHeader('X-Repo-Commit', commit);
    if (isLfs(file)) {
      const sha = sha256Hex(data);
      blobs.set(sha, data);
      res.setHeader('X-Linked-Etag', `"${sha}"`);
      res.setHeader('X-Linked-Size', String(data.byteLength));
      res.setHeader('ETag', `"${gitBlobId(data)}"`);
      res.writeHead(302, { Location: `${hub.cdn}/blobs/${sha}?name=${encodeURIComponent(file)}` });
      return void res.end();
    }
    return sendBody(req, res, path, data, { ETag: `"${gitBlobId(data)}"`, 'Content-Type': 'application/octet-stream' }, false);
  };

  const handleCdn = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', hub.cdn);
    hub.log.push({ method: req.method ?? 'GET', server: 'cdn', path: url.pathname + url.search, authorization: req.headers.authorization ?? null, range: req.headers.range ?? null });
    cors(res);
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const sha = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const data = sha ? blobs.get(sha) : undefined;
    if (!data) return fail(res, 404, null, 'no such blob');
    const name = url.searchParams.get('name') ?? '';
    const statusFault = takeFault(name, ['status']);
    if (statusFault) {
      if (statusFault.retryAfter !== undefined) res.setHeader('Retry-After', statusFault.retryAfter);
      return fail(res, statusFault.status ?? 500, null, `injected ${statusFault.status}`);
    }
    return sendBody(req, res, name, data, { ETag: `"${sha}"`, 'Content-Type': 'application/octet-stream' }, true);
  };

  const wrap = (h: (req: IncomingMessage, res: ServerResponse) => Promise<void>) => (req: IncomingMessage, res: ServerResponse) => {
    h(req, res).catch((e) => {
      if (!res.headersSent) fail(res, 500, null, String(e));
      else res.destroy();
    });
  };
  const hubServer = createServer(wrap(handleHub));
  const cdnServer = createServer(wrap(handleCdn));
  hub.endpoint = await listen(hubServer);
  // Another port is another origin, as a CDN host is for the Hub.
  hub.cdn = await listen(cdnServer);
  hub.close = async () => {
    for (const s of [hubServer, cdnServer]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  };
  return hub;
}

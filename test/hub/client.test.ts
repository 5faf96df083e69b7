// The Hub client against the stand-in Hub on 127.0.0.1: revisions resolved to commits, the cache layout, every error
// kind, retries that honour Retry-After, resumed transfers, integrity checks and where the token goes.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { snapshotModel, type HubProgress, type SnapshotOptions } from '../../src/hub/client.ts';
import { HubError } from '../../src/hub/errors.ts';
import { nodeHubCache, repoCacheDir, hubEnv } from '../../src/hub/node-cache.ts';
import { removeHubSnapshot, storageHubCache } from '../../src/hub/storage-cache.ts';
import { deleteCachedModel, listCachedModels, openModel } from '../../src/worker/model-store.ts';
import { memoryStorage } from '../../src/cl/storage.ts';
import { parseModelRef } from '../../src/hub/repo-id.ts';
import { commitHash, gitBlobId, sha256Hex, startStandInHub, type StandInHub } from '../helpers/hub-server.ts';

const C1 = commitHash('one');
const C2 = commitHash('two');
const weights = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff);
const W1 = weights(300_000, 1);
const W2 = weights(200_000, 2);
const files = (w: Uint8Array, extra: Record<string, string> = {}) => ({ 'config.json': '{"model_type":"llama"}', 'tokenizer.json': '{"model":{}}', 'model.safetensors': w, 'README.md': 'not fetched', ...extra });

let hub: StandInHub;
let cacheDir: string;
const sleeps: number[] = [];
const opts = (o: Partial<SnapshotOptions> = {}): SnapshotOptions => ({
  endpoint: hub.endpoint,
  baseDelayMs: 5,
  maxDelayMs: 40,
  sleep: async (ms) => { sleeps.push(ms); await new Promise((r) => setTimeout(r, Math.min(ms, 20))); },
  ...o,
});
const get = async (id: string, o: Partial<SnapshotOptions> = {}) => snapshotModel(nodeHubCache(cacheDir), parseModelRef(id), opts(o));
const expectHubError = async (p: Promise<unknown>, kind: string, message: RegExp) => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof HubError, String(e));
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, message);
    assert.equal(e.message.split('\n').length, 1);
    return true;
  });
};
const hubGets = (suffix: string) => hub.log.filter((r) => r.method === 'GET' && r.path.split('?')[0].endsWith(suffix));

before(async () => {
  hub = await startStandInHub(
    {
      'org/tiny': { commits: { [C1]: files(W1), [C2]: files(W2, { 'chat_template.jinja': '{{ messages[0].content }}' }) }, refs: { main: C2, v1: C1 } },
      'org/gated': { commits: { [C1]: files(W1) }, refs: { main: C1 }, gated: true },
      'org/secret': { commits: { [C1]: files(W1) }, refs: { main: C1 }, private: true },
      'org/pt-only': { commits: { [C1]: { 'config.json': '{}', 'pytorch_model.bin': 'x' } }, refs: { main: C1 } },
      'org/sharded': {
        commits: { [C1]: { 'config.json': '{}', 'model.safetensors.index.json': JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }), 'model-00001-of-00002.safetensors': W1, 'model-00002-of-00002.safetensors': W2 } },
        refs: { main: C1 },
      },
    },
    { hf_granted: ['org/gated', 'org/secret'], hf_plain: [] },
  );
});
after(() => hub.close());
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'clora-hub-'));
  hub.log.length = 0;
  hub.faults.length = 0;
  sleeps.length = 0;
});

describe('Hub client: downloads into the Hugging Face cache layout', () => {
  it('resolves main to its commit, writes refs/blobs/snapshots as huggingface_hub does, and fetches each file once', async () => {
    const progress: HubProgress[] = [];
    const snap = await get('org/tiny', { onProgress: (p) => progress.push(p) });
    assert.equal(snap.commit, C2);
    const dir = repoCacheDir(cacheDir, 'org/tiny');
    assert.equal(readFileSync(join(dir, 'refs', 'main'), 'utf8'), C2);
    const link = join(dir, 'snapshots', C2, 'model.safetensors');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readlinkSync(link), join('..', '..', 'blobs', sha256Hex(W2)));
    assert.deepEqual(new Uint8Array(readFileSync(link)), W2);
    // A non-LFS file's blob is named by its git blob id.
    assert.equal(readlinkSync(join(dir, 'snapshots', C2, 'config.json')), join('..', '..', 'blobs', gitBlobId(new TextEncoder().encode('{"model_type":"llama"}'))));
    assert.deepEqual(readdirSync(join(dir, 'snapshots', C2)).sort(), ['chat_template.jinja', 'config.json', 'model.safetensors', 'tokenizer.json']);
    assert.equal(await snap.source.readText('chat_template.jinja'), '{{ messages[0].content }}');
    // One API call, then one GET per file (the LFS one through the CDN): no HEAD, nothing twice.
    assert.equal(hub.log.filter((r) => r.method === 'HEAD').length, 0);
    assert.equal(hubGets('/revision/main').length, 1);
    for (const f of ['config.json', 'tokenizer.json', 'chat_template.jinja', 'model.safetensors']) assert.equal(hubGets(f).length, 1, f);
    assert.equal(hub.log.filter((r) => r.server === 'cdn').length, 1);
    // Progress: per file and in total, ending at the total, with an ETA once bytes flowed.
    const last = progress.at(-1)!;
    assert.equal(last.loaded, last.total);
    assert.equal(last.files, 4);
    assert.ok(progress.some((p) => p.file === 'model.safetensors' && p.fileLoaded > 0 && p.fileLoaded < W2.length));
    assert.ok(progress.some((p) => p.etaSeconds !== null && p.bytesPerSecond! > 0));
    assert.ok(progress.every((p, i) => i === 0 || p.loaded >= progress[i - 1].loaded));
  });

  it('a tag or a commit resolves to its own snapshot; a commit writes no ref', async () => {
    const v1 = await get('org/tiny@v1');
    assert.equal(v1.commit, C1);
    assert.equal(readFileSync(join(repoCacheDir(cacheDir, 'org/tiny'), 'refs', 'v1'), 'utf8'), C1);
    assert.deepEqual(new Uint8Array(await v1.source.read('model.safetensors')), W1);
    const byCommit = await get(`org/tiny@${C2}`);
    assert.equal(byCommit.commit, C2);
    assert.ok(!existsSync(join(repoCacheDir(cacheDir, 'org/tiny'), 'refs', C2)));
  });

  it('a cached main is revalidated with one API call and no file downloads; a blob shared by two commits is linked, not fetched', async () => {
    await get('org/tiny@v1');
    hub.log.length = 0;
    const again = await get('org/tiny@v1');
    assert.deepEqual(again.downloaded, []);
    assert.deepEqual(hub.log.map((r) => r.path.split('?')[0]), [`/api/models/org/tiny/revision/v1`]);
  });

  it('a sharded model fetches the index, then the shards it names', async () => {
    const snap = await get('org/sharded');
    assert.deepEqual(snap.downloaded.sort(), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
  });

  it('offline (HF_HUB_OFFLINE) reads the cache back without a request; the network gone falls back to it with a note', async () => {
    await get('org/tiny');
    hub.log.length = 0;
    const off = await get('org/tiny', { offline: true });
    assert.equal(off.commit, C2);
    assert.equal(off.offline, true);
    assert.deepEqual(new Uint8Array(await off.source.read('model.safetensors')), W2);
    assert.equal(hub.log.length, 0);
    const notes: string[] = [];
    const gone = await get('org/tiny', { endpoint: 'http://127.0.0.1:9', retries: 1, onNote: (n) => notes.push(n) });
    assert.equal(gone.commit, C2);
    assert.match(notes[0], /cannot be reached; using org\/tiny@main \(/);
    await expectHubError(get('org/tiny@v1', { offline: true }), 'offline', /org\/tiny@v1 is not in the Hugging Face cache at .*HF_HUB_OFFLINE/);
    await expectHubError(get('org/other', { endpoint: 'http://127.0.0.1:9', retries: 0 }), 'network', /cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('reads a cache that Python tools wrote (a ref and a snapshot of plain files) offline', async () => {
    const dir = repoCacheDir(cacheDir, 'org/python');
    mkdirSync(join(dir, 'refs'), { recursive: true });
    writeFileSync(join(dir, 'refs', 'main'), C1);
    mkdirSync(join(dir, 'snapshots', C1), { recursive: true });
    writeFileSync(join(dir, 'snapshots', C1, 'config.json'), '{"a":1}');
    const snap = await get('org/python', { offline: true });
    assert.equal(await snap.source.readText('config.json'), '{"a":1}');
  });
});

describe('Hub client: errors', () => {
  it('a gated repo names the page where its licence is accepted (401 without a token, 403 with one not granted)', async () => {
    await expectHubError(get('org/gated'), 'gated', new RegExp(`org/gated is a gated model \\(no token was given\\): accept its licence at ${hub.endpoint}/org/gated`));
    await expectHubError(get('org/gated', { token: 'hf_plain' }), 'gated', /not been granted access\): accept its licence at http:\/\/127\.0\.0\.1:\d+\/org\/gated/);
    const ok = await get('org/gated', { token: 'hf_granted' });
    assert.equal(ok.commit, C1);
  });

  it('tells a missing repo, a missing revision, a missing file and a bad token apart', async () => {
    await expectHubError(get('org/nothing'), 'repo-not-found', /org\/nothing is not a model repository on .* \(a private repo needs a token\)/);
    await expectHubError(get('org/secret'), 'repo-not-found', /org\/secret is not a model repository/);
    await expectHubError(get('org/secret', { token: 'hf_plain' }), 'repo-not-found', /org\/secret is not a model repository on http:\/\/127\.0\.0\.1:\d+\.$/);
    await expectHubError(get('org/tiny@nope'), 'revision-not-found', /org\/tiny has no revision "nope"/);
    await expectHubError(get('org/pt-only'), 'entry-not-found', /org\/pt-only@main has no file model\.safetensors\.index\.json or model\.safetensors \(clora reads safetensors weights\)/);
    await expectHubError(get('org/tiny', { token: 'hf_wrong' }), 'bad-token', /refused the access token \(invalid credentials\)/);
    await expectHubError(get('not a repo'), 'bad-id', /"not a repo" is not a Hugging Face model id/);
  });

  it('a file the listing names but the server lacks is an EntryNotFound error naming it', async () => {
    hub.repos.get('org/tiny')!.commits[C1]['model.safetensors'] = W1;
    hub.faults.push({ pathEndsWith: 'tokenizer.json', kind: 'status', status: 404 });
    await expectHubError(get('org/tiny@v1'), 'entry-not-found', /org\/tiny@[0-9a-f]{40} has no file tokenizer\.json/);
  });
});

describe('Hub client: a network that fails', () => {
  it('retries a 429 after its Retry-After, and a 503 with exponential backoff', async () => {
    hub.faults.push({ pathEndsWith: '/revision/main', kind: 'status', status: 429, retryAfter: '1' });
    hub.faults.push({ pathEndsWith: 'config.json', kind: 'status', status: 503, times: 2 });
    const snap = await get('org/tiny');
    assert.equal(snap.commit, C2);
    assert.deepEqual(sleeps, [1000, 5, 10]);
    assert.equal(hubGets('/revision/main').length, 2);
    assert.equal(hubGets('config.json').length, 3);
  });

  it('gives up after the retries with a rate-limit error', async () => {
    hub.faults.push({ pathEndsWith: '/revision/main', kind: 'status', status: 429, retryAfter: '0', times: 10 });
    await expectHubError(get('org/tiny', { retries: 2 }), 'rate-limited', /rate limiting requests \(429\) after 3 tries/);
  });

  it('a connection cut mid-file resumes with a Range request from the byte it reached, and the file checks out', async () => {
    hub.faults.push({ pathEndsWith: 'model.safetensors', kind: 'cut', afterBytes: 120_000 });
    const snap = await get('org/tiny');
    assert.deepEqual(new Uint8Array(await snap.source.read('model.safetensors')), W2);
    const cdn = hub.log.filter((r) => r.server === 'cdn');
    assert.equal(cdn.length, 2);
    assert.equal(cdn[0].range, null);
    const from = Number(/^bytes=(\d+)-$/.exec(cdn[1].range ?? '')?.[1]);
    assert.ok(from >= 65_536 && from <= 120_000, `resumed from ${cdn[1].range}`);
  });

  it('a download interrupted in an earlier run continues from its .incomplete file', async () => {
    hub.faults.push({ pathEndsWith: 'model.safetensors', kind: 'cut', afterBytes: 100_000, times: 10 });
    await expectHubError(get('org/tiny', { retries: 0 }), 'network', /the download of model\.safetensors from org\/tiny was cut at \d+ bytes/);
    const partial = join(repoCacheDir(cacheDir, 'org/tiny'), 'blobs', `${sha256Hex(W2)}.incomplete`);
    const have = readFileSync(partial).byteLength;
    assert.ok(have > 0 && have <= 100_000);
    hub.faults.length = 0;
    hub.log.length = 0;
    const snap = await get('org/tiny');
    assert.deepEqual(snap.downloaded, ['model.safetensors']);
    assert.equal(hub.log.find((r) => r.server === 'cdn')!.range, `bytes=${have}-`);
    assert.deepEqual(new Uint8Array(await snap.source.read('model.safetensors')), W2);
  });

  it('refuses bytes that do not match the sha256, deletes them, and fetches anew on the next run', async () => {
    hub.faults.push({ pathEndsWith: 'model.safetensors', kind: 'corrupt' });
    await expectHubError(get('org/tiny'), 'integrity', new RegExp(`model\\.safetensors from org/tiny does not match its sha256 ${sha256Hex(W2)} \\(got [0-9a-f]{64}\\); the bad copy was deleted`));
    assert.ok(!existsSync(join(repoCacheDir(cacheDir, 'org/tiny'), 'blobs', sha256Hex(W2))));
    const snap = await get('org/tiny');
    assert.deepEqual(new Uint8Array(await snap.source.read('model.safetensors')), W2);
  });

  it('checks plain files against their git blob id', async () => {
    hub.faults.push({ pathEndsWith: 'tokenizer.json', kind: 'corrupt' });
    await expectHubError(get('org/tiny'), 'integrity', /tokenizer\.json from org\/tiny does not match its git blob id/);
  });
});

describe('Hub client: the token', () => {
  it('goes to the endpoint only, never to the CDN host an LFS file redirects to', async () => {
    await get('org/gated', { token: 'hf_granted' });
    const hubReqs = hub.log.filter((r) => r.server === 'hub');
    const cdnReqs = hub.log.filter((r) => r.server === 'cdn');
    assert.ok(hubReqs.length >= 3 && cdnReqs.length === 1);
    assert.ok(hubReqs.every((r) => r.authorization === 'Bearer hf_granted'));
    assert.ok(cdnReqs.every((r) => r.authorization === null));
  });

  it('comes from HF_TOKEN, else the token file under HF_HOME; HF_ENDPOINT, HF_HUB_OFFLINE and HF_HUB_CACHE are read as huggingface_hub reads them', () => {
    const home = mkdtempSync(join(tmpdir(), 'clora-hfhome-'));
    writeFileSync(join(home, 'token'), 'hf_from_file\n');
    assert.deepEqual(hubEnv({ HF_HOME: home }), { endpoint: 'https://huggingface.co', token: 'hf_from_file', offline: false, cacheDir: join(home, 'hub') });
    assert.deepEqual(hubEnv({ HF_HOME: home, HF_TOKEN: 'hf_env', HF_ENDPOINT: 'http://mirror.local/', HF_HUB_OFFLINE: 'yes', HF_HUB_CACHE: '/c' }), { endpoint: 'http://mirror.local', token: 'hf_env', offline: true, cacheDir: '/c' });
    assert.equal(hubEnv({ HF_HOME: home, HF_HUB_OFFLINE: '0' }).offline, false);
  });
});

describe('Hub client: the app\'s cache in a RunStorage (chunked, as in IndexedDB)', () => {
  it('forgets a commit: its snapshot, the refs to it and the blobs only it used; the last commit takes the repository folder', async () => {
    const storage = memoryStorage();
    const cache = storageHubCache(storage, 'hub', { chunkBytes: 40_000, chunkMs: 60_000 });
    await snapshotModel(cache, parseModelRef('org/tiny@v1'), opts());
    await snapshotModel(cache, parseModelRef('org/tiny'), opts());
    const dir = 'hub/models--org--tiny';
    const blobOf = (w: Uint8Array) => `${dir}/blobs/${sha256Hex(w)}/`;
    const has = async (prefix: string) => (await storage.list(dir)).some((p) => p.startsWith(prefix));
    assert.ok(await has(blobOf(W1)) && await has(blobOf(W2)));

    await removeHubSnapshot(storage, 'org/tiny', C2);
    assert.equal(await has(`${dir}/snapshots/${C2}/`), false);
    assert.equal(await has(blobOf(W2)), false, 'the blob only the forgotten commit used is gone, chunks and all');
    assert.equal(await has(`${dir}/refs/main`), false, 'main pointed to the forgotten commit');
    assert.equal(await cache.readRef('org/tiny', 'v1'), C1);
    hub.log.length = 0;
    const kept = await snapshotModel(cache, parseModelRef(`org/tiny@${C1}`), opts());
    assert.deepEqual(await kept.source.read('model.safetensors'), W1);
    assert.equal(await kept.source.readText('config.json'), '{"model_type":"llama"}', 'a blob both commits used stays');
    assert.equal(hub.log.length, 0, 'the kept commit reads from the cache');

    await removeHubSnapshot(storage, 'org/tiny', C1);
    assert.deepEqual(await storage.list('hub'), []);
  });

  it('deleting a stored hub model frees its files in the Hub cache', async () => {
    const storage = memoryStorage();
    const opened = await openModel(storage, { kind: 'hub', repo: 'org/tiny', revision: C1, hubUrl: hub.endpoint });
    assert.equal(opened.kept.kind, 'cached');
    const id = opened.kept.kind === 'cached' ? opened.kept.id : '';
    assert.deepEqual((await listCachedModels(storage)).map((m) => m.id), [id]);
    assert.ok((await storage.list('hub')).length > 0);
    await deleteCachedModel(storage, id);
    assert.deepEqual(await listCachedModels(storage), []);
    assert.deepEqual(await storage.list('hub'), [], 'no chunk of the model is left');
    assert.deepEqual(await storage.list('models'), []);
  });

  it('stores a download in chunks, resumes it after a reload from the chunks already stored, and reads the weights back by range', async () => {
    const storage = memoryStorage();
    hub.faults.push({ pathEndsWith: 'model.safetensors', kind: 'cut', afterBytes: 150_000 });
    const first = storageHubCache(storage, 'hub', { chunkBytes: 40_000, chunkMs: 60_000 });
    await expectHubError(snapshotModel(first, parseModelRef('org/tiny'), opts({ retries: 0 })), 'network', /cut at \d+ bytes/);
    const chunks = (await storage.list('hub/models--org--tiny/blobs')).filter((p) => p.includes(sha256Hex(W2)));
    assert.ok(chunks.length >= 3, chunks.join());
    // What a reload leaves: the stored chunks, and a fresh cache object over the same storage.
    hub.log.length = 0;
    const again = storageHubCache(storage, 'hub', { chunkBytes: 40_000, chunkMs: 60_000 });
    const snap = await snapshotModel(again, parseModelRef('org/tiny'), opts());
    const range = hub.log.find((r) => r.server === 'cdn')!.range;
    const from = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1]);
    assert.ok(from >= 120_000 && from <= 150_000, `resumed with ${range}`);
    assert.deepEqual(snap.downloaded, ['model.safetensors']);
    const file = await snap.source.open('model.safetensors');
    assert.equal(file.size, W2.length);
    assert.deepEqual(await file.read(39_990, 30), W2.slice(39_990, 40_020), 'a range across two chunks');
    assert.deepEqual(await snap.source.read('model.safetensors'), W2);
    assert.equal(await snap.source.readText('chat_template.jinja'), '{{ messages[0].content }}');
    // A later visit pinned to the commit reads the cache without a request.
    hub.log.length = 0;
    const pinned = await snapshotModel(again, { repo: 'org/tiny', revision: C2 }, opts());
    assert.equal(hub.log.length, 0);
    assert.deepEqual(await pinned.source.read('model.safetensors'), W2);
  });
});

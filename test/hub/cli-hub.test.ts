// `clora --model org/name` against the stand-in Hub given by HF_ENDPOINT: the download lands in the Hugging Face cache
// layout, survives a 429 and a cut connection, and the same command works offline (HF_HUB_OFFLINE=1, server gone).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertRelError } from '../helpers/assert.ts';
import { commitHash, sha256Hex, startStandInHub, type StandInHub } from '../helpers/hub-server.ts';
import { conflictingStream } from '../helpers/streams.ts';

const root = join(import.meta.dirname, '..', '..');
const demoDir = join(root, 'public', 'models', 'demo');
const demo = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'demo-model.json'), 'utf8')) as { ids: number[]; logits: number[][]; logitsPositions: number[] };
const C = commitHash('demo');
const demoFiles = Object.fromEntries(['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(join(demoDir, f)))]));
const weights = demoFiles['model.safetensors'];
const tinyDir = join(root, 'public', 'models', 'tiny-random');
const tinyFiles = Object.fromEntries(readdirSync(tinyDir).map((f) => [f, new Uint8Array(readFileSync(join(tinyDir, f)))]));

/** Runs the built CLI without blocking this process, so the stand-in Hub keeps answering. */
function clora(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'clora.js'), ...args], { env: { ...process.env, ...env, HF_TOKEN: '' }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let hub: StandInHub;
let cache: string;
before(async () => {
  hub = await startStandInHub({
    'org/demo': { commits: { [C]: { ...demoFiles, 'README.md': 'x' } }, refs: { main: C } },
    'meta-ish/gated': { commits: { [C]: demoFiles }, refs: { main: C }, gated: true },
    'org/tiny': { commits: { [C]: tinyFiles }, refs: { main: C } },
  });
  cache = mkdtempSync(join(tmpdir(), 'clora-hf-cache-'));
});
after(() => hub.close());

describe('clora --model with a Hub id', () => {
  it('downloads into the HF cache layout through a 429 and a cut connection, and the logits match the demo model\'s PyTorch reference (relative error <= 1e-4)', async () => {
    hub.faults.push({ pathEndsWith: '/revision/main', kind: 'status', status: 429, retryAfter: '1' });
    hub.faults.push({ pathEndsWith: 'model.safetensors', kind: 'cut', afterBytes: 2_000_000 });
    const res = await clora(['forward', '--model', 'org/demo', '--ids', demo.ids.join(',')], { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '' });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /HTTP 429 from the Hub; try 2 in 1\.0 s/);
    const out = JSON.parse(res.stdout) as { logits: number[][] };
    assertRelError(demo.logitsPositions.flatMap((t) => out.logits[t]), demo.logits.flat(), 1e-4, 'hub demo logits');
    // The cut transfer resumed from where it stopped rather than starting over.
    const cdn = hub.log.filter((r) => r.server === 'cdn');
    assert.equal(cdn.length, 2);
    assert.match(cdn[1].range ?? '', /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(cdn[1].range!)![0]) > 1_000_000);
    const dir = join(cache, 'models--org--demo');
    assert.deepEqual(readdirSync(dir).sort(), ['blobs', 'refs', 'snapshots']);
    assert.equal(readFileSync(join(dir, 'refs', 'main'), 'utf8'), C);
    assert.equal(readlinkSync(join(dir, 'snapshots', C, 'model.safetensors')), join('..', '..', 'blobs', sha256Hex(weights)));
  });

  it('works offline with HF_HUB_OFFLINE=1 and the server gone', async () => {
    const res = await clora(['forward', '--model', 'org/demo', '--ids', demo.ids.join(',')], { HF_ENDPOINT: 'http://127.0.0.1:9', HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' });
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { logits: number[][] };
    assertRelError(demo.logitsPositions.flatMap((t) => out.logits[t]), demo.logits.flat(), 1e-4, 'offline demo logits');
  });

  it('clora run takes a Hub id as the experiment\'s "model", and the adapters it writes name it and its commit (base_model_name_or_path, revision)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-hub-run-'));
    const tasks = conflictingStream(dir, 1).slice(0, 1);
    writeFileSync(join(dir, 'experiment.json'), JSON.stringify({ model: 'org/tiny', tasks, methods: ['seqlora'], steps: 2, batchSize: 4, maxLength: 32, maxNewTokens: 1, testFraction: 0.25, seed: 1 }));
    const out = join(dir, 'out');
    const res = await clora(['run', join(dir, 'experiment.json'), '--out', out, '--quiet'], { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '' });
    assert.equal(res.code, 0, res.stderr);
    const configs = (readdirSync(out, { recursive: true }) as string[]).filter((p) => p.endsWith('adapter_config.json'));
    assert.ok(configs.length >= 1, `no adapter in ${out}`);
    for (const p of configs) {
      const cfg = JSON.parse(readFileSync(join(out, p), 'utf8'));
      assert.equal(cfg.base_model_name_or_path, 'org/tiny', p);
      assert.equal(cfg.revision, C, p);
    }
  });

  it('a gated repo fails in one line naming the page where its licence is accepted', async () => {
    const res = await clora(['info', '--model', 'meta-ish/gated'], { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '' });
    assert.equal(res.code, 1);
    const lines = res.stderr.trim().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.equal(lines[0], `clora: error: meta-ish/gated is a gated model (no token was given): accept its licence at ${hub.endpoint}/meta-ish/gated, then use a token of that account.`);
  });
});

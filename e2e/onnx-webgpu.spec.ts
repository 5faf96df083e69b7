// The exported ONNX models on onnxruntime-web's WebGPU backend in Chromium (SwiftShader): the PyTorch fixtures' logits,
// a batch of a new shape against the wasm backend in the same page, and a SAPT export (prompt mask in, routing out)
// against the wasm backend. Relative error tolerance: 1e-4 (routing: absolute 1e-5).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { exportOnnx } from '../src/export/export-model.ts';
import { memorySource } from '../src/io/files.ts';
import { dirSource } from '../src/io/node-files.ts';
import { parseModelConfig } from '../src/model/config.ts';
import type { LoraConfig } from '../src/model/peft.ts';
import { assertRelError } from '../test/helpers/assert.ts';
import { randomInts } from '../test/helpers/random.ts';
import { randomSaptFolder } from '../test/helpers/sapt-folder.ts';
import { launchBrowser } from './browser.ts';

const TOLERANCE = 1e-4;
const ROOT = resolve(import.meta.dirname, '..');
const ORT_DIST = join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
const FIXTURES = ['llama-gqa', 'qwen2-mqa-tied', 'llama3-f16'];
const fixtureDir = (name: string) => join(ROOT, 'test', 'fixtures', 'oracle', name);

const CONTENT_TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/** Serves a blank page, onnxruntime-web's dist folder under /ort/ and the exported models under /models/. */
function serve(models: Map<string, Uint8Array>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    let body: Uint8Array | string | null = null;
    let type = 'application/octet-stream';
    if (path === '/') {
      body = '<!doctype html><title>onnx</title>';
      type = 'text/html';
    } else if (path.startsWith('/models/')) {
      body = models.get(path.slice('/models/'.length)) ?? null;
    } else if (path.startsWith('/ort/')) {
      const file = normalize(join(ORT_DIST, path.slice('/ort/'.length)));
      if (file.startsWith(ORT_DIST)) {
        try {
          body = readFileSync(file);
          type = CONTENT_TYPES[extname(file)] ?? type;
        } catch {
          body = null;
        }
      }
    }
    if (body === null) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': type }).end(body);
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    res({ server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/` });
  }));
}

interface PageRun {
  logits: number[];
  dims: number[];
  /** A SAPT export's routing [batch, blocks], flat; null for other exports. */
  routing: number[] | null;
  webgpuDevice: boolean;
}

/**
 * Runs /models/<name> in the page on one backend, with `promptMask` as prompt_mask for a SAPT export; `webgpuDevice`
 * says whether onnxruntime holds a WebGPU device afterwards.
 */
function runInPage(page: Page, name: string, ids: number[][], backend: 'webgpu' | 'wasm', promptMask?: number[][]): Promise<PageRun> {
  return page.evaluate(async ({ name, ids, backend, promptMask }) => {
    // A path, not a bare specifier: the page has no import map.
    const ort = (await import('/ort/ort.webgpu.min.mjs' as string)) as typeof import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    const bytes = new Uint8Array(await (await fetch(`/models/${name}`)).arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, { executionProviders: [backend] });
    // (No named helper functions in here: the bundler would wrap them in a helper the page does not have.)
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const [input, rows] of [['input_ids', ids], ['prompt_mask', promptMask]] as const) {
      if (rows) feeds[input] = new ort.Tensor('int64', BigInt64Array.from(rows.flat().map((v) => BigInt(v))), [rows.length, rows[0].length]);
    }
    const result = await session.run(feeds);
    await session.release();
    return {
      logits: Array.from(result.logits.data as Float32Array), dims: [...result.logits.dims] as number[],
      routing: result.routing ? Array.from(result.routing.data as Float32Array) : null, webgpuDevice: ort.env.webgpu.device !== undefined,
    };
  }, { name, ids, backend, promptMask });
}

describe('exported ONNX models on onnxruntime-web WebGPU (Chromium, SwiftShader)', () => {
  let browser: Browser;
  let page: Page;
  let server: Server;
  const models = new Map<string, Uint8Array>();

  before(async () => {
    for (const name of FIXTURES) {
      const exported = await exportOnnx(dirSource(join(fixtureDir(name), 'model')), { adapter: dirSource(join(fixtureDir(name), 'adapter')) });
      models.set(`${name}.onnx`, exported.bytes);
    }
    const model = dirSource(join(fixtureDir('llama-gqa'), 'model'));
    const cfg = parseModelConfig(JSON.parse(await model.readText('config.json')));
    const lora: LoraConfig = { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'], useRslora: false, layers: null };
    const sapt = randomSaptFolder(cfg, { lora, blocks: ['one', 'two', 'three'], bottleneck: 4, pool: 'max', seed: 5 });
    models.set('sapt.onnx', (await exportOnnx(model, { sapt: memorySource(sapt, 'sapt') })).bytes);
    const served = await serve(models);
    server = served.server;
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(served.url);
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  for (const name of FIXTURES) {
    it(`${name}: the adapted model's logits match PyTorch (relative error <= ${TOLERANCE})`, async () => {
      const expected = JSON.parse(readFileSync(join(fixtureDir(name), 'expected.json'), 'utf8')) as { ids: number[][]; logits: number[][][] };
      const run = await runInPage(page, `${name}.onnx`, expected.ids, 'webgpu');
      assert.ok(run.webgpuDevice, 'onnxruntime did not create a WebGPU device');
      assert.deepEqual(run.dims.slice(0, 2), [expected.ids.length, expected.ids[0].length]);
      assertRelError(run.logits, expected.logits.flat(2), TOLERANCE, `${name} webgpu logits`);
    });
  }

  it('a 3x5 batch: the WebGPU and wasm backends agree', async () => {
    const flat = randomInts(15, 83, 9);
    const ids = [0, 1, 2].map((b) => Array.from(flat.subarray(b * 5, b * 5 + 5)));
    const gpu = await runInPage(page, 'qwen2-mqa-tied.onnx', ids, 'webgpu');
    const cpu = await runInPage(page, 'qwen2-mqa-tied.onnx', ids, 'wasm');
    assert.deepEqual(gpu.dims, [3, 5, 83]);
    assertRelError(gpu.logits, cpu.logits, TOLERANCE, 'webgpu vs wasm');
  });

  it('a SAPT export (max pooling, three blocks): WebGPU and wasm agree on the logits and the routing', async () => {
    const flat = randomInts(12, 83, 10);
    const ids = [0, 1].map((b) => Array.from(flat.subarray(b * 6, b * 6 + 6)));
    const mask = [[1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0]];
    const gpu = await runInPage(page, 'sapt.onnx', ids, 'webgpu', mask);
    const cpu = await runInPage(page, 'sapt.onnx', ids, 'wasm', mask);
    assert.ok(gpu.webgpuDevice);
    assert.equal(gpu.routing!.length, 6);
    for (let r = 0; r < 2; r++) assert.ok(Math.abs(gpu.routing![3 * r] + gpu.routing![3 * r + 1] + gpu.routing![3 * r + 2] - 1) < 1e-5, `routing row ${r}`);
    gpu.routing!.forEach((w, i) => assert.ok(Math.abs(w - cpu.routing![i]) <= 1e-5, `routing ${i}: webgpu ${w}, wasm ${cpu.routing![i]}`));
    assertRelError(gpu.logits, cpu.logits, TOLERANCE, 'SAPT webgpu vs wasm');
  });
});

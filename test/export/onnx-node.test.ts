// The deploy path: files written by `clora export` (the built CLI) opened from disk by onnxruntime-node on its CPU
// execution provider. Merged adapters against the PyTorch oracle fixtures (relative error
// max|onnx - ref| / max|ref| <= 1e-4, over batches of 1 and 2), and a SAPT export's logits and routing against
// onnxruntime-web's wasm backend on the same file (absolute 1e-5: two runtimes, same graph).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import type { LoraConfig } from '../../src/model/peft.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { assertClose, assertRelError, relError } from '../helpers/assert.ts';
import { ROOT } from '../helpers/clora-run.ts';
import { onnxRun, openOnnx, type OnnxSession } from '../helpers/onnx-runtime.ts';
import { randomInts } from '../helpers/random.ts';
import { randomSaptFolder } from '../helpers/sapt-folder.ts';

const TOLERANCE = 1e-4;
const RUNTIMES_TOLERANCE = 1e-5;
const FIXTURES = ['llama-gqa', 'qwen2-mqa-tied', 'llama3-f16'];
const fixtureDir = (name: string) => join(ROOT, 'test', 'fixtures', 'oracle', name);

interface Expected {
  ids: number[][];
  logits: number[][][];
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'clora-ort-node-'));
  execFileSync('npm', ['run', '-s', 'build:cli'], { cwd: ROOT, stdio: 'ignore' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** `clora export` with these arguments, writing `name`; returns the file's path. */
function cloraExport(args: string[], name: string): string {
  const out = join(dir, name);
  execFileSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'export', ...args, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  return out;
}

describe('exported files in onnxruntime-node (CPU)', () => {
  for (const name of FIXTURES) {
    it(`${name}: adapter merged, logits against PyTorch, relative error <= ${TOLERANCE}`, async (t) => {
      const expected = JSON.parse(readFileSync(join(fixtureDir(name), 'expected.json'), 'utf8')) as Expected;
      const file = cloraExport(['--model', join(fixtureDir(name), 'model'), '--adapter', join(fixtureDir(name), 'adapter')], `${name}.onnx`);
      const session = await ortNode.InferenceSession.create(file, { executionProviders: ['cpu'] });
      try {
        // The fixture's batch, then its first row alone (the batch dimension is dynamic).
        for (const rows of [expected.ids, expected.ids.slice(0, 1)]) {
          const out = await onnxRun(session as unknown as OnnxSession, rows);
          const want = expected.logits.slice(0, rows.length).flat(2);
          assert.deepEqual(out.logits.dims.slice(0, 2), [rows.length, rows[0].length]);
          assertRelError(out.logits.data, want, TOLERANCE, `${name} logits, batch ${rows.length}`);
          t.diagnostic(`${name} batch ${rows.length}: relative error ${relError(out.logits.data, want).toExponential(2)}`);
        }
      } finally {
        await session.release();
      }
    });
  }

  it('a SAPT export (--sapt): logits and routing as onnxruntime-web gives them for the same file', async (t) => {
    const modelDir = join(fixtureDir('llama-gqa'), 'model');
    const cfg = parseModelConfig(JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')));
    const lora: LoraConfig = { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false, layers: null };
    const sapt = join(dir, 'sapt');
    for (const [name, content] of Object.entries(randomSaptFolder(cfg, { lora, blocks: ['first', 'second'], bottleneck: 5, seed: 1 }))) {
      mkdirSync(join(sapt, name, '..'), { recursive: true });
      writeFileSync(join(sapt, name), content);
    }
    const file = cloraExport(['--model', modelDir, '--sapt', sapt], 'sapt.onnx');

    const ids = randomInts(2 * 6, cfg.vocabSize, 7);
    const rows = [Array.from(ids.subarray(0, 6)), Array.from(ids.subarray(6))];
    const masks = [[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]];
    const node = await ortNode.InferenceSession.create(file, { executionProviders: ['cpu'] });
    const web = await openOnnx(new Uint8Array(readFileSync(file)));
    try {
      const a = await onnxRun(node as unknown as OnnxSession, rows, masks);
      const b = await onnxRun(web, rows, masks);
      assert.deepEqual(a.routing!.dims, [2, 2]);
      for (let r = 0; r < 2; r++) assertClose([a.routing!.data[2 * r] + a.routing!.data[2 * r + 1]], [1], { rtol: 0, atol: 1e-6 }, `routing row ${r} sums to 1`);
      assertClose(a.routing!.data, b.routing!.data, { rtol: 0, atol: RUNTIMES_TOLERANCE }, 'routing');
      assertClose(a.logits.data, b.logits.data, { rtol: 0, atol: RUNTIMES_TOLERANCE * Math.max(...b.logits.data.map(Math.abs)) }, 'logits');
      t.diagnostic(`routing ${Array.from(a.routing!.data, (v) => v.toFixed(3)).join(', ')}; logits relative difference ${relError(a.logits.data, b.logits.data).toExponential(2)}`);
    } finally {
      await node.release();
      await web.release();
    }
  });
});

// The head of inference plans on real WebGPU: logits recorded in slices of rows that fit one binding (against one
// matmul and a CPU reference), the prefill plan's one row per sequence (against the forward plan's rows at the same
// positions), what inference plans allocate, and the refusal of a binding or buffer above the device's limits (advising a smaller batch only where it helps).
// Tolerances: sliced and unsliced logits are bit-identical (each element is the same dot product in the same order);
// against the f64 CPU matmul, max |diff| / max |ref| 1e-5. Prefill and forward logits are bit-identical.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/context.ts';
import { Plan } from '../../src/gpu/plan.ts';
import { StepParams } from '../../src/gpu/step-params.ts';
import { recordMatmul } from '../../src/gpu/kernels/matmul.ts';
import { buildModelPlan } from '../../src/engine/graph.ts';
import { uploadCheckpoint } from '../../src/engine/gpu-weights.ts';
import { headSliceRows, recordHeadInSlices } from '../../src/engine/head-slices.ts';
import { wholeTable } from '../../src/engine/vocab-table.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { matmul } from '../../src/ref/ops.ts';
import { assertRelError } from '../helpers/assert.ts';
import { kernelHarness, releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { randomArray, randomInts } from '../helpers/random.ts';

const DEMO = join(import.meta.dirname, '..', '..', 'public', 'models', 'demo');

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
});
after(releaseTestGpu);
const { up, zeros, run } = kernelHarness(() => gpu);

describe('head slices', () => {
  it('headSliceRows keeps every row when the logits fit, else the most 64-row multiples that do, else fewer, and names the limit when not one row fits', () => {
    assert.equal(headSliceRows(2048, 1000, 2048 * 1000 * 4), 2048);
    // 8 x 256 tokens of SmolLM2's 49152-word vocabulary under WebGPU's default 128 MiB: 682 rows fit, so 640.
    assert.equal(headSliceRows(2048, 49152, 128 * 2 ** 20), 640);
    assert.equal(headSliceRows(100, 10, 64 * 10 * 4), 64);
    // Fewer than 64 rows fit: as many as leave room for a binding that starts up to 252 bytes before them.
    assert.equal(headSliceRows(100, 10, 63 * 10 * 4), Math.floor((63 * 10 * 4 - 252) / 40));
    assert.throws(() => headSliceRows(100, 1000, 4096), /one row of logits of width 1000 \(3\.9 KiB\) does not fit in one binding of 4 KiB/);
  });

  it('logits recorded in slices equal one matmul bit for bit and the CPU matmul within 1e-5', async () => {
    const rows = 200, width = 96, hidden = 40;
    const h = randomArray(rows * hidden, 1), w = randomArray(width * hidden, 2);
    const [hBuf, wBuf] = [up(h), up(w)];
    const whole = zeros(rows * width), sliced = zeros(rows * width);
    // 64 rows of logits fit in 64 * 96 * 4 bytes: slices of 64, 64, 64 and 8 rows.
    assert.equal(headSliceRows(rows, width, 64 * width * 4 + 100), 64);
    const plan = await run((p) => {
      recordMatmul(gpu, p, { a: hBuf, b: wBuf, c: whole, M: rows, N: width, K: hidden, transB: true });
      recordHeadInSlices(gpu, p, { rows, maxBindingBytes: 64 * width * 4 + 100 }, { hidden: hBuf, table: wholeTable(wBuf, width, hidden), logits: sliced },
        () => assert.fail('aligned rows of a one-slice table need no scratch'), 'lm_head');
    });
    assert.equal(plan.dispatchCount, 1 + 4);
    const [a, b] = [await gpu.readF32(whole), await gpu.readF32(sliced)];
    assert.deepEqual(b, a);
    assertRelError(b, matmul(h, w, rows, width, hidden, { transB: true }), 1e-5, 'sliced head vs CPU');
  });

  it('record() refuses a binding above maxStorageBufferBindingSize, naming the kernel, the buffer and the limit', () => {
    const limit = gpu.device.limits.maxStorageBufferBindingSize;
    const small = gpu.createBuffer('logits', 64);
    try {
      assert.throws(() => recordMatmul(gpu, new Plan('test'), {
        a: small, b: small, c: { buffer: small, offset: 0, size: limit + 4 }, M: 1, N: 1, K: 1,
      }, 'lm_head'), (e: Error) => e.message.startsWith('lm_head: buffer "logits" would bind') &&
        e.message.includes(`(${limit + 4} bytes), more than this device's maxStorageBufferBindingSize`) && e.message.includes(`(${limit} bytes)`));
    } finally {
      gpu.destroyBuffer(small);
    }
  });
});

describe('binding errors', () => {
  it('advise a smaller batch only for activations; a checkpoint tensor is named with what can help', async () => {
    const dir = join(import.meta.dirname, '..', 'fixtures', 'oracle', 'llama-gqa', 'model');
    const cfg = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const weights = await uploadCheckpoint(gpu, dirSource(dir), cfg);
    const limit = gpu.device.limits.maxStorageBufferBindingSize;
    const activation = gpu.createBuffer('resid.0', 64);
    try {
      const oversize = (buffer: GPUBuffer) => () => recordMatmul(gpu, new Plan('test'), {
        a: activation, b: { buffer, offset: 0, size: limit + 4 }, c: activation, M: 1, N: 1, K: 1,
      }, 'l0.q_proj');
      assert.throws(oversize(weights.layers[0].proj.o_proj.weight.buffer), (e: Error) =>
        e.message.includes('it holds the checkpoint tensor model.layers.0.self_attn.o_proj.weight, bound whole: a smaller batch or sequence length cannot help')
        && e.message.includes('larger maxStorageBufferBindingSize'));
      // q, k and v stacked into one buffer: the error names all three.
      assert.ok(weights.layers[0].fused.qkv, 'this fixture\'s q/k/v weights are fused');
      assert.throws(oversize(weights.layers[0].proj.q_proj.weight.buffer), (e: Error) =>
        e.message.includes('it holds the checkpoint tensors model.layers.0.self_attn.q_proj.weight, model.layers.0.self_attn.k_proj.weight, model.layers.0.self_attn.v_proj.weight, bound whole'));
      assert.throws(oversize(activation), /resid\.0.*; use a smaller batch or sequence length$/);
    } finally {
      gpu.destroyBuffer(activation);
      weights.destroy();
    }
  });
});

describe('prefill plan', () => {
  it('computes the logits of each sequence\'s last prompt row only, equal to the forward plan\'s at those rows', async () => {
    const src = dirSource(DEMO);
    const cfg = parseModelConfig(JSON.parse(readFileSync(join(DEMO, 'config.json'), 'utf8')));
    const weights = await uploadCheckpoint(gpu, src, cfg);
    const step = new StepParams(gpu);
    const B = 3, T = 32, V = cfg.vocabSize;
    const forward = buildModelPlan(gpu, { cfg, weights, bank: null, step }, 'forward', B, T);
    const prefill = buildModelPlan(gpu, { cfg, weights, bank: null, step }, 'prefill', B, T);
    try {
      assert.equal(prefill.logitRows, B);
      assert.equal(prefill.logits.size, B * V * 4);
      assert.equal(forward.lastRows, null);
      // What each plan allocates, within 1 KiB (buffers are rounded up to 16 bytes): both share one set of layer
      // activations (without o and down: they join the residual in their matmul's epilogue) and two residual buffers;
      // prefill adds each layer's keys and values and has [batch] head rows.
      const N = B * T, H = cfg.hiddenSize, q = cfg.numHeads * cfg.headDim, kvDim = cfg.numKvHeads * cfg.headDim;
      const shared = 3 * N + T * cfg.headDim + 2 * N * H + N * (3 * H + 2 + 2 * q + 2 * kvDim + cfg.numHeads + 3 * cfg.intermediateSize) + 1;
      const floats = { forward: shared + N * H + N + N * V, prefill: shared + 2 * (B * H + B) + B * V + 2 * cfg.numLayers * N * kvDim };
      for (const [name, p] of [['forward', forward], ['prefill', prefill]] as const) {
        assert.ok(Math.abs(p.bytes - floats[name] * 4) <= 1024, `${name}: the plan allocates ${p.bytes} bytes, expected ${floats[name] * 4}`);
      }
      assert.equal(forward.kv.length, 0);
      const ids = Uint32Array.from(randomInts(B * T, V, 5));
      const last = Uint32Array.from([5, T + T - 1, 2 * T]);
      for (const p of [forward, prefill]) gpu.write(p.ids, ids);
      gpu.write(prefill.lastRows!, last);
      forward.plan.submit(gpu.device);
      prefill.plan.submit(gpu.device);
      const all = await gpu.readF32(forward.logits);
      const got = await gpu.readF32(prefill.logits);
      last.forEach((row, b) => assert.deepEqual(got.subarray(b * V, (b + 1) * V), all.subarray(row * V, (row + 1) * V), `sequence ${b}, row ${row}`));
      // The keys and values of every position stay: the KV cache's prefill.
      assert.equal(prefill.kv.length, cfg.numLayers);
    } finally {
      forward.destroy();
      prefill.destroy();
      weights.destroy();
      step.buffer.destroy();
    }
  });
});

describe('buffer limits', () => {
  it('createBuffer refuses a buffer above maxBufferSize, naming it and the limit, before WebGPU would', () => {
    const max = gpu.device.limits.maxBufferSize;
    const before = gpu.bytesAllocated;
    assert.throws(() => gpu.createBuffer('logits', max + 16),
      (e: Error) => e.message.startsWith('buffer "logits" needs') && e.message.includes(`more than this device's maxBufferSize`) && e.message.includes(`(${max} bytes)`));
    assert.equal(gpu.bytesAllocated, before, 'nothing counted as allocated');
  });
});

// Vocabulary slicing on real WebGPU, with the binding limit lowered to a few KiB (Gpu.bindingLimit) so that tiny
// models take the paths real ones take under WebGPU's 128 MiB: the embedding table and the LM head stored in slices
// (F16/BF16 kept packed), the gather across slices, the head's logits slice by slice and in pieces of rows, d hidden
// through a sliced (tied) head, the loss in chunks of unaligned rows. Whole models against themselves unsliced:
// logits, loss, LoRA gradients, greedy tokens, LwF's gradients and a classification head, relative error <= 1e-6
// (max |sliced - whole| / max |whole|, per tensor). The gather reads the packed halves exactly (bit-equal to the CPU).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/context.ts';
import { recordMatmul } from '../../src/gpu/kernels/matmul.ts';
import { bindingLimitFromEnv, nodeGpuInstance } from '../../src/gpu/node-device.ts';
import { recordHeadBackward, recordHeadInSlices } from '../../src/engine/head-slices.ts';
import { Session, type EngineBatch } from '../../src/engine/session.ts';
import { recordVocabGather, tableBytes, uploadVocabTable, vocabSliceRows, wholeTable } from '../../src/engine/vocab-table.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { packHalf } from '../../src/model/half.ts';
import type { CheckpointTensor } from '../../src/model/weights.ts';
import { matmul } from '../../src/ref/ops.ts';
import { assertRelError } from '../helpers/assert.ts';
import { kernelHarness, releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { randomArray, randomInts } from '../helpers/random.ts';

const ORACLE = join(import.meta.dirname, '..', 'fixtures', 'oracle');
const LIMIT = 2048;
const TOL = 1e-6;

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
});
after(async () => {
  if (gpu) gpu.bindingLimit = null;
  await releaseTestGpu();
});
const { up, zeros, run } = kernelHarness(() => gpu);

/** Runs `body` with gpu.bindingLimit lowered to `limit` (null: the device's), then restores it. */
async function withLimit<T>(limit: number | null, body: () => Promise<T>): Promise<T> {
  const previous = gpu.bindingLimit;
  gpu.bindingLimit = limit;
  try {
    return await body();
  } finally {
    gpu.bindingLimit = previous === Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize) ? null : previous;
  }
}

/** A checkpoint tensor holding `values` (representable in `dtype`) as the file would. */
function checkpointTensor(name: string, shape: number[], values: Float32Array, dtype: 'F16' | 'BF16'): CheckpointTensor {
  const halves = packHalf(values, dtype).subarray(0, values.length);
  return { name, file: 'model.safetensors', shape, dtype, bytes: new Uint8Array(halves.buffer, 0, halves.byteLength) };
}

/** BF16-representable values (their BF16 bits padded with zeros), so packing is exact. */
function bf16Values(n: number, seed: number): Float32Array {
  const v = randomArray(n, seed);
  const u = new Uint32Array(v.buffer);
  for (let i = 0; i < n; i++) u[i] &= 0xffff0000;
  return v;
}

describe('vocabulary tables', () => {
  it('slice rows: the whole table when it fits, else the most even row count that does; the limit parser', () => {
    assert.equal(vocabSliceRows(151936, 896, 2, 2 ** 30), 151936);
    // Qwen2.5's tied table under 128 MiB: 519 MiB in f32 (5 slices of 37448 rows), 260 MiB packed (3 of 74898).
    assert.equal(vocabSliceRows(151936, 896, 4, 128 * 2 ** 20), 37448);
    assert.equal(vocabSliceRows(151936, 896, 2, 128 * 2 ** 20), 74898);
    assert.throws(() => vocabSliceRows(10, 1000, 4, 4096, 'lm_head.weight'), /lm_head\.weight: two rows of 1000 32-bit values \(7\.8 KiB\) exceed the binding limit of 4 KiB/);
    assert.equal(bindingLimitFromEnv('4096'), 4096);
    assert.equal(bindingLimitFromEnv('96MiB'), 96 * 2 ** 20);
    assert.equal(bindingLimitFromEnv(''), null);
    assert.throws(() => bindingLimitFromEnv('12'), /CLORA_BINDING_LIMIT=12: expected a byte count of at least 1024/);
    assert.throws(() => bindingLimitFromEnv('4 KB'), /CLORA_BINDING_LIMIT=4 KB/);
  });

  it('the device has the adapter\'s own maximum buffer limits, and the binding limit is theirs unless lowered', async () => {
    const adapter = await nodeGpuInstance().requestAdapter();
    assert.ok(adapter);
    for (const k of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage'] as const) {
      assert.equal(gpu.device.limits[k], adapter.limits[k], k);
    }
    await withLimit(null, async () => {
      assert.equal(gpu.bindingLimit, Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize));
      gpu.bindingLimit = 4096;
      assert.equal(gpu.bindingLimit, 4096);
      assert.throws(() => { gpu.bindingLimit = 100; }, /at least 1024 bytes, got 100/);
    });
  });

  it('a BF16 table stays packed in slices within the limit, and the gather across slices reads it exactly', async () => {
    const V = 61, H = 22, tokens = 29, limit = 1024;
    const data = bf16Values(V * H, 5);
    const table = await withLimit(limit, async () => uploadVocabTable(gpu, checkpointTensor('embed', [V, H], data, 'BF16'), true));
    try {
      assert.equal(table.format, 'bf16');
      // 1024 / (22 * 2 bytes) = 23.3 rows: slices of 22 rows (even), 22 and 17.
      assert.deepEqual(table.slices.map((s) => [s.first, s.rows]), [[0, 22], [22, 22], [44, 17]]);
      for (const s of table.slices) assert.ok(s.ref.size <= limit, `slice at ${s.first} binds ${s.ref.size} bytes`);
      assert.equal(tableBytes(table), table.slices.reduce((n, s) => n + Math.ceil((s.rows * H) / 2) * 4, 0), 'two values per word');
      const ids = randomInts(tokens, V, 6);
      const out = zeros(tokens * H);
      await run((p) => recordVocabGather(gpu, p, table, tokens, { ids: up(Uint32Array.from(ids)), out }));
      const want = new Float32Array(tokens * H);
      ids.forEach((id, n) => want.set(data.subarray(id * H, (id + 1) * H), n * H));
      assert.deepEqual(await gpu.readF32(out), want);
    } finally {
      for (const s of table.slices) gpu.destroyBuffer(s.ref.buffer);
    }
  });

  it('the head over F16 slices and pieces of rows: logits and d hidden match one matmul over the whole table within 1e-6', async () => {
    const V = 75, H = 24, rows = 19;
    // F16-representable values: the packed halves and the f32 copy hold the same numbers.
    const w = Float32Array.from(randomArray(V * H, 7), (x) => Math.round(x * 1024) / 1024);
    const h = randomArray(rows * H, 8);
    const dLogits = randomArray(rows * V, 9);
    const limit = 1024;
    const table = await withLimit(limit, async () => uploadVocabTable(gpu, checkpointTensor('head', [V, H], w, 'F16'), true));
    try {
      assert.ok(table.slices.length >= 3, `${table.slices.length} slices`);
      const whole = wholeTable(up(w), V, H);
      const [hBuf, dlBuf] = [up(h), up(dLogits)];
      const [ref, sliced, dhRef, dhSliced] = [zeros(rows * V), zeros(rows * V), zeros(rows * H), zeros(rows * H)];
      const alloc = (label: string, floats: number) => zeros(floats, label);
      await run((p) => {
        recordMatmul(gpu, p, { a: hBuf, b: whole.slices[0].ref, c: ref, M: rows, N: V, K: H, transB: true });
        recordHeadInSlices(gpu, p, { rows, maxBindingBytes: limit }, { hidden: hBuf, table, logits: sliced }, alloc, 'lm_head');
        recordMatmul(gpu, p, { a: dlBuf, b: whole.slices[0].ref, c: dhRef, M: rows, N: H, K: V });
        recordHeadBackward(gpu, p, { rows }, { dLogits: dlBuf, table, dHidden: dhSliced }, alloc, 'lm_head.bwd');
      });
      assertRelError(await gpu.readF32(sliced), await gpu.readF32(ref), TOL, 'sliced logits');
      assertRelError(await gpu.readF32(ref), matmul(h, w, rows, V, H, { transB: true }), 1e-5, 'logits vs CPU');
      assertRelError(await gpu.readF32(dhSliced), await gpu.readF32(dhRef), TOL, 'sliced d hidden');
    } finally {
      for (const s of table.slices) gpu.destroyBuffer(s.ref.buffer);
    }
  });
});

interface Outcome {
  slices: number;
  trainDispatches: number;
  logits: Float32Array[];
  loss: number;
  grads: Map<string, Float32Array>;
  tokens: number[][];
  lwfLoss: number;
  lwfGrads: Float32Array;
  headLogits: Float32Array[];
  headLoss: number;
  headGrads: Map<string, Float32Array>;
}

/** Three sequences of 24 tokens: 72 rows, so the loss runs in several chunks of unaligned rows under LIMIT. */
function makeBatch(vocab: number, seed: number, classes = vocab): EngineBatch {
  const B = 3, T = 24;
  const ids = randomInts(B * T, vocab, seed);
  const labels = Int32Array.from(ids, (id, i) => (i % T < 5 ? -100 : id % classes));
  const promptMask = Uint8Array.from(ids, (_, i) => (i % T < 5 ? 1 : 0));
  return { ids, labels, batchSize: B, seqLen: T, promptMask };
}

async function everything(dir: string, limit: number | null): Promise<Outcome> {
  return withLimit(limit, async () => {
    const s = await Session.open(gpu, dirSource(join(dir, 'model')), { adapter: dirSource(join(dir, 'adapter')), seed: 4 });
    try {
      const V = s.config.vocabSize;
      const batch = makeBatch(V, 11);
      const logits = await s.forward(batch);
      const { loss, grads } = await s.gradients(batch);
      const tokens = await s.generate([[1, 2, 3], [4, 5, 6, 7, 8], [9]], { maxNewTokens: 6, stopIds: [] });
      const student = s.bank!;
      const teacher = await s.createBank({ lora: student.spec.lora, blocks: 1, router: null, head: null });
      s.train = { ...s.train, lr: 0 };
      const lwfLoss = await s.trainStep(batch, { distill: { teacher, temperature: 2, weight: 1 } });
      const lwfGrads = await student.params.readFlat('grads');
      const trainDispatches = s.dispatchCount('train', batch.batchSize, batch.seqLen);
      const headBank = await s.createBank({ lora: student.spec.lora, blocks: 1, router: null, head: { classes: 5 } });
      headBank.setTrainable({ block: 0, router: false, head: true });
      s.useBank(headBank);
      const headBatch = makeBatch(V, 12, 5);
      const headLogits = await s.forward(headBatch);
      const head = await s.gradients(headBatch);
      s.releaseBank(headBank);
      s.releaseBank(teacher);
      s.useBank(student);
      const flat = (m: Map<string, { data: Float32Array }>) => new Map([...m].map(([k, v]) => [k, v.data]));
      return {
        slices: s.info.vocabSlices, trainDispatches, logits, loss, grads: flat(grads), tokens, lwfLoss, lwfGrads,
        headLogits, headLoss: head.loss, headGrads: flat(head.grads),
      };
    } finally {
      s.destroy();
    }
  });
}

for (const name of ['qwen2-mqa-tied', 'llama-gqa']) {
  describe(`sliced vocabulary on ${name}`, () => {
    it(`matches the unsliced model within ${TOL}: logits, loss, LoRA gradients, greedy tokens, LwF, a classification head`, async () => {
      const dir = join(ORACLE, name);
      const whole = await everything(dir, null);
      const sliced = await everything(dir, LIMIT);
      assert.equal(whole.slices, 1);
      assert.ok(sliced.slices > 1, `the embedding is in ${sliced.slices} slice(s) under ${LIMIT} bytes`);
      assert.ok(sliced.trainDispatches > whole.trainDispatches, 'the sliced training step runs the head in more pieces');
      whole.logits.forEach((l, b) => assertRelError(sliced.logits[b], l, TOL, `logits[${b}]`));
      assertRelError([sliced.loss], [whole.loss], TOL, 'loss');
      assert.deepEqual([...sliced.grads.keys()], [...whole.grads.keys()]);
      for (const [key, g] of whole.grads) assertRelError(sliced.grads.get(key)!, g, TOL, `grad ${key}`);
      assert.deepEqual(sliced.tokens, whole.tokens, 'greedy tokens');
      assert.ok(whole.tokens.every((t) => t.length === 6));
      assertRelError([sliced.lwfLoss], [whole.lwfLoss], TOL, 'loss of the LwF step');
      assertRelError(sliced.lwfGrads, whole.lwfGrads, TOL, 'gradients with LwF distillation');
      whole.headLogits.forEach((l, b) => assertRelError(sliced.headLogits[b], l, TOL, `head logits[${b}]`));
      assertRelError([sliced.headLoss], [whole.headLoss], TOL, 'head loss');
      for (const [key, g] of whole.headGrads) assertRelError(sliced.headGrads.get(key)!, g, TOL, `head grad ${key}`);
    });
  });
}

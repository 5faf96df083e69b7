// The f16-compute path (shader-f16): the tiled matmul with f16 products summed in f32 against a CPU model of that
// arithmetic (src/ref/ops.ts matmulF16Products), its error against exact f64 products, and whole models whose base
// projections compute in f16 against PyTorch's f32 logits, loss and training. Runs on a device with shader-f16:
// lavapipe on machines without a GPU (npm run test:lavapipe); fails, never skips, on a device without it.
// Tolerances:
// - against the f16 model of the arithmetic: the same roundings, f32 sums in the same order; only the epilogue's
//   order (fma contraction) may differ: rtol 1e-5, atol 1e-5;
// - against f64: operands and products carry f16's 2^-11 relative rounding, for O(1) values summed over K:
//   |error| <= 4e-3 * sqrt(K) + 1e-2 relative to the largest |C|, and somewhere above 1e-5 (f32 alone stays below);
// - models: logits within 1e-2 of PyTorch's (max |diff| / max |ref|; f32 stays within 1e-4), ten training steps' losses
//   within 2e-3 relative plus 1e-3 nats (the losses fall to ~0.2, where f16's rounding is a larger share).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../src/gpu/context.ts';
import { Gpu as GpuHandle, summarizeAdapter } from '../src/gpu/context.ts';
import { recordMatmul } from '../src/gpu/kernels/matmul.ts';
import { Plan } from '../src/gpu/plan.ts';
import { nodeGpuInstance } from '../src/gpu/node-device.ts';
import { f16BitsToNumber, packHalf, type HalfDtype } from '../src/model/half.ts';
import { packSequences } from '../src/engine/batch.ts';
import { Session } from '../src/engine/session.ts';
import { dirSource } from '../src/io/node-files.ts';
import * as ref from '../src/ref/ops.ts';
import { assertClose, relError } from '../test/helpers/assert.ts';
import { kernelHarness, releaseTestGpu, testGpu } from '../test/helpers/gpu.ts';
import { randomArray } from '../test/helpers/random.ts';

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
});
after(releaseTestGpu);

const { up, zeros, run } = kernelHarness(() => gpu);
const EXACT_TOL = { rtol: 1e-5, atol: 1e-5 };

describe('f16 compute: the tiled matmul with f16 products summed in f32', () => {
  it('the test device has shader-f16', () => {
    assert.ok(gpu.hasF16, `the test device (${gpu.adapter.vendor} ${gpu.adapter.description}) lacks shader-f16; run these suites with CLORA_ADAPTER=lavapipe after bash scripts/lavapipe.sh`);
  });

  const shapes: [number, number, number][] = [[1, 1, 1], [7, 13, 5], [67, 33, 129], [130, 65, 17], [5, 200, 300]];
  for (const [M, N, K] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`${M}x${N}x${K} transA=${transA} transB=${transB}, with alpha, bias and beta`, async () => {
          const seed = M * 7 + N * 3 + K + (transA ? 1 : 0) + (transB ? 2 : 0);
          const a = randomArray(M * K, seed), b = randomArray(K * N, seed + 1);
          const bias = randomArray(N, seed + 2), c0 = randomArray(M * N, seed + 3);
          const c = up(c0);
          await run((plan) => recordMatmul(gpu, plan, { a: up(a), b: up(b), c, M, N, K, transA, transB, alpha: 0.75, beta: 1, bias: up(bias), compute: 'f16' }));
          const got = await gpu.readF32(c);
          const opts = { transA, transB, alpha: 0.75, beta: 1, c: c0, bias };
          assertClose(got, ref.matmulF16Products(a, b, M, N, K, opts), EXACT_TOL, 'C against the f16-product model');
          const exact = ref.matmul(a, b, M, N, K, opts);
          const err = relError(got, exact);
          assert.ok(err <= 4e-3 * Math.sqrt(K) + 1e-2, `error against f64 ${err.toExponential(2)} exceeds f16 rounding`);
          if (K >= 17) assert.ok(err > 1e-5, `error against f64 ${err.toExponential(2)}: no f16 rounding happened`);
        });
      }
    }
  }

  for (const dtype of ['F16', 'BF16'] as HalfDtype[]) {
    it(`B as packed ${dtype} weights in the projection layout (x Wᵀ)`, async () => {
      const [M, N, K] = [37, 70, 64];
      const x = randomArray(M * K, 5);
      const bits = packHalf(randomArray(N * K, 6), dtype);
      const w = Float32Array.from(bits, (v) => dtype === 'F16' ? f16BitsToNumber(v) : new Float32Array(Uint32Array.of(v << 16).buffer)[0]);
      const c = zeros(M * N);
      const packed = new Uint32Array(bits.buffer, bits.byteOffset, bits.length / 2);
      await run((plan) => recordMatmul(gpu, plan, { a: up(x), b: up(packed), bFormat: dtype === 'F16' ? 'f16' : 'bf16', c, M, N, K, transB: true, compute: 'f16' }));
      assertClose(await gpu.readF32(c), ref.matmulF16Products(x, w, M, N, K, { transB: true }), EXACT_TOL, 'C');
    });
  }

  it('clamps operands past f16 range to its largest finite value instead of making them infinite', async () => {
    const a = Float32Array.of(1e6, -2e5, 3, 0.5);
    const b = Float32Array.of(0.5, 0.25, 1, 1);
    const c = zeros(1);
    await run((plan) => recordMatmul(gpu, plan, { a: up(a), b: up(b), c, M: 1, N: 1, K: 4, compute: 'f16' }));
    const [got] = await gpu.readF32(c);
    assert.equal(got, 65504 * 0.5 - 65504 * 0.25 + 3 + 0.5);
  });

  it('a device without shader-f16 refuses f16 compute, naming the feature', async () => {
    const adapter = await nodeGpuInstance().requestAdapter();
    assert.ok(adapter);
    const plain = new GpuHandle(await adapter.requestDevice(), summarizeAdapter(adapter));
    try {
      assert.equal(plain.hasF16, false);
      const d = plain.dummy;
      assert.throws(() => recordMatmul(plain, new Plan('reject'), { a: d, b: d, c: d, M: 4, N: 4, K: 4, compute: 'f16' }), /shader-f16/);
      await assert.rejects(Session.open(plain, dirSource(join(ORACLE, 'llama-gqa', 'model')), { baseOnly: true, compute: 'f16' }), /shader-f16/);
    } finally {
      plain.device.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Whole models against PyTorch (the fixtures of test/engine/oracle.test.ts), base projections in f16 compute.

const ORACLE = join(import.meta.dirname, '..', 'test', 'fixtures', 'oracle');

interface Expected {
  ids: number[][];
  labels: number[][];
  logits: number[][][];
  loss: number;
  train: { steps: number; lr: number; betas: [number, number]; eps: number; weight_decay: number; max_grad_norm: number; losses: number[] };
}

// Two fixtures with head dim 8: lavapipe compiles the attention kernels for each head dim once per process, minutes
// each (llama3-f16's F16 weights meet f16 compute in the kernel test above).
for (const name of ['llama-gqa', 'qwen2-mqa-tied']) {
  describe(`f16 compute on the oracle model ${name}`, () => {
    const dir = join(ORACLE, name);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
    const batch = packSequences(expected.ids, expected.labels);
    const model = dirSource(join(dir, 'model'));
    const adapter = dirSource(join(dir, 'adapter'));

    it('adapter logits and loss near PyTorch f32, and not the f32 engine bit for bit', async (t) => {
      const s16 = await Session.open(gpu, model, { adapter, compute: 'f16' });
      const s32 = await Session.open(gpu, model, { adapter });
      try {
        const l16 = await s16.forward(batch);
        const l32 = await s32.forward(batch);
        let differs = false;
        for (let b = 0; b < batch.batchSize; b++) {
          const want = expected.logits[b].flat();
          const err = relError(l16[b], want);
          assert.ok(err <= 1e-2, `logits[${b}]: relative error ${err.toExponential(2)} > 1e-2`);
          t.diagnostic(`logits[${b}]: relative error ${err.toExponential(2)} against PyTorch (f32 engine: ${relError(l32[b], want).toExponential(2)})`);
          differs ||= l16[b].some((v, i) => v !== l32[b][i]);
        }
        assert.ok(differs, 'f16 compute gave the f32 logits exactly: the f16 path did not run');
        const { loss } = await s16.gradients(batch);
        assert.ok(Math.abs(loss - expected.loss) <= 2e-3 * Math.abs(expected.loss), `loss ${loss} vs PyTorch ${expected.loss}`);
      } finally {
        s16.destroy();
        s32.destroy();
      }
    });

    it('ten AdamW steps follow PyTorch f32 losses', async (t) => {
      const train = expected.train;
      const s = await Session.open(gpu, model, {
        adapter, compute: 'f16',
        train: { lr: train.lr, beta1: train.betas[0], beta2: train.betas[1], eps: train.eps, weightDecay: train.weight_decay, maxGradNorm: train.max_grad_norm },
      });
      try {
        let worst = 0;
        for (let i = 0; i < train.steps; i++) {
          const loss = await s.trainStep(batch);
          const diff = Math.abs(loss - train.losses[i]);
          assert.ok(diff <= 2e-3 * Math.abs(train.losses[i]) + 1e-3, `step ${i}: loss ${loss} vs PyTorch ${train.losses[i]}`);
          worst = Math.max(worst, diff);
        }
        t.diagnostic(`losses ${train.losses[0].toFixed(3)} -> ${train.losses[train.steps - 1].toFixed(3)}; largest difference from PyTorch ${worst.toExponential(2)}`);
      } finally {
        s.destroy();
      }
    });
  });
}

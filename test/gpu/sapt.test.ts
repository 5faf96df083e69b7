// SAPT's attentive-selection kernels (shaders/sapt.wgsl) against the f64 reference (src/ref/sapt.ts) on odd shapes, on real WebGPU.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BufferRef, Gpu } from '../../src/gpu/context.ts';
import {
  recordMaskedPool, recordSiluLayerNormBackward, recordSiluLayerNormForward, recordSoftmaxRows, recordSoftmaxRowsBackward,
} from '../../src/gpu/kernels/sapt.ts';
import * as ref from '../../src/ref/sapt.ts';
import { assertClose } from '../helpers/assert.ts';
import { randomArray, randomInts } from '../helpers/random.ts';
import { assertReductionPath, kernelHarness, REDUCTION_PATHS, releaseTestGpu, testGpu, withReductionPath } from '../helpers/gpu.ts';

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
  assert.ok(gpu.adapter.vendor !== undefined, 'a WebGPU adapter is required');
});
after(releaseTestGpu);

// Buffers are padded to 16 bytes; tests bind and read back exact-size views.
const { up, run } = kernelHarness(() => gpu);
/** An output buffer filled with garbage, to check that a kernel overwrites it. */
const dirty = (n: number, seed: number): BufferRef => up(randomArray(n, seed, 100));

describe('SAPT selection kernels vs CPU reference', () => {
  for (const kind of ['max', 'mean'] as const) {
    for (const [batch, seq, cols] of [[4, 7, 33], [3, 12, 70]] as const) {
      it(`masked ${kind} pool batch=${batch} seq=${seq} cols=${cols} with a fully masked-out example`, async () => {
        const x = randomArray(batch * seq * cols, batch + seq, 2);
        // Example 0 lies entirely below zero, so a max that starts from 0 would be caught.
        for (let i = 0; i < seq * cols; i++) x[i] -= 3;
        const mask = Uint32Array.from(randomInts(batch * seq, 2, 5 + cols), (v) => v);
        mask[0] = 1;                                  // example 0 has at least one position
        mask.fill(0, seq, 2 * seq);                   // example 1 has none: its output is 0
        mask.fill(1, (batch - 1) * seq, batch * seq); // the last example keeps every position
        mask[(batch - 1) * seq + 3] = 7;              // any non-zero value counts
        const out = dirty(batch * cols, 1);
        await run((plan) => recordMaskedPool(gpu, plan, kind, { batch, seq, cols }, { x: up(x), mask: up(mask), out }));
        const expected = (kind === 'max' ? ref.maskedMaxPool : ref.maskedMeanPool)(x, mask, { batch, seq, cols });
        // A max picks one of its inputs: exact. A mean of at most 12 values in f32 vs f64: a few ulps.
        assertClose(await gpu.readF32(out), expected, kind === 'max' ? { rtol: 0, atol: 0 } : { rtol: 1e-6, atol: 1e-6 }, 'pooled');
      });
    }
  }

  // Both reduction paths (subgroups, tree); columns neither multiples of the 256-wide workgroup nor of a subgroup size.
  for (const path of REDUCTION_PATHS) for (const cols of [33, 577]) {
    it(`silu-layernorm forward and backward rows=5 cols=${cols}, ${path} reductions`, () => withReductionPath(gpu, path, async () => {
      const s = { rows: 5, cols, eps: 1e-5 };
      const n = s.rows * cols;
      const h = randomArray(n, cols, 3), gamma = randomArray(cols, cols + 1), beta = randomArray(cols, cols + 2), dy = randomArray(n, cols + 3);
      const bh = up(h), bg = up(gamma), bdy = up(dy);
      const y = dirty(n, 2), mean = dirty(s.rows, 3), rstd = dirty(s.rows, 4), dh = dirty(n, 5), dgamma = dirty(cols, 6), dbeta = dirty(cols, 7);
      const plan = await run((plan) => {
        recordSiluLayerNormForward(gpu, plan, s, { h: bh, gamma: bg, beta: up(beta), y, mean, rstd });
        recordSiluLayerNormBackward(gpu, plan, s, { h: bh, gamma: bg, mean, rstd, dy: bdy, dh, dgamma, dbeta });
      });
      assert.equal(plan.dispatchCount, 3, 'forward 1 + backward 2 dispatches');
      assertReductionPath(plan, path);
      const f = ref.siluLayerNormForward(h, gamma, beta, s);
      const b = ref.siluLayerNormBackward(h, gamma, f.mean, f.rstd, dy, s);
      // Row reductions over up to 577 terms in f32, normalised values O(1): rtol 1e-5, atol 2e-5.
      // dgamma and dbeta sum 5 rows of O(1) terms: the same tolerance.
      const tol = { rtol: 1e-5, atol: 2e-5 };
      assertClose(await gpu.readF32(y), f.y, tol, 'y');
      assertClose(await gpu.readF32(mean), f.mean, tol, 'mean');
      assertClose(await gpu.readF32(rstd), f.rstd, tol, 'rstd');
      assertClose(await gpu.readF32(dh), b.dh, tol, 'dh');
      assertClose(await gpu.readF32(dgamma), b.dgamma, tol, 'dgamma');
      assertClose(await gpu.readF32(dbeta), b.dbeta, tol, 'dbeta');
    }));
  }

  // Both reduction paths; rows narrower than SwiftShader's 4-lane subgroups (1, 3), and 17 and 67
  // columns against a 64-wide workgroup.
  for (const path of REDUCTION_PATHS) for (const cols of [1, 3, 17, 67]) {
    it(`softmax rows=5 cols=${cols}: forward, backward with and without dy, target and klLoss, ${path} reductions`, () => withReductionPath(gpu, path, async () => {
      const s = { rows: 5, cols, klScale: 0.5 };
      const n = s.rows * cols;
      const x = randomArray(n, 30 + cols, 4), dy = randomArray(n, 31 + cols);
      // Target rows sum to 1; the last slot of even rows is zero-padded (a block newer than the target).
      const target = new Float32Array(n);
      const raw = randomArray(n, 32 + cols);
      for (let r = 0; r < s.rows; r++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) {
          const v = cols > 1 && r % 2 === 0 && c === cols - 1 ? 0 : Math.abs(raw[r * cols + c]) + 0.05;
          target[r * cols + c] = v;
          sum += v;
        }
        for (let c = 0; c < cols; c++) target[r * cols + c] /= sum;
      }
      const y = dirty(n, 8), bdy = up(dy), bt = up(target);
      const dxBoth = dirty(n, 9), dxKl = dirty(n, 10), dxDy = dirty(n, 11), dxNoKl = dirty(n, 12), kl = dirty(s.rows, 13), kl2 = dirty(s.rows, 14);
      const plan = await run((plan) => {
        recordSoftmaxRows(gpu, plan, s, { x: up(x), y });
        recordSoftmaxRowsBackward(gpu, plan, s, { y, dy: bdy, target: bt, dx: dxBoth, klLoss: kl });
        recordSoftmaxRowsBackward(gpu, plan, s, { y, target: bt, dx: dxKl, klLoss: kl2 });
        recordSoftmaxRowsBackward(gpu, plan, s, { y, dy: bdy, dx: dxDy });
        recordSoftmaxRowsBackward(gpu, plan, s, { y, dy: bdy, target: bt, dx: dxNoKl });
      });
      assertReductionPath(plan, path);
      // The f32 y feeds the reference backward, so the backward comparison isolates the kernel;
      // sums over at most 67 O(1) terms and one f32 log per term: rtol 1e-5, atol 1e-6.
      const tol = { rtol: 1e-5, atol: 1e-6 };
      const yRef = ref.softmaxRows(x, s);
      const yGpu = await gpu.readF32(y);
      assertClose(yGpu, yRef, tol, 'y');
      const both = ref.softmaxRowsBackward(yGpu, dy, target, s);
      const klOnly = ref.softmaxRowsBackward(yGpu, null, target, s);
      const dyOnly = ref.softmaxRowsBackward(yGpu, dy, null, s);
      assertClose(await gpu.readF32(dxBoth), both.dx, tol, 'dx (dy + KL)');
      assertClose(await gpu.readF32(kl), both.klLoss, tol, 'klLoss');
      assertClose(await gpu.readF32(dxKl), klOnly.dx, tol, 'dx (KL only, dy omitted)');
      assertClose(await gpu.readF32(kl2), klOnly.klLoss, tol, 'klLoss (dy omitted)');
      assertClose(await gpu.readF32(dxDy), dyOnly.dx, tol, 'dx (dy only)');
      assertClose(await gpu.readF32(dxNoKl), both.dx, tol, 'dx (target without klLoss)');
    }));
  }
});

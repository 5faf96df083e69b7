// The continual-learning WGSL kernels (EWC, Fisher, sign/|.|-sum, O-LoRA's L2 term, LwF distillation, O-LoRA's gradient from matmuls) against their f64 references, on real WebGPU.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Gpu } from '../../src/gpu/context.ts';
import { StepParams } from '../../src/gpu/step-params.ts';
import { recordMatmul } from '../../src/gpu/kernels/matmul.ts';
import { recordEwcGrad, recordFisherAccumulate, recordL2NormGrad, recordSign } from '../../src/gpu/kernels/regularizers.ts';
import { recordDistill } from '../../src/gpu/kernels/distill.ts';
import * as reg from '../../src/ref/regularizers.ts';
import { assertClose } from '../helpers/assert.ts';
import { randomArray, randomInts } from '../helpers/random.ts';
import { assertReductionPath, kernelHarness, REDUCTION_PATHS, releaseTestGpu, testGpu, withReductionPath } from '../helpers/gpu.ts';

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
  assert.ok(gpu.adapter.vendor !== undefined, 'a WebGPU adapter is required');
});
after(releaseTestGpu);

const { up, zeros, run } = kernelHarness(() => gpu);
const stepWith = (invCount: number): StepParams => {
  const step = new StepParams(gpu);
  step.write({ invCount, lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, maxGradNorm: 0, seed: 0 });
  return step;
};

describe('continual-learning kernels vs CPU reference', () => {
  it('EWC gradient accumulates lambda * F * (theta - theta*) into grads', async () => {
    // 70001 elements exceed one 64-wide grid row at the tail; one fma per element: rtol 1e-6, atol 1e-7.
    const n = 70001, lambda = 0.37;
    const theta = randomArray(n, 1), anchor = randomArray(n, 2), fisher = randomArray(n, 3).map(Math.abs), g0 = randomArray(n, 4);
    const grads = up(g0);
    await run((plan) => recordEwcGrad(gpu, plan, n, lambda, { params: up(theta), anchor: up(anchor), fisher: up(fisher), grads }));
    const { grad } = reg.ewcPenalty(theta, anchor, fisher, lambda);
    assertClose(await gpu.readF32(grads), grad.map((v, i) => v + g0[i]), { rtol: 1e-6, atol: 1e-7 }, 'ewc grads');
  });

  it('O-LoRA L2 gradient: lambda θ/||θ|| per segment, odd sizes, an all-zero segment untouched', async () => {
    // Segments of 1, 255, 257 and 39001 elements (past one 256-wide pass), one all zeros; a sum of
    // squares then one fma per element: rtol 1e-5, atol 1e-7.
    const n = 41000, lambda = 0.45;
    const theta = randomArray(n, 21);
    theta.fill(0, 600, 700);
    const segments: [number, number][] = [[3, 1], [10, 255], [300, 257], [600, 100], [1000, 39001]];
    const g0 = randomArray(n, 22);
    const grads = up(g0);
    const segBuf = gpu.upload('test.segments', Uint32Array.from(segments.flat()));
    await run((plan) => recordL2NormGrad(gpu, plan, segments.length, lambda, { params: up(theta), grads, segments: segBuf }));
    gpu.destroyBuffer(segBuf);
    const { grad } = reg.l2NormPenalty(theta, segments, lambda);
    assertClose(await gpu.readF32(grads), grad.map((v, i) => v + g0[i]), { rtol: 1e-5, atol: 1e-7 }, 'l2 grads');
  });

  it('Fisher accumulation adds weight * g^2, twice', async () => {
    const n = 1037, weight = 0.25;
    const f0 = randomArray(n, 5).map(Math.abs), g1 = randomArray(n, 6), g2 = randomArray(n, 7);
    const fisher = up(f0), b1 = up(g1), b2 = up(g2);
    await run((plan) => {
      recordFisherAccumulate(gpu, plan, n, weight, { grads: b1, fisher });
      recordFisherAccumulate(gpu, plan, n, weight, { grads: b2, fisher });
    });
    const expected = reg.fisherAccumulate(reg.fisherAccumulate(f0, g1, weight), g2, weight);
    // Two fmas on O(1) values: rtol 1e-6, atol 1e-7.
    assertClose(await gpu.readF32(fisher), expected, { rtol: 1e-6, atol: 1e-7 }, 'fisher');
  });

  it('sign (0 at 0) with the |x| sum accumulated, out of place and in place', async () => {
    const n = 613;
    const x = randomArray(n, 8);
    for (let i = 0; i < n; i += 7) x[i] = 0;
    x[1] = -0;
    const bx = up(x), out = zeros(n), absSum = up(new Float32Array([1.5])), inPlace = up(x), absSum2 = zeros(1), noSum = zeros(n);
    await run((plan) => {
      recordSign(gpu, plan, n, { x: bx, out, absSum });
      recordSign(gpu, plan, n, { x: inPlace, out: inPlace, absSum: absSum2 });
      recordSign(gpu, plan, n, { x: bx, out: noSum });
    });
    const sign = reg.signOf(x);
    const total = x.reduce((s, v) => s + Math.abs(v), 0);
    assertClose(await gpu.readF32(out), sign, { rtol: 0, atol: 0 }, 'sign');
    assertClose(await gpu.readF32(inPlace), sign, { rtol: 0, atol: 0 }, 'sign in place');
    assertClose(await gpu.readF32(noSum), sign, { rtol: 0, atol: 0 }, 'sign without sum');
    // A sum of 613 values of O(1) in f32: rtol 1e-5.
    assertClose(await gpu.readF32(absSum, 1), [1.5 + total], { rtol: 1e-5, atol: 0 }, 'absSum += sum |x|');
    assertClose(await gpu.readF32(absSum2, 1), [total], { rtol: 1e-5, atol: 0 }, 'absSum in place, taken before the signs');
  });

  it('O-LoRA gradient composed on the GPU: matmul, sign, matmul (transA, beta 1)', async () => {
    const [rOld, r, d] = [16, 8, 72];
    const lambda = 0.5;
    const aOld = randomArray(rOld * d, 9), aNew = randomArray(r * d, 10), dA0 = randomArray(r * d, 11, 0.1);
    const reference = reg.oLoraOrthLoss(aOld, aNew, rOld, r, d);
    // f32 products of d = 72 terms err by ~1e-5 at most: a sign flip needs |M| below that.
    const minAbs = Math.min(...Array.from(reference.product, Math.abs));
    assert.ok(minAbs > 1e-3, `product entry ${minAbs} is too close to 0 for a stable sign`);
    const bOld = up(aOld), bNew = up(aNew), M = zeros(rOld * r), S = zeros(rOld * r), loss = zeros(1), dA = up(dA0);
    await run((plan) => {
      recordMatmul(gpu, plan, { a: bOld, b: bNew, c: M, M: rOld, N: r, K: d, transB: true }, 'olora.product');
      recordSign(gpu, plan, rOld * r, { x: M, out: S, absSum: loss }, 'olora.sign');
      recordMatmul(gpu, plan, { a: S, b: bOld, c: dA, M: r, N: d, K: rOld, transA: true, alpha: lambda, beta: 1 }, 'olora.grad');
    });
    // Sums of <= 72 products of O(1) values in f32: rtol 1e-5, atol 1e-5.
    const tol = { rtol: 1e-5, atol: 1e-5 };
    assertClose(await gpu.readF32(M), reference.product, tol, 'Aold Anewᵀ');
    assertClose(await gpu.readF32(loss, 1), [reference.loss], tol, 'sum |Aold Anewᵀ|');
    assertClose(await gpu.readF32(dA), reference.dAnew.map((v, i) => dA0[i] + lambda * v), tol, 'dAnew += lambda signᵀ Aold');
  });

  // Both reduction paths (subgroups, tree); vocabularies narrower than a subgroup, and neither
  // multiples of the workgroup width nor of a subgroup size.
  const rows = 7;
  for (const path of REDUCTION_PATHS) for (const vocab of [1, 33, 1000]) {
    for (const temperature of [1, 2]) {
      for (const [weight, width] of [[1, 32], [0.5, 256]]) {
        it(`distillation rows=${rows} vocab=${vocab} T=${temperature} weight=${weight}, two ignored rows, ${width} invocations per row, ${path} reductions`, () => withReductionPath(gpu, path, async () => {
          const seed = vocab * 10 + temperature * 3 + weight * 7;
          const student = randomArray(rows * vocab, seed, 4);
          const teacher = randomArray(rows * vocab, seed + 1, 4);
          const targets = Int32Array.from(randomInts(rows, vocab, seed + 2));
          targets[2] = -100;
          targets[6] = -100;
          const invCount = 1 / 5;
          const step = stepWith(invCount);
          const bt = up(teacher), rowLoss = up(new Float32Array(rows).fill(7)), bt2 = up(teacher);
          const bs = up(student), btg = up(targets);
          const plan = await run((plan) => {
            recordDistill(gpu, plan, { rows, vocab, temperature, weight, width }, { step: step.buffer, student: bs, teacher: bt, targets: btg, rowLoss });
            recordDistill(gpu, plan, { rows, vocab, temperature, weight, width }, { step: step.buffer, student: bs, teacher: bt2, targets: btg }, 'distill.noloss');
          });
          assertReductionPath(plan, path);
          const r = reg.distillLoss(student, teacher, targets, rows, vocab, { temperature, weight, invCount });
          // Softmaxes over <= 1000 f32 terms of magnitude <= 4/T: probabilities to rtol ~1e-6; the gradient
          // w T (p_s - p_t)/5 is checked to rtol 1e-5 with atol 1e-7 for differences that cancel.
          // The KL sums <= 1000 mixed-sign terms p_t (log p_t - log p_s) of magnitude <= ~10 p_t: rtol 1e-5, atol 1e-6.
          assertClose(await gpu.readF32(bt), r.dStudent, { rtol: 1e-5, atol: 1e-7 }, 'teacher becomes dStudent');
          assertClose(await gpu.readF32(bt2), r.dStudent, { rtol: 1e-5, atol: 1e-7 }, 'dStudent without rowLoss');
          assertClose(await gpu.readF32(rowLoss), r.rowLoss, { rtol: 1e-5, atol: 1e-6 }, 'rowLoss');
          const got = await gpu.readF32(rowLoss);
          assert.equal(got[2], 0);
          assert.equal(got[6], 0);
        }));
      }
    }
  }

  for (const path of REDUCTION_PATHS) it(`distillation over a 151936-token vocabulary (Qwen2.5 size), ${path} reductions`, () => withReductionPath(gpu, path, async () => {
    const [rows, vocab] = [3, 151936];
    const student = randomArray(rows * vocab, 40, 8), teacher = randomArray(rows * vocab, 41, 8);
    // A peaked teacher: one logit far above the rest must not overflow the softmax.
    teacher[5] = 60;
    student[vocab + 17] = -50;
    const targets = new Int32Array([1, 0, -100]);
    const step = stepWith(1 / 2);
    const bt = up(teacher), rowLoss = zeros(rows);
    const plan = await run((plan) => recordDistill(gpu, plan, { rows, vocab, temperature: 2, weight: 1 },
      { step: step.buffer, student: up(student), teacher: bt, targets: up(targets), rowLoss }));
    assertReductionPath(plan, path);
    const r = reg.distillLoss(student, teacher, targets, rows, vocab, { temperature: 2, weight: 1, invCount: 1 / 2 });
    // Probabilities ~1/150k summed in f32 over 150k terms: rtol 1e-4 on the loss, atol 1e-9 on gradient entries of ~1e-5.
    assertClose(await gpu.readF32(rowLoss), r.rowLoss, { rtol: 1e-4, atol: 1e-6 }, 'rowLoss');
    assertClose(await gpu.readF32(bt), r.dStudent, { rtol: 1e-4, atol: 1e-9 }, 'dStudent');
  }));
});

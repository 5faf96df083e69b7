// The matmul kernels' variants against the f64 reference, on both kernels and on odd shapes: the LoRA update fused
// into the epilogue (shaders/matmul_epilogue.wgsl) for a projection with one block (with bias, ranks that are and
// are not multiples of 4) and for an input gradient (k-major, accumulating into C); and B read as a checkpoint's
// packed F16 or BF16 weights (shaders/matmul_b_formats.wgsl), all arithmetic in f32, in the projection layout (x Wᵀ)
// and the input-gradient layout (dy W). The mixture of several blocks is in lora-mix.test.ts; the whole engine
// against PyTorch in test/engine/oracle.test.ts.
// Tolerances: f32 sums of K + r products of O(1) values against f64: rtol 1e-5, atol 2e-5.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Gpu } from '../../src/gpu/context.ts';
import { recordMatmul, vec4Entry, type MatmulKernel } from '../../src/gpu/kernels/matmul.ts';
import { recordThinMatmul, type ThinSplit } from '../../src/gpu/kernels/matmul-thin.ts';
import { StepParams } from '../../src/gpu/step-params.ts';
import type { BufferRef } from '../../src/gpu/context.ts';
import { Plan } from '../../src/gpu/plan.ts';
import { packHalf, type HalfDtype } from '../../src/model/half.ts';
import { toFloat32 } from '../../src/model/safetensors.ts';
import * as ref from '../../src/ref/ops.ts';
import { assertClose } from '../helpers/assert.ts';
import { kernelHarness, releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { randomArray } from '../helpers/random.ts';

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
});
after(releaseTestGpu);

const { up, zeros, run } = kernelHarness(() => gpu);
const TOL = { rtol: 1e-5, atol: 2e-5 };

function addInto(target: Float64Array, extra: Float64Array): Float64Array {
  for (let i = 0; i < target.length; i++) target[i] += extra[i];
  return target;
}

describe('matmul with a fused LoRA update', () => {
  // [M, N, K, r]: tokens, output width, input width, rank. The vec4 kernel runs a shape when its contiguous dimensions
  // are multiples of 4 (the engine uses the tiled one otherwise): every shape for the projection, the last two for dx.
  const shapes: [number, number, number, number][] = [[7, 13, 8, 4], [37, 70, 64, 8], [66, 33, 20, 3], [5, 132, 12, 1], [8, 16, 12, 4], [9, 68, 36, 6]];
  for (const kernel of ['tiled', 'vec4'] as MatmulKernel[]) {
    for (const [M, N, K, r] of shapes) {
      it(`${kernel}: y = x Wᵀ + bias + scale · u Bᵀ, M=${M} N=${N} K=${K} r=${r}`, async () => {
        assert.ok(kernel === 'tiled' || vec4Entry(M, N, K, false, true) !== null);
        const seed = M + N + K + r;
        const x = randomArray(M * K, seed), w = randomArray(N * K, seed + 1), bias = randomArray(N, seed + 2);
        const u = randomArray(M * r, seed + 3), B = randomArray(N * r, seed + 4);
        const scale = 16 / r;
        const c = zeros(M * N);
        await run((plan) => recordMatmul(gpu, plan, {
          a: up(x), b: up(w), c, M, N, K, transB: true, bias: up(bias), kernel,
          lora: { layout: 'out-major', u: up(u), l: up(B), rank: r, blocks: 1, scale },
        }));
        const want = addInto(ref.matmul(x, w, M, N, K, { transB: true, bias }), ref.matmul(u, B, M, N, r, { transB: true, alpha: scale }));
        assertClose(await gpu.readF32(c), want, TOL, 'y');
      });

      // The input gradient of the same projection: dy [M, N] · W [N, K] plus du [M, r] · A [r, K], into a dx that holds a value.
      if (!(kernel === 'vec4' && vec4Entry(M, K, N, false, false) === null)) it(`${kernel}: dx += dy W + scale · du A (k-major, accumulating), M=${M} N=${K} K=${N} R=${r}`, async () => {
        const seed = 3 * M + N + K + r;
        const dy = randomArray(M * N, seed), w = randomArray(N * K, seed + 1), dx0 = randomArray(M * K, seed + 2);
        const du = randomArray(M * r, seed + 3), A = randomArray(r * K, seed + 4);
        const c = up(dx0);
        await run((plan) => recordMatmul(gpu, plan, {
          a: up(dy), b: up(w), c, M, N: K, K: N, beta: 1, kernel,
          lora: { layout: 'k-major', u: up(du), l: up(A), rank: r, blocks: 1, scale: 0.5 },
        }));
        const want = addInto(ref.matmul(dy, w, M, K, N, { beta: 1, c: dx0 }), ref.matmul(du, A, M, K, r, { alpha: 0.5 }));
        assertClose(await gpu.readF32(c), want, TOL, 'dx');
      });
    }
  }

  // The input gradient of a site with LoRA dropout: the update du · A passes back through the site's mask (a hash of
  // the element of dx, the step's seed and the salt), fused into the epilogue.
  for (const kernel of ['tiled', 'vec4'] as MatmulKernel[]) {
    for (const [M, N, K, r] of [[7, 13, 8, 4], [9, 68, 36, 6], [66, 20, 33, 3]] as [number, number, number, number][]) {
      if (kernel === 'vec4' && vec4Entry(M, K, N, false, false) === null) continue;
      it(`${kernel}: dx += dy W + scale · keep ⊙ (du A) (k-major with dropout), M=${M} N=${K} K=${N} R=${r}`, async () => {
        const seed = 5 * M + N + K + r, salt = 17, pDrop = 0.25, stepSeed = 987654;
        const step = new StepParams(gpu);
        step.write({ invCount: 1, lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, maxGradNorm: 0, seed: stepSeed });
        const dy = randomArray(M * N, seed), w = randomArray(N * K, seed + 1), dx0 = randomArray(M * K, seed + 2);
        const du = randomArray(M * r, seed + 3), A = randomArray(r * K, seed + 4);
        const c = up(dx0);
        await run((plan) => recordMatmul(gpu, plan, {
          a: up(dy), b: up(w), c, M, N: K, K: N, beta: 1, kernel,
          lora: { layout: 'k-major', u: up(du), l: up(A), rank: r, blocks: 1, scale: 0.5, dropout: { pDrop, salt, step: step.buffer } },
        }));
        const keep = ref.dropoutScale(M * K, pDrop, stepSeed, salt);
        const lora = ref.matmul(du, A, M, K, r, { alpha: 0.5 }).map((v, i) => v * keep[i]);
        assert.ok(keep.some((v) => v === 0), 'some elements are dropped');
        assertClose(await gpu.readF32(c), addInto(ref.matmul(dy, w, M, K, N, { beta: 1, c: dx0 }), lora), TOL, 'dx');
      });
    }
  }

  // A projection whose output joins the residual stream (o_proj, down_proj): R added last in the epilogue, after the
  // bias and the LoRA update, on both kernels and split-K; R + (the projection's output) rounds as the add pass did.
  for (const [kernel, splitK] of [['tiled', 1], ['vec4', 1], ['tiled', 3]] as [MatmulKernel, number][]) {
    for (const [M, N, K, r] of [[7, 13, 8, 4], [37, 70, 64, 8], [9, 68, 36, 6]] as [number, number, number, number][]) {
      it(`${kernel}${splitK > 1 ? ` in ${splitK} splits` : ''}: out = R + (x Wᵀ + bias + scale · u Bᵀ), M=${M} N=${N} K=${K} r=${r}`, async () => {
        const seed = 7 * M + N + K + r;
        const x = randomArray(M * K, seed), w = randomArray(N * K, seed + 1), bias = randomArray(N, seed + 2);
        const u = randomArray(M * r, seed + 3), B = randomArray(N * r, seed + 4), R = randomArray(M * N, seed + 5);
        const c = zeros(M * N);
        await run((plan) => recordMatmul(gpu, plan, {
          a: up(x), b: up(w), c, M, N, K, transB: true, bias: up(bias), kernel, splitK, residual: up(R),
          lora: { layout: 'out-major', u: up(u), l: up(B), rank: r, blocks: 1, scale: 2 },
        }));
        const want = addInto(addInto(ref.matmul(x, w, M, N, K, { transB: true, bias }), ref.matmul(u, B, M, N, r, { transB: true, alpha: 2 })), Float64Array.from(R));
        assertClose(await gpu.readF32(c), want, TOL, 'out');
      });
    }
  }

  it('refuses a k-major update with several blocks', () => {
    const b = gpu.dummy;
    assert.throws(() => recordMatmul(gpu, new Plan('reject'), { a: b, b, c: b, M: 4, N: 4, K: 4, lora: { layout: 'k-major', u: b, l: b, rank: 2, blocks: 2, scale: 1, mix: b, seq: 4 } }),
      /k-major LoRA update takes its blocks as rows/);
  });
});

describe('fused projections: output columns and K in segments (shaders/matmul_epilogue.wgsl)', () => {
  // A fused q/k/v-like projection: widths of three parts stacked into one B, written to blocks of one buffer at padded
  // offsets (gaps between them must stay untouched), with LoRA on parts 0 and 2 only. The reference runs each part as
  // its own projection. [M, K, widths, r]; the vec4 kernel needs K (and, for the input gradient, widths and N) in 4s.
  const cases: [number, number, number[], number][] = [[7, 9, [5, 3, 3], 3], [37, 24, [16, 8, 8], 4], [66, 36, [12, 20], 8]];
  const GAP = 6;
  for (const [kernel, splitK] of [['tiled', 1], ['vec4', 1], ['tiled', 2]] as [MatmulKernel, number][]) {
    for (const [M, K, widths, r] of cases) {
      const W = widths.reduce((a, b) => a + b, 0);
      const vec4ok = K % 4 === 0 && widths.every((w) => w % 4 === 0);
      if (kernel === 'vec4' && !vec4ok) continue;
      const name = `${kernel}${splitK > 1 ? ` in ${splitK} splits` : ''}`;
      it(`${name}: [y_i] = x [W_i]ᵀ + bias + scale · u_i B_iᵀ into separate blocks, M=${M} K=${K} widths=${widths} r=${r}`, async () => {
        const seed = 11 * M + K + W;
        const x = randomArray(M * K, seed), w = randomArray(W * K, seed + 1), bias = randomArray(W, seed + 2);
        const lora = widths.map((wd, i) => (i === 1 ? null : { u: randomArray(M * r, seed + 3 + i), B: randomArray(wd * r, seed + 6 + i) }));
        // Blocks at offsets with gaps of GAP floats (filled with a sentinel) between them; u and B likewise.
        const offsets: number[] = [];
        let at = GAP;
        for (const wd of widths) { offsets.push(at); at += M * wd + GAP; }
        const cInit = new Float32Array(at).fill(7);
        const uOff: number[] = [], lOff: number[] = [];
        const uAll = new Float32Array(widths.length * (M * r + GAP)), lAll = new Float32Array(widths.length * (W * r + GAP));
        widths.forEach((wd, i) => {
          uOff.push(i * (M * r + GAP) + 1);
          lOff.push(i * (W * r + GAP) + 3);
          if (lora[i]) { uAll.set(lora[i]!.u, uOff[i]); lAll.set(lora[i]!.B, lOff[i]); }
        });
        const c = up(cInit);
        await run((plan) => recordMatmul(gpu, plan, {
          a: up(x), b: up(w), c, M, N: W, K, transB: true, bias: up(bias), kernel, splitK,
          outSegments: widths.map((width, i) => ({ width, offset: offsets[i], ...(lora[i] ? { lora: { u: uOff[i], l: lOff[i] } } : {}) })),
          lora: { layout: 'out-major', u: up(uAll), l: up(lAll), rank: r, blocks: 1, scale: 2 },
        }));
        const got = await gpu.readF32(c);
        let n0 = 0;
        widths.forEach((wd, i) => {
          const wi = w.subarray(n0 * K, (n0 + wd) * K);
          let want = ref.matmul(x, wi, M, wd, K, { transB: true, bias: bias.subarray(n0, n0 + wd) });
          if (lora[i]) want = addInto(want, ref.matmul(lora[i]!.u, lora[i]!.B, M, wd, r, { transB: true, alpha: 2 }));
          assertClose(got.subarray(offsets[i], offsets[i] + M * wd), want, TOL, `part ${i}`);
          n0 += wd;
        });
        for (let i = 0; i < widths.length; i++) {
          const gapStart = i === 0 ? 0 : offsets[i - 1] + M * widths[i - 1];
          assert.ok(got.subarray(gapStart, gapStart + GAP).every((v) => v === 7), `the gap before part ${i} is untouched`);
        }
      });

      if (kernel === 'vec4' && !(vec4ok && K % 4 === 0)) continue;
      it(`${name}: dx = Σ dy_i W_i + Σ scale · keep_i ⊙ (du_i A_i) from separate blocks, M=${M} N=${K} widths=${widths} R=${r}`, async () => {
        const seed = 13 * M + K + W, stepSeed = 4242, pDrop = 0.2;
        const step = new StepParams(gpu);
        step.write({ invCount: 1, lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, maxGradNorm: 0, seed: stepSeed });
        const w = randomArray(W * K, seed + 1);
        const dys = widths.map((wd, i) => randomArray(M * wd, seed + 2 + i));
        const lora = widths.map((wd, i) => (i === 1 ? null : { du: randomArray(M * r, seed + 5 + i), A: randomArray(r * K, seed + 8 + i), salt: 30 + i }));
        const offsets: number[] = [];
        let at = 4;
        for (const wd of widths) { offsets.push(at); at += M * wd + 4 * ((wd % 3) + 1); }
        const aAll = new Float32Array(at);
        dys.forEach((d, i) => aAll.set(d, offsets[i]));
        const uAll = new Float32Array(widths.length * M * r), lAll = new Float32Array(widths.length * r * K);
        lora.forEach((lo, i) => { if (lo) { uAll.set(lo.du, i * M * r); lAll.set(lo.A, i * r * K); } });
        const c = zeros(M * K);
        await run((plan) => recordMatmul(gpu, plan, {
          a: up(aAll), b: up(w), c, M, N: K, K: W, kernel, splitK,
          kSegments: widths.map((width, i) => ({ width, offset: offsets[i], ...(lora[i] ? { lora: { u: i * M * r, l: i * r * K, salt: lora[i]!.salt } } : {}) })),
          lora: { layout: 'k-major', u: up(uAll), l: up(lAll), rank: r, blocks: 1, scale: 0.5, dropout: { pDrop, salt: 0, step: step.buffer } },
        }));
        const want = new Float64Array(M * K);
        let n0 = 0;
        widths.forEach((wd, i) => {
          addInto(want, ref.matmul(dys[i], w.subarray(n0 * K, (n0 + wd) * K), M, K, wd));
          const lo = lora[i];
          if (lo) {
            const keep = ref.dropoutScale(M * K, pDrop, stepSeed, lo.salt);
            addInto(want, ref.matmul(lo.du, lo.A, M, K, r, { alpha: 0.5 }).map((v, j) => v * keep[j]));
          }
          n0 += wd;
        });
        assertClose(await gpu.readF32(c), want, TOL, 'dx');
      });
    }
  }

  // Several LoRA blocks mixed per example (SAPT, ConPET, IncLoRA): each part's update is Σ_j scale · mix[m / seq, j]
  // Σ_i B_j[n, i] u[m, j r + i], with u [M, J r] and B [J, width, r] of its own.
  for (const kernel of ['tiled', 'vec4'] as MatmulKernel[]) {
    it(`${kernel}: parts with a mixture of 2 blocks each, M=12 K=8 widths=8,4 r=2 seq=4`, async () => {
      const [M, K, r, J, seq] = [12, 8, 2, 2, 4];
      const widths = [8, 4];
      const W = 12;
      const x = randomArray(M * K, 71), w = randomArray(W * K, 72), mix = randomArray((M / seq) * J, 73);
      const us = widths.map((_, i) => randomArray(M * J * r, 74 + i)), Bs = widths.map((wd, i) => randomArray(J * wd * r, 76 + i));
      const uAll = new Float32Array(2 * M * J * r + 5), lAll = new Float32Array(J * W * r + 7);
      uAll.set(us[0], 0); uAll.set(us[1], M * J * r + 5);
      lAll.set(Bs[0], 7); lAll.set(Bs[1], 7 + J * 8 * r);
      const offsets = [0, M * 8 + 3];
      const c = zeros(offsets[1] + M * 4);
      await run((plan) => recordMatmul(gpu, plan, {
        a: up(x), b: up(w), c, M, N: W, K, transB: true, kernel,
        outSegments: [{ width: 8, offset: offsets[0], lora: { u: 0, l: 7 } }, { width: 4, offset: offsets[1], lora: { u: M * J * r + 5, l: 7 + J * 8 * r } }],
        lora: { layout: 'out-major', u: up(uAll), l: up(lAll), rank: r, blocks: J, scale: 1.5, mix: up(mix), seq },
      }));
      const got = await gpu.readF32(c);
      let n0 = 0;
      widths.forEach((wd, p) => {
        const want = ref.matmul(x, w.subarray(n0 * K, (n0 + wd) * K), M, wd, K, { transB: true });
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < wd; n++) {
            let acc = 0;
            for (let j = 0; j < J; j++) for (let i = 0; i < r; i++) acc += 1.5 * mix[Math.floor(m / seq) * J + j] * Bs[p][(j * wd + n) * r + i] * us[p][m * J * r + j * r + i];
            want[m * wd + n] += acc;
          }
        }
        assertClose(got.subarray(offsets[p], offsets[p] + M * wd), want, TOL, `part ${p}`);
        n0 += wd;
      });
    });
  }

  it('refuses segments that do not cover the columns, and K segments with a transposed A', () => {
    const b = gpu.dummy;
    assert.throws(() => recordMatmul(gpu, new Plan('reject'), { a: b, b, c: b, M: 4, N: 8, K: 4, outSegments: [{ width: 4, offset: 0 }, { width: 3, offset: 64 }] }),
      /segments of 7 columns for N = 8/);
    assert.throws(() => recordMatmul(gpu, new Plan('reject'), { a: b, b, c: b, M: 4, N: 4, K: 8, transA: true, kSegments: [{ width: 4, offset: 0 }, { width: 4, offset: 64 }] }),
      /K segments need A stored \[M, K\]/);
  });
});

/** Random weights in a half format: the packed bits for the GPU and the exact values they widen to. */
function halfWeights(n: number, dtype: HalfDtype, seed: number): { packed: Uint32Array; values: Float32Array } {
  const bits = packHalf(randomArray(n, seed), dtype);
  const values = toFloat32({ file: 'w', name: 'w', dtype, shape: [n], bytes: new Uint8Array(bits.buffer, 0, n * 2) });
  return { packed: new Uint32Array(bits.buffer), values };
}

describe('matmul with half-precision B', () => {
  // [M, N, K]: odd sizes for the tiled kernel; multiples of 4 where the vec4 kernel needs them.
  const shapes: [number, number, number][] = [[7, 13, 9], [37, 68, 64], [5, 130, 12]];
  for (const dtype of ['F16', 'BF16'] as const) {
    const bFormat = dtype === 'F16' ? 'f16' : 'bf16';
    for (const kernel of ['tiled', 'vec4'] as MatmulKernel[]) {
      for (const [M, N, K] of shapes) {
        // (The vec4 kernel runs only shapes whose contiguous dimensions are multiples of 4; the engine uses the tiled one otherwise.)
        if (!(kernel === 'vec4' && vec4Entry(M, N, K, false, true) === null)) it(`${dtype} ${kernel}: y = x Wᵀ + bias, with and without a LoRA update, M=${M} N=${N} K=${K}`, async () => {
          const x = randomArray(M * K, M + K), bias = randomArray(N, N);
          const w = halfWeights(N * K, dtype, M + N + K);
          const u = randomArray(M * 4, 5), B = randomArray(N * 4, 6);
          const plain = zeros(M * N), adapted = zeros(M * N);
          await run((plan) => {
            recordMatmul(gpu, plan, { a: up(x), b: up(w.packed), c: plain, M, N, K, transB: true, bias: up(bias), kernel, bFormat });
            recordMatmul(gpu, plan, { a: up(x), b: up(w.packed), c: adapted, M, N, K, transB: true, kernel, bFormat,
              lora: { layout: 'out-major', u: up(u), l: up(B), rank: 4, blocks: 1, scale: 2 } });
          });
          assertClose(await gpu.readF32(plain), ref.matmul(x, w.values, M, N, K, { transB: true, bias }), TOL, 'x Wᵀ + bias');
          const lora = ref.matmul(u, B, M, N, 4, { transB: true, alpha: 2 });
          assertClose(await gpu.readF32(adapted), ref.matmul(x, w.values, M, N, K, { transB: true }).map((v, i) => v + lora[i]), TOL, 'x Wᵀ + LoRA');
        });

        if (!(kernel === 'vec4' && vec4Entry(M, K, N, false, false) === null)) it(`${dtype} ${kernel}: dx += dy W, M=${M} N=${K} K=${N}`, async () => {
          const dy = randomArray(M * N, 2 * M + N), dx0 = randomArray(M * K, 3);
          const w = halfWeights(N * K, dtype, M * N + K);
          const c = up(dx0);
          await run((plan) => recordMatmul(gpu, plan, { a: up(dy), b: up(w.packed), c, M, N: K, K: N, beta: 1, kernel, bFormat }));
          assertClose(await gpu.readF32(c), ref.matmul(dy, w.values, M, K, N, { beta: 1, c: dx0 }), TOL, 'dy W + dx');
        });
      }
    }
  }
});

/** Several arrays in one buffer, each at a float offset that is not a multiple of 256 bytes (after `lead` floats and 5 between). */
function packed(arrays: Float32Array[], lead: number): { refs: BufferRef[]; buffer: GPUBuffer } {
  const offsets: number[] = [];
  let at = lead;
  for (const a of arrays) {
    offsets.push(at);
    at += a.length + 5;
  }
  const all = new Float32Array(at);
  arrays.forEach((a, i) => all.set(a, offsets[i]));
  const buffer = gpu.upload('packed', all);
  return { buffer, refs: arrays.map((a, i) => ({ buffer, offset: offsets[i] * 4, size: a.length * 4 })) };
}

/** The stored operand with LoRA dropout's mask applied (the reference of a load through drop()). */
function dropped(x: Float32Array, pDrop: number, seed: number, salt: number): Float64Array {
  const keep = ref.dropoutScale(x.length, pDrop, seed, salt);
  return Float64Array.from(x, (v, i) => v * keep[i]);
}

describe('thin matmul (LoRA factors: K split across a workgroup, groups, fused dropout)', () => {
  // The four products of a LoRA site with [tokens, in, out, r]: u = drop(x) Aᵀ, du = dy B, dB = dyᵀ u (accumulating), dA = duᵀ drop(x).
  // Odd sizes, a rank above 16 (two column tiles), and two groups at unaligned offsets of shared buffers.
  // Tolerances: f32 sums of K products of O(1) values in a different order than f64: rtol 1e-5, atol 3e-5.
  const THIN_TOL = { rtol: 1e-5, atol: 3e-5 };
  const P = 0.3, SEED = 1234567;
  const sites: [number, number, number, number][] = [[37, 29, 13, 5], [70, 12, 9, 19], [9, 40, 33, 1]];
  let step: StepParams;
  before(() => {
    step = new StepParams(gpu);
    step.write({ invCount: 1, lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, maxGradNorm: 0, seed: SEED });
  });
  for (const split of ['lanes', 'serial'] as ThinSplit[]) {
    for (const [T, inDim, outDim, r] of sites) {
      const salts = [3, 11];
      const seed = T + inDim + outDim + r;
      const xs = salts.map((_, g) => randomArray(T * inDim, seed + g));
      const As = salts.map((_, g) => randomArray(r * inDim, seed + 10 + g));
      it(`${split}: u = drop(x) Aᵀ for two groups, tokens=${T} in=${inDim} r=${r}`, async () => {
        const x = packed(xs, 3), A = packed(As, 7);
        const u = packed(salts.map(() => new Float32Array(T * r)), 1);
        await run((plan) => recordThinMatmul(gpu, plan, {
          groups: salts.map((salt, g) => ({ a: x.refs[g], b: A.refs[g], c: u.refs[g], salt })),
          M: T, N: r, K: inDim, transB: true, dropout: { pDrop: P, step: step.buffer, operand: 'a' }, split,
        }));
        for (const [g, salt] of salts.entries()) {
          assertClose(await gpu.readF32(u.refs[g]), ref.matmul(dropped(xs[g], P, SEED, salt), As[g], T, r, inDim, { transB: true }), THIN_TOL, `u[${g}]`);
        }
      });
      it(`${split}: du = s dy B, dB += s dyᵀ u, dA = duᵀ drop(x), tokens=${T} in=${inDim} out=${outDim} r=${r}`, async () => {
        const dy = randomArray(T * outDim, seed + 20), B = randomArray(outDim * r, seed + 21), u = randomArray(T * r, seed + 22);
        const dB0 = randomArray(outDim * r, seed + 23);
        const du = zeros(T * r), dB = up(dB0), dA = zeros(r * inDim);
        const salt = 5;
        await run((plan) => {
          recordThinMatmul(gpu, plan, { groups: [{ a: up(dy), b: up(B), c: du }], M: T, N: r, K: outDim, alpha: 0.5, split }, 'du');
          recordThinMatmul(gpu, plan, { groups: [{ a: up(dy), b: up(u), c: dB }], M: outDim, N: r, K: T, transA: true, alpha: 0.5, beta: 1, split }, 'dB');
          recordThinMatmul(gpu, plan, { groups: [{ a: du, b: up(xs[0]), c: dA, salt }], M: r, N: inDim, K: T, transA: true,
            dropout: { pDrop: P, step: step.buffer, operand: 'b' }, split }, 'dA');
        });
        const wantDu = ref.matmul(dy, B, T, r, outDim, { alpha: 0.5 });
        const gotDu = await gpu.readF32(du);
        assertClose(gotDu, wantDu, THIN_TOL, 'du');
        assertClose(await gpu.readF32(dB), ref.matmul(dy, u, outDim, r, T, { transA: true, alpha: 0.5, beta: 1, c: dB0 }), THIN_TOL, 'dB');
        assertClose(await gpu.readF32(dA), ref.matmul(gotDu, dropped(xs[0], P, SEED, salt), r, inDim, T, { transA: true }), THIN_TOL, 'dA');
      });
    }
  }

  it('gives identical results on every run (a fixed summation order)', async () => {
    const T = 300, inDim = 24, r = 8;
    const du = randomArray(T * r, 41), x = randomArray(T * inDim, 42);
    const outs = [zeros(r * inDim), zeros(r * inDim)];
    await run((plan) => {
      for (const c of outs) recordThinMatmul(gpu, plan, { groups: [{ a: up(du), b: up(x), c }], M: r, N: inDim, K: T, transA: true, split: 'lanes' });
    });
    assert.deepEqual(await gpu.readF32(outs[0]), await gpu.readF32(outs[1]));
  });

  it('refuses groups whose operands are in different buffers', () => {
    const a = up(new Float32Array(8)), b = up(new Float32Array(8));
    assert.throws(() => recordThinMatmul(gpu, new Plan('reject'), { groups: [{ a, b, c: a }, { a: b, b, c: a }], M: 2, N: 2, K: 2 }),
      /groups' A operands must share one buffer/);
  });
});

describe('split-K (the tiled kernel with K split across workgroups, then a fixed-order reduction)', () => {
  // [M, N, K, splits, layout]: odd sizes; K not a multiple of the splits or of the tile depth (16); a split count K
  // cannot fill (K = 40 gives at most 3 splits of 16).
  const cases: [number, number, number, number, 'nn' | 'tn' | 'nt'][] = [
    [37, 70, 1001, 3, 'nn'], [7, 13, 333, 7, 'tn'], [66, 33, 40, 8, 'nt'], [130, 9, 517, 5, 'tn'],
  ];
  for (const [M, N, K, splitK, layout] of cases) {
    const transA = layout === 'tn', transB = layout === 'nt';
    it(`${layout}: C = alpha op(A) op(B) + bias + beta C + LoRA, M=${M} N=${N} K=${K} in ${splitK} splits`, async () => {
      const seed = M + 2 * N + K;
      const a = randomArray(M * K, seed), b = randomArray(K * N, seed + 1), bias = randomArray(N, seed + 2), c0 = randomArray(M * N, seed + 3);
      const u = randomArray(M * 3, seed + 4), L = randomArray(N * 3, seed + 5);
      const c = up(c0);
      const plan = await run((p) => recordMatmul(gpu, p, {
        a: up(a), b: up(b), c, M, N, K, transA, transB, alpha: 0.5, beta: 1, bias: up(bias), kernel: 'tiled', splitK,
        lora: { layout: 'out-major', u: up(u), l: up(L), rank: 3, blocks: 1, scale: 2 },
      }, 'split'));
      assert.deepEqual(plan.ops.map((op) => op.kind === 'dispatch' ? `${op.label}:${op.z}` : op.kind), ['split:' + Math.ceil(K / (Math.ceil(Math.ceil(K / Math.min(splitK, Math.ceil(K / 16))) / 16) * 16)), 'split.splitk_reduce:1']);
      const want = addInto(ref.matmul(a, b, M, N, K, { transA, transB, alpha: 0.5, beta: 1, c: c0, bias }), ref.matmul(u, L, M, N, 3, { transB: true, alpha: 2 }));
      // f32 sums of up to 1001 products of O(1) values: rtol 1e-5, atol 1e-4.
      assertClose(await gpu.readF32(c), want, { rtol: 1e-5, atol: 1e-4 }, 'C');
    });
  }

  it('on a GPU, a thin product with a long K is split and a thin one with a short K takes 32x32 tiles; both match the reference', async () => {
    const software = gpu.adapter.isSoftware;
    (gpu.adapter as { isSoftware: boolean }).isSoftware = false;
    try {
      // The LM head's backward of one loss chunk (d hidden = d logits · W, K = vocabulary) and a k_proj-like projection.
      const [M, N, K] = [64, 72, 5000];
      const dl = randomArray(M * K, 61), w = randomArray(K * N, 62);
      const [M2, N2, K2] = [2048, 96, 256];
      const x = randomArray(M2 * K2, 63), wk = randomArray(N2 * K2, 64);
      const dh = zeros(M * N), kOut = zeros(M2 * N2);
      const plan = await run((p) => {
        recordMatmul(gpu, p, { a: up(dl), b: up(w), c: dh, M, N, K }, 'head.bwd');
        recordMatmul(gpu, p, { a: up(x), b: up(wk), c: kOut, M: M2, N: N2, K: K2, transB: true }, 'k_proj');
      });
      const dispatches = plan.ops.flatMap((op) => op.kind === 'dispatch' ? [{ label: op.label, wg: op.x * op.y * op.z, entry: op.pipeline.label }] : []);
      assert.deepEqual(dispatches.map((d) => d.label), ['head.bwd', 'head.bwd.splitk_reduce', 'k_proj']);
      assert.ok(dispatches[0].wg >= 132 && dispatches[2].wg >= 132, JSON.stringify(dispatches));
      assert.match(dispatches[2].entry, /matmul_nt/);
      assertClose(await gpu.readF32(dh), ref.matmul(dl, w, M, N, K), { rtol: 1e-5, atol: 2e-4 }, 'head.bwd');
      assertClose(await gpu.readF32(kOut), ref.matmul(x, wk, M2, N2, K2, { transB: true }), TOL, 'k_proj');
    } finally {
      (gpu.adapter as { isSoftware: boolean }).isSoftware = software;
    }
  });
});

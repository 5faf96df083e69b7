// Every WGSL kernel against its CPU reference (src/ref/ops.ts) on odd shapes, on real WebGPU.
// Tolerances: f32 kernels against f64 references; each test states its own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Gpu } from '../../src/gpu/context.ts';
import { Plan } from '../../src/gpu/plan.ts';
import { StepParams } from '../../src/gpu/step-params.ts';
import { recordMatmul, vec4Entry, type MatmulKernel } from '../../src/gpu/kernels/matmul.ts';
import { recordRmsNormBackward, recordRmsNormForward } from '../../src/gpu/kernels/rmsnorm.ts';
import { recordRope, ropeTables } from '../../src/gpu/kernels/rope.ts';
import { MAX_HEAD_DIM, recordAttentionBackward, recordAttentionForward, type AttentionKernel } from '../../src/gpu/kernels/flash-attention.ts';
import { recordAccumulate, recordAdd, recordScaleInPlace, recordSwigluBackward, recordSwigluForward } from '../../src/gpu/kernels/elementwise.ts';
import { recordEmbeddingBackward, recordEmbeddingForward } from '../../src/gpu/kernels/embedding.ts';
import { recordCrossEntropy } from '../../src/gpu/kernels/loss.ts';
import { recordAdamW } from '../../src/gpu/kernels/adamw.ts';
import * as ref from '../../src/ref/ops.ts';
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

describe('WGSL kernels vs CPU reference', () => {
  // Sums of K products of O(1) values in f32: error ~ K * 6e-8 relative to the magnitudes.
  const MM_TOL = { rtol: 1e-5, atol: 2e-5 };
  const shapes: [number, number, number][] = [[1, 1, 1], [7, 13, 5], [67, 33, 129], [130, 65, 17], [5, 200, 3]];
  for (const [M, N, K] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`matmul ${M}x${N}x${K} transA=${transA} transB=${transB}`, async () => {
          await checkMatmul(M, N, K, transA, transB, 'tiled');
        });
      }
    }
  }
  // The vec4 kernel where its multiple-of-4 conditions hold, with ragged edges in the free dimensions.
  const vec4Cases: [number, number, number, boolean, boolean][] = [
    [1, 1, 4, false, true], [7, 13, 20, false, true], [67, 33, 132, false, true], [130, 65, 16, false, true],
    [1, 4, 4, false, false], [7, 12, 20, false, false], [67, 36, 132, false, false], [130, 64, 16, false, false],
    [4, 4, 1, true, false], [8, 12, 5, true, false], [68, 36, 129, true, false], [132, 64, 17, true, false],
  ];
  for (const [M, N, K, transA, transB] of vec4Cases) {
    it(`matmul (vec4 kernel) ${M}x${N}x${K} transA=${transA} transB=${transB}`, async () => {
      assert.notEqual(vec4Entry(M, N, K, transA, transB), null);
      await checkMatmul(M, N, K, transA, transB, 'vec4');
    });
  }
  it('the vec4 matmul refuses a shape it cannot run', () => {
    assert.equal(vec4Entry(4, 4, 5, false, true), null);
    assert.equal(vec4Entry(4, 6, 4, false, false), null);
    assert.equal(vec4Entry(6, 4, 4, true, false), null);
    assert.equal(vec4Entry(4, 4, 4, true, true), null);
  });

  async function checkMatmul(M: number, N: number, K: number, transA: boolean, transB: boolean, kernel: MatmulKernel): Promise<void> {
    const a = randomArray(M * K, M + K);
    const b = randomArray(K * N, N + 7);
    const c0 = randomArray(M * N, 3);
    const bias = randomArray(N, 4);
    const bufA = up(a), bufB = up(b), bufC = up(c0), bufBias = up(bias);
    const bufC2 = zeros(M * N);
    await run((plan) => {
      recordMatmul(gpu, plan, { a: bufA, b: bufB, c: bufC, M, N, K, transA, transB, alpha: 0.5, beta: 1, bias: bufBias, kernel });
      recordMatmul(gpu, plan, { a: bufA, b: bufB, c: bufC2, M, N, K, transA, transB, kernel });
    });
    assertClose(await gpu.readF32(bufC, M * N), ref.matmul(a, b, M, N, K, { transA, transB, alpha: 0.5, beta: 1, c: c0, bias }), MM_TOL, 'C accumulate+bias');
    assertClose(await gpu.readF32(bufC2, M * N), ref.matmul(a, b, M, N, K, { transA, transB }), MM_TOL, 'C plain');
  }

  it('matmul reads operands at 256-byte aligned offsets of a larger buffer', async () => {
    const [M, N, K] = [9, 11, 6];
    const aOff = 64, bOff = 128; // floats: 256 and 512 bytes
    const pool = randomArray(bOff + K * N, 5);
    const buf = gpu.upload('pool', pool);
    const out = zeros(M * N);
    await run((plan) => recordMatmul(gpu, plan, {
      a: { buffer: buf, offset: aOff * 4, size: M * K * 4 },
      b: { buffer: buf, offset: bOff * 4, size: K * N * 4 },
      c: out, M, N, K,
    }));
    const expected = ref.matmul(pool.subarray(aOff, aOff + M * K), pool.subarray(bOff, bOff + K * N), M, N, K);
    assertClose(await gpu.readF32(out), expected, MM_TOL, 'offset views');
  });

  // One reduction over cols values: rtol 1e-5. Both reduction paths (subgroups, tree) on columns that
  // are not multiples of the 64-wide workgroup or of a subgroup size, fewer columns than invocations,
  // and 65541 rows, which exceed one grid dimension and exercise the flattened (x, y) workgroup grid.
  for (const path of REDUCTION_PATHS) {
    it(`rmsnorm forward and backward (accumulating and not), ${path} reductions`, () => withReductionPath(gpu, path, async () => {
      for (const [rows, cols] of [[5, 37], [3, 130], [7, 577], [65541, 2]] as const) {
        const x = randomArray(rows * cols, 6, 2);
        const w = randomArray(cols, 7);
        const dy = randomArray(rows * cols, 8);
        const dx0 = randomArray(rows * cols, 9);
        const bx = up(x), bw = up(w), bdy = up(dy), by = zeros(rows * cols), brstd = zeros(rows), bdx = up(dx0), bdx2 = zeros(rows * cols);
        const s = { rows, cols, eps: 1e-5 };
        const plan = await run((plan) => {
          recordRmsNormForward(gpu, plan, s, { x: bx, w: bw, y: by, rstd: brstd });
          recordRmsNormBackward(gpu, plan, s, { x: bx, w: bw, rstd: brstd, dy: bdy, dx: bdx, accumulate: true });
          recordRmsNormBackward(gpu, plan, s, { x: bx, w: bw, rstd: brstd, dy: bdy, dx: bdx2, accumulate: false });
        });
        assertReductionPath(plan, path);
        const r = ref.rmsnormForward(x, w, rows, cols, 1e-5);
        const dx = ref.rmsnormBackward(x, w, r.rstd, dy, rows, cols);
        const tol = { rtol: 1e-5, atol: 1e-5 };
        assertClose(await gpu.readF32(by, rows * cols), r.y, tol, `y ${rows}x${cols}`);
        assertClose(await gpu.readF32(brstd, rows), r.rstd, tol, `rstd ${rows}x${cols}`);
        assertClose(await gpu.readF32(bdx2, rows * cols), dx, tol, `dx ${rows}x${cols}`);
        assertClose(await gpu.readF32(bdx, rows * cols), dx.map((v, i) => v + dx0[i]), tol, `dx accumulate ${rows}x${cols}`);
      }
    }));
  }

  // Gemma's (1 + w) norm, and per-head q/k norms: rows of head_dim columns. rtol 1e-5, atol 1e-5 as above.
  it('rmsnorm with the (1 + w) weight offset, on per-head rows', async () => {
    for (const [rows, cols] of [[5 * 3, 8], [7, 37], [3, 130]] as const) {
      const x = randomArray(rows * cols, 50, 2), w = randomArray(cols, 51, 0.3), dy = randomArray(rows * cols, 52);
      const bx = up(x), bw = up(w), bdy = up(dy), by = zeros(rows * cols), brstd = zeros(rows), bdx = zeros(rows * cols);
      const s = { rows, cols, eps: 1e-6, wOffset: 1 };
      await run((plan) => {
        recordRmsNormForward(gpu, plan, s, { x: bx, w: bw, y: by, rstd: brstd });
        recordRmsNormBackward(gpu, plan, s, { x: bx, w: bw, rstd: brstd, dy: bdy, dx: bdx, accumulate: false });
      });
      const r = ref.rmsnormForward(x, w, rows, cols, 1e-6, 1);
      const tol = { rtol: 1e-5, atol: 1e-5 };
      assertClose(await gpu.readF32(by, rows * cols), r.y, tol, `y ${rows}x${cols}`);
      assertClose(await gpu.readF32(bdx, rows * cols), ref.rmsnormBackward(x, w, r.rstd, dy, rows, cols, 1), tol, `dx ${rows}x${cols}`);
    }
  });

  it('rope forward and backward (odd head count, positions from a buffer)', async () => {
    const [tokens, heads, D] = [7, 3, 10];
    const inv = Float64Array.from({ length: D / 2 }, (_, i) => 1 / Math.pow(10000, (2 * i) / D));
    const positions = new Uint32Array([0, 1, 2, 3, 0, 1, 40]);
    const t = ropeTables(inv, 41);
    const tables = { cos: up(t.cos), sin: up(t.sin) };
    const x = randomArray(tokens * heads * D, 10);
    const bx = up(x), bx2 = up(x), bpos = up(positions);
    await run((plan) => {
      recordRope(gpu, plan, 'forward', { tokens, heads, headDim: D }, { x: bx, positions: bpos, tables });
      recordRope(gpu, plan, 'backward', { tokens, heads, headDim: D }, { x: bx2, positions: bpos, tables });
    });
    // One rotation with f32 tables: rtol 1e-6, atol 1e-6.
    const tol = { rtol: 1e-6, atol: 1e-6 };
    assertClose(await gpu.readF32(bx), ref.ropeForward(x, positions, inv, tokens, heads, D), tol, 'rope forward');
    assertClose(await gpu.readF32(bx2), ref.ropeBackward(x, positions, inv, tokens, heads, D), tol, 'rope backward');
  });

  // Fused attention: T past every block size (1, 7, 37, 70 against 16-row tiles and 32/64-row
  // workgroups), GQA (4 heads / 2 kv), MQA (3 / 1), plain multi-head (3 / 3), head dims 32 and 64,
  // the oracle fixtures' 8, odd ones, and ones past a 64-column chunk (130: three chunks with a
  // ragged vec4; 68: a 4-column second chunk; 256: the largest, four chunks). Head dims that are
  // multiples of 4 run the vec4-operand shader, the others the f32 one.
  const attentionCases: [number, number, number, number][] = [
    [4, 2, 1, 32], [4, 2, 7, 64], [3, 1, 37, 32], [4, 2, 70, 64], [3, 3, 9, 8], [3, 1, 70, 5], [6, 2, 13, 7],
    [4, 2, 37, 130], [3, 1, 20, 68], [2, 1, 7, 256],
  ];
  for (const kernel of ['staged', 'direct'] as const) {
    for (const [heads, kvHeads, seq, headDim] of attentionCases) {
      it(`attention forward and backward (${kernel}) heads=${heads} kv=${kvHeads} seq=${seq} D=${headDim}`, async () => {
        await checkAttention({ batch: 2, seq, heads, kvHeads, headDim }, kernel);
      });
    }
  }

  // Sliding windows (query i sees keys i - W < j <= i) with a scale other than 1/sqrt(D): windows smaller than a
  // 16-key tile and larger, sequences long enough that later 32/64-row blocks skip whole key tiles before their
  // window (seq 100, W 9: the block at row 64 starts at key tile 48) and that the dk/dv pass stops early; a window as
  // long as the sequence equals full attention. Head dims the suite already compiles (8, 32, 5).
  const windowCases: [number, number, number, number, number][] = [
    [4, 2, 100, 8, 9], [3, 1, 70, 32, 16], [2, 2, 37, 5, 3], [4, 2, 7, 8, 4], [2, 1, 20, 8, 1], [3, 1, 9, 8, 9],
  ];
  for (const kernel of ['staged', 'direct'] as const) {
    for (const [heads, kvHeads, seq, headDim, window] of windowCases) {
      it(`windowed attention forward and backward (${kernel}) heads=${heads} kv=${kvHeads} seq=${seq} D=${headDim} window=${window}`, async () => {
        await checkAttention({ batch: 2, seq, heads, kvHeads, headDim, window, scale: 0.3 }, kernel);
      });
    }
  }

  // The dk/dv pass split by query head (GPUs with few key blocks): per-head partials summed in head order.
  for (const kernel of ['staged', 'direct'] as const) {
    for (const [heads, kvHeads, seq, headDim] of [[4, 2, 37, 32], [3, 1, 70, 5], [6, 2, 13, 7], [4, 2, 37, 130], [3, 3, 9, 8]] as const) {
      it(`attention backward (${kernel}) with dk/dv split by query head, heads=${heads} kv=${kvHeads} seq=${seq} D=${headDim}`, async () => {
        await checkAttention({ batch: 2, seq, heads, kvHeads, headDim }, kernel, true);
      });
    }
    it(`windowed attention backward (${kernel}) with dk/dv split by query head, heads=4 kv=2 seq=100 D=8 window=9`, async () => {
      await checkAttention({ batch: 2, seq: 100, heads: 4, kvHeads: 2, headDim: 8, window: 9, scale: 0.3 }, kernel, true);
    });
  }

  async function checkAttention(s: ref.AttnShape, kernel: AttentionKernel, splitHeads = false): Promise<void> {
    const N = s.batch * s.seq;
    const q = randomArray(N * s.heads * s.headDim, 11, 1.5);
    const k = randomArray(N * s.kvHeads * s.headDim, 12, 1.5);
    const v = randomArray(N * s.kvHeads * s.headDim, 13);
    const dOut = randomArray(N * s.heads * s.headDim, 14);
    const bq = up(q), bk = up(k), bv = up(v), bdo = up(dOut);
    const rows = s.batch * s.heads * s.seq;
    const out = zeros(q.length), lse = zeros(rows), delta = zeros(rows), dq = zeros(q.length), dk = zeros(k.length), dv = zeros(v.length);
    const plan = await run((plan) => {
      recordAttentionForward(gpu, plan, s, { q: bq, k: bk, v: bv, out, lse }, 'attention', kernel);
      recordAttentionBackward(gpu, plan, s, { q: bq, k: bk, v: bv, out, lse, dOut: bdo, delta, dq, dk, dv }, 'attention.bwd', kernel, { splitHeads });
    });
    assert.equal(plan.dispatchCount, splitHeads ? 4 : 3);
    const f = ref.attentionForward(q, k, v, s);
    const g = ref.attentionBackward(q, k, v, f.probs, dOut, s);
    // Softmax of O(1) scores and sums over <= seq terms in f32, the backward recomputing the
    // probabilities from the f32 log-sum-exp: rtol 1e-5, atol 1e-5.
    const tol = { rtol: 1e-5, atol: 1e-5 };
    assertClose(await gpu.readF32(out), f.out, tol, 'out');
    assertClose(await gpu.readF32(lse), f.lse, tol, 'lse');
    const deltaRef = new Float64Array(rows);
    for (let b = 0; b < s.batch; b++) for (let h = 0; h < s.heads; h++) for (let i = 0; i < s.seq; i++) {
      const o = ((b * s.seq + i) * s.heads + h) * s.headDim;
      for (let d = 0; d < s.headDim; d++) deltaRef[(b * s.heads + h) * s.seq + i] += dOut[o + d] * f.out[o + d];
    }
    assertClose(await gpu.readF32(delta), deltaRef, tol, 'delta');
    assertClose(await gpu.readF32(dq), g.dq, tol, 'dq');
    assertClose(await gpu.readF32(dk), g.dk, tol, 'dk');
    assertClose(await gpu.readF32(dv), g.dv, tol, 'dv');
  }

  it('attention refuses head dims past its limit and heads that do not group', () => {
    const plan = new Plan('refused');
    const io = { q: gpu.dummy, k: gpu.dummy, v: gpu.dummy, out: gpu.dummy, lse: gpu.dummy };
    assert.throws(() => recordAttentionForward(gpu, plan, { batch: 1, seq: 4, heads: 2, kvHeads: 1, headDim: MAX_HEAD_DIM + 1 }, io), /head dim 257/);
    assert.throws(() => recordAttentionForward(gpu, plan, { batch: 1, seq: 4, heads: 3, kvHeads: 2, headDim: 8 }, io), /not a multiple/);
    assert.equal(plan.dispatchCount, 0);
  });

  it('swiglu forward and backward, residual add, accumulate', async () => {
    const n = 1001;
    const g = randomArray(n, 15, 4), u = randomArray(n, 16), d = randomArray(n, 17);
    const bg = up(g), bu = up(u), bd = up(d), act = zeros(n), dg = zeros(n), du = zeros(n), sum = zeros(n), acc = up(d);
    await run((plan) => {
      recordSwigluForward(gpu, plan, n, { gate: bg, up: bu, act });
      recordSwigluBackward(gpu, plan, n, { gate: bg, up: bu, dAct: bd, dGate: dg, dUp: du });
      recordAdd(gpu, plan, n, { a: bg, b: bu, out: sum });
      recordAccumulate(gpu, plan, n, { b: bg, dx: acc });
    });
    assertClose(await gpu.readF32(acc), d.map((x, i) => x + g[i]), { rtol: 1e-6, atol: 1e-7 }, 'accumulate');
    const tol = { rtol: 1e-5, atol: 1e-6 };
    assertClose(await gpu.readF32(act), ref.swigluForward(g, u), tol, 'act');
    const b = ref.swigluBackward(g, u, d);
    assertClose(await gpu.readF32(dg), b.dGate, tol, 'dGate');
    assertClose(await gpu.readF32(du), b.dUp, tol, 'dUp');
    assertClose(await gpu.readF32(sum), g.map((x, i) => x + u[i]), tol, 'add');
  });

  it('geglu (GELU-tanh gate) forward and backward, and the in-place scale', async () => {
    const n = 1001;
    // Gates up to about +-12: tanh saturates, where the exp-based tanh must give exactly +-1.
    const g = randomArray(n, 53, 4), u = randomArray(n, 54), d = randomArray(n, 55);
    const bg = up(g), bu = up(u), bd = up(d), act = zeros(n), dg = zeros(n), du = zeros(n), scaled = up(u);
    await run((plan) => {
      recordSwigluForward(gpu, plan, n, { gate: bg, up: bu, act }, 'geglu', 'gelu_tanh');
      recordSwigluBackward(gpu, plan, n, { gate: bg, up: bu, dAct: bd, dGate: dg, dUp: du }, 'geglu.bwd', 'gelu_tanh');
      recordScaleInPlace(gpu, plan, n, Math.sqrt(40), { dx: scaled });
    });
    const tol = { rtol: 1e-5, atol: 1e-6 };
    assertClose(await gpu.readF32(act), ref.gegluForward(g, u), tol, 'act');
    const b = ref.gegluBackward(g, u, d);
    assertClose(await gpu.readF32(dg), b.dGate, tol, 'dGate');
    assertClose(await gpu.readF32(du), b.dUp, tol, 'dUp');
    assertClose(await gpu.readF32(scaled), u.map((x) => x * Math.fround(Math.sqrt(40))), { rtol: 1e-7, atol: 0 }, 'scale');
  });

  it('embedding gather and scatter-add with repeated ids', async () => {
    const [vocab, cols] = [23, 37];
    const ids = new Uint32Array([3, 0, 22, 3, 3, 7, 22]);
    const table = randomArray(vocab * cols, 21);
    const dOut = randomArray(ids.length * cols, 22);
    const bt = up(table), bids = up(ids), out = zeros(ids.length * cols), bdo = up(dOut), dTable = zeros(vocab * cols);
    await run((plan) => {
      recordEmbeddingForward(gpu, plan, { tokens: ids.length, cols }, { ids: bids, table: bt, out });
      recordEmbeddingBackward(gpu, plan, { tokens: ids.length, cols }, { ids: bids, dOut: bdo, dTable });
    });
    assertClose(await gpu.readF32(out), ref.embeddingForward(ids, table, cols), { rtol: 0, atol: 0 }, 'gather');
    assertClose(await gpu.readF32(dTable), ref.embeddingBackward(ids, dOut, vocab, cols), { rtol: 1e-6, atol: 1e-7 }, 'scatter-add');
  });

  // 1003 logits per row: not a multiple of either width or of any subgroup size.
  for (const path of REDUCTION_PATHS) {
    for (const width of [32, 256]) {
      it(`cross-entropy loss, ignore index and in-place logit gradient (${width} invocations per row, ${path} reductions)`, () => withReductionPath(gpu, path, async () => {
        const [rows, vocab] = [9, 1003];
        const logits = randomArray(rows * vocab, 23, 5);
        const targets = Int32Array.from(randomInts(rows, vocab, 24));
        targets[0] = -100;
        targets[5] = -100;
        targets[3] = vocab - 1; // the last column: owned by invocation (vocab - 1) % width
        const counted = targets.filter((t) => t >= 0).length;
        const step = new StepParams(gpu);
        step.write({ invCount: 1 / counted, lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, maxGradNorm: 0, seed: 0 });
        const bl = up(logits), bt = up(targets), rowLoss = up(new Float32Array(rows).fill(7)), loss = zeros(1);
        const plan = await run((plan) => recordCrossEntropy(gpu, plan, { rows, vocab, writeGrad: true, width }, { step: step.buffer, logits: bl, targets: bt, rowLoss, loss }));
        assertReductionPath(plan, path);
        const r = ref.crossEntropy(logits, targets, rows, vocab);
        // log-sum-exp over 1003 terms in f32: rtol 1e-5.
        assertClose(await gpu.readF32(loss, 1), [r.loss], { rtol: 1e-5, atol: 1e-6 }, 'loss');
        assertClose(await gpu.readF32(rowLoss), r.rowLoss, { rtol: 1e-5, atol: 1e-6 }, 'row losses');
        assertClose(await gpu.readF32(bl), r.dLogits, { rtol: 1e-5, atol: 1e-8 }, 'dLogits');
      }));
    }
  }

  for (const path of REDUCTION_PATHS) for (const [maxGradNorm, width] of [[0, 32], [0.1, 256], [0.1, 32], [1e9, 256]]) {
    it(`AdamW with global-norm clipping (max_grad_norm=${maxGradNorm}, ${width}-wide norm reduction, ${path} reductions) over 3 steps, frozen elements masked, a group at 2.5× the rate`, () => withReductionPath(gpu, path, async () => {
      const n = 70001;
      const hp = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm };
      const p0 = randomArray(n, 25);
      // Elements [1000, 31000) are frozen: they keep their values and add nothing to the norm.
      // Elements [50000, 60000) train at 2.5 times the learning rate (decay included).
      const maskData = new Float32Array(n).fill(1).fill(0, 1000, 31000).fill(2.5, 50000, 60000);
      const step = new StepParams(gpu);
      const params = up(p0), grads = zeros(n), m = zeros(n), v = zeros(n), partials = zeros(256), clip = zeros(2), mask = up(maskData);
      const plan = new Plan('adamw');
      recordAdamW(gpu, plan, n, { step: step.buffer, params, grads, m, v, partials, clip, mask }, 'adamw', width);
      assertReductionPath(plan, path);
      const rp = Float64Array.from(p0), rm = new Float64Array(n), rv = new Float64Array(n);
      const trained = [...Array(n).keys()].filter((i) => maskData[i] !== 0);
      for (let t = 1; t <= 3; t++) {
        const g = randomArray(n, 100 + t, 0.01);
        gpu.write(grads, g);
        step.write({ ...hp, invCount: 1, step: t, seed: 0 });
        plan.submit(gpu.device);
        // Reference on the trained elements only.
        const sp = Float64Array.from(trained, (i) => rp[i]), sm = Float64Array.from(trained, (i) => rm[i]), sv = Float64Array.from(trained, (i) => rv[i]);
        const { norm } = ref.adamwStep(sp, trained.map((i) => g[i]), sm, sv, hp, t, trained.map((i) => maskData[i]));
        trained.forEach((i, j) => { rp[i] = sp[j]; rm[i] = sm[j]; rv[i] = sv[j]; });
        const c = await gpu.readF32(clip, 2);
        assertClose([c[0]], [norm], { rtol: 1e-5, atol: 0 }, `grad norm step ${t}`);
      }
      assertClose(await gpu.readF32(params, n), rp, { rtol: 1e-6, atol: 1e-6 }, 'params');
      assertClose(await gpu.readF32(m, n), rm, { rtol: 1e-5, atol: 1e-9 }, 'first moment');
      assertClose(await gpu.readF32(v, n), rv, { rtol: 1e-5, atol: 1e-12 }, 'second moment');
    }));
  }
});

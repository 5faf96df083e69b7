// The multi-block LoRA mix and SAPT selection reference backwards against central finite differences of their forwards, in f64.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ref from '../../src/ref/ops.ts';
import { loraMixBackward, loraMixForward, mixBatch } from '../../src/ref/lora-mix.ts';
import { maskedMaxPool, maskedMeanPool, siluLayerNormBackward, siluLayerNormForward, softmaxRows, softmaxRowsBackward } from '../../src/ref/sapt.ts';
import { assertClose } from '../helpers/assert.ts';
import { randomArray } from '../helpers/random.ts';
import { dot, f64, numericGrad } from '../helpers/finite-diff.ts';

// Central differences of L = Σ y·w in f64 with step 1e-5 are accurate to ~1e-9;
// tolerances: atol 1e-7, rtol 1e-6 (as test/ref/finite-diff.test.ts).
const TOL = { rtol: 1e-6, atol: 1e-7 };

describe('mix and selection reference backward vs finite differences', () => {
  // Two examples of three tokens, J = 3 blocks of rank 2, d_in 5, d_out 4.
  const s = { tokens: 6, seq: 3, blocks: 3, rank: 2, outDim: 4, scale: 1.7 };
  const inDim = 5;
  const jr = s.blocks * s.rank;
  const x = f64(randomArray(s.tokens * inDim, 1));
  const A = f64(randomArray(jr * inDim, 2));       // A_stack [J*r, d_in]
  const B = f64(randomArray(s.blocks * s.outDim * s.rank, 3));
  const mix = f64(randomArray(mixBatch(s) * s.blocks, 4));
  const w = f64(randomArray(s.tokens * s.outDim, 5));
  const u = ref.matmul(x, A, s.tokens, jr, inDim, { transB: true });
  const L = (u: Float64Array, B: Float64Array, mix: Float64Array) => dot(loraMixForward(u, B, mix, s), w);

  it('lora mix: du and dmix', () => {
    const g = loraMixBackward(u, B, mix, w, { ...s, active: -1 });
    assert.equal(g.duActive, null);
    assert.equal(g.uActive, null);
    assertClose(g.du, numericGrad(f64(u), (v) => L(v, B, mix)), TOL, 'du');
    assertClose(g.dmix, numericGrad(f64(mix), (v) => L(u, B, v)), TOL, 'dmix');
  });

  for (let active = 0; active < s.blocks; active++) {
    it(`lora mix: dB and dA of active block ${active} from uActive and duActive`, () => {
      const g = loraMixBackward(u, B, mix, w, { ...s, active });
      const { rank: r, outDim, tokens: N } = s;
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < r; i++) assert.equal(g.duActive![n * r + i], g.du[n * jr + active * r + i]);
      }
      // dB_active = dyᵀ · uActive, [outDim, r]
      const dB = ref.matmul(w, g.uActive!, outDim, r, N, { transA: true });
      const numB = numericGrad(f64(B), (v) => L(u, v, mix)).subarray(active * outDim * r, (active + 1) * outDim * r);
      assertClose(dB, numB, TOL, 'dB active');
      // dA_active = duActiveᵀ · x, [r, d_in], through u = x A_stackᵀ
      const dA = ref.matmul(g.duActive!, x, r, inDim, N, { transA: true });
      const LA = (a: Float64Array) => L(ref.matmul(x, a, N, jr, inDim, { transB: true }), B, mix);
      const numA = numericGrad(f64(A), LA).subarray(active * r * inDim, (active + 1) * r * inDim);
      assertClose(dA, numA, TOL, 'dA active');
    });
  }

  it('lora mix forward adds onto y0 and splits examples at seq', () => {
    const y0 = f64(randomArray(s.tokens * s.outDim, 6));
    const y = loraMixForward(u, B, mix, s, y0);
    const d = loraMixForward(u, B, mix, s);
    assertClose(y, d.map((v, i) => v + y0[i]), { rtol: 1e-15, atol: 1e-15 }, 'y0 + delta');
    // Token 3 is the first of example 1: only mix row 1 affects it.
    const mix2 = f64(mix);
    mix2[0] += 1;
    const y2 = loraMixForward(u, B, mix2, s);
    for (let o = 0; o < s.outDim; o++) assert.equal(y2[3 * s.outDim + o], d[3 * s.outDim + o]);
  });

  it('silu-layernorm: dh, dgamma, dbeta', () => {
    const n = { rows: 3, cols: 7, eps: 1e-5 };
    const h = f64(randomArray(n.rows * n.cols, 7, 3));
    const gamma = f64(randomArray(n.cols, 8));
    const beta = f64(randomArray(n.cols, 9));
    const R = f64(randomArray(n.rows * n.cols, 10));
    const { mean, rstd } = siluLayerNormForward(h, gamma, beta, n);
    const g = siluLayerNormBackward(h, gamma, mean, rstd, R, n);
    const Lf = (h: Float64Array, gamma: Float64Array, beta: Float64Array) => dot(siluLayerNormForward(h, gamma, beta, n).y, R);
    assertClose(g.dh, numericGrad(f64(h), (v) => Lf(v, gamma, beta)), TOL, 'dh');
    assertClose(g.dgamma, numericGrad(f64(gamma), (v) => Lf(h, v, beta)), TOL, 'dgamma');
    assertClose(g.dbeta, numericGrad(f64(beta), (v) => Lf(h, gamma, v)), TOL, 'dbeta');
  });

  // L = Σ w·softmax(x) + klScale Σ_rows KL(target || softmax(x)); the KL is computed here from
  // log-softmax, independently of the reference's log y.
  const sm = { rows: 4, cols: 5, klScale: 0.7 };
  const xs = f64(randomArray(sm.rows * sm.cols, 11, 2));
  const ws = f64(randomArray(sm.rows * sm.cols, 12));
  // Target rows sum to 1; the last slot of rows 0 and 2 is zero-padded (a block newer than the target).
  const target = new Float64Array(sm.rows * sm.cols);
  const raw = randomArray(sm.rows * sm.cols, 13);
  for (let r = 0; r < sm.rows; r++) {
    let sum = 0;
    for (let c = 0; c < sm.cols; c++) {
      const v = r % 2 === 0 && c === sm.cols - 1 ? 0 : Math.abs(raw[r * sm.cols + c]) + 0.1;
      target[r * sm.cols + c] = v;
      sum += v;
    }
    for (let c = 0; c < sm.cols; c++) target[r * sm.cols + c] /= sum;
  }
  const klRows = (x: Float64Array) => {
    const out = new Float64Array(sm.rows);
    for (let r = 0; r < sm.rows; r++) {
      let m = -Infinity;
      for (let c = 0; c < sm.cols; c++) m = Math.max(m, x[r * sm.cols + c]);
      let z = 0;
      for (let c = 0; c < sm.cols; c++) z += Math.exp(x[r * sm.cols + c] - m);
      const lse = m + Math.log(z);
      for (let c = 0; c < sm.cols; c++) {
        const t = target[r * sm.cols + c];
        if (t > 0) out[r] += t * (Math.log(t) - (x[r * sm.cols + c] - lse));
      }
    }
    return out;
  };
  const sumKl = (x: Float64Array) => klRows(x).reduce((a, b) => a + b, 0);

  it('softmax: dx with the KL term, and klLoss', () => {
    const y = softmaxRows(xs, sm);
    const g = softmaxRowsBackward(y, ws, target, sm);
    const Ls = (x: Float64Array) => dot(softmaxRows(x, sm), ws) + sm.klScale * sumKl(x);
    assertClose(g.dx, numericGrad(f64(xs), Ls), TOL, 'dx (dy + KL)');
    assertClose(g.klLoss, klRows(xs).map((v) => sm.klScale * v), { rtol: 1e-12, atol: 1e-14 }, 'klLoss');
  });

  it('softmax: dx without dy (KL only) and without target (dy only)', () => {
    const y = softmaxRows(xs, sm);
    const klOnly = softmaxRowsBackward(y, null, target, sm);
    assertClose(klOnly.dx, numericGrad(f64(xs), (x) => sm.klScale * sumKl(x)), TOL, 'dx (KL only)');
    const dyOnly = softmaxRowsBackward(y, ws, null, sm);
    assertClose(dyOnly.dx, numericGrad(f64(xs), (x) => dot(softmaxRows(x, sm), ws)), TOL, 'dx (dy only)');
    assertClose(dyOnly.klLoss, new Float64Array(sm.rows), { rtol: 0, atol: 0 }, 'klLoss without target');
  });

  // Masked pooling has no backward: it pools the frozen token embeddings, so nothing upstream of it
  // trains. Its forward is checked here on a hand-worked example.
  it('masked max and mean pool forward (no backward: embeddings are frozen)', () => {
    const x = [1, -2, 5, 0, -3, 7, /* example 1 */ -4, -1, -6, -8, 2, 9, /* example 2 */ 3, 3, 4, 4, 5, 5];
    const mask = [1, 0, 1, /* example 1 */ 1, 1, 0, /* example 2, no position */ 0, 0, 0];
    assertClose(maskedMaxPool(x, mask, { batch: 3, seq: 3, cols: 2 }), [1, 7, -4, -1, 0, 0], { rtol: 0, atol: 0 }, 'max pool');
    assertClose(maskedMeanPool(x, mask, { batch: 3, seq: 3, cols: 2 }), [-1, 2.5, -5, -4.5, 0, 0], { rtol: 0, atol: 0 }, 'mean pool');
  });
});

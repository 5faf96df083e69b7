// Every reference backward is checked against central finite differences of its forward, in f64.
import { describe, it } from 'node:test';
import * as ref from '../../src/ref/ops.ts';
import { assertClose } from '../helpers/assert.ts';
import { randomArray } from '../helpers/random.ts';
import { dot, f64, numericGrad } from '../helpers/finite-diff.ts';

// Central differences of L(x) = sum(f(x) * R) in f64 with step 1e-5 are accurate to ~1e-9;
// tolerances: atol 1e-7, rtol 1e-6.
const TOL = { rtol: 1e-6, atol: 1e-7 };

describe('reference backward vs finite differences', () => {
  it('matmul (all transposes, bias, beta)', () => {
    const [M, N, K] = [3, 5, 4];
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = f64(randomArray(M * K, 1));
        const b = f64(randomArray(K * N, 2));
        const R = f64(randomArray(M * N, 3));
        const alpha = 0.7;
        const f = (a: Float64Array, b: Float64Array) => dot(ref.matmul(a, b, M, N, K, { transA, transB, alpha }), R);
        // dA = alpha * R op(B)ᵀ (laid out as A), dB = alpha * op(A)ᵀ R (laid out as B)
        const dAop = ref.matmul(R, b, M, K, N, { transB: !transB, alpha });
        const dA = transA ? new Float64Array(K * M) : dAop;
        if (transA) for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) dA[k * M + m] = dAop[m * K + k];
        const dBop = ref.matmul(a, R, K, N, M, { transA: !transA, alpha });
        const dB = new Float64Array(K * N);
        for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) {
          if (transB) dB[n * K + k] = dBop[k * N + n];
          else dB[k * N + n] = dBop[k * N + n];
        }
        assertClose(dA, numericGrad(a, (x) => f(x, b)), TOL, `dA transA=${transA} transB=${transB}`);
        assertClose(dB, numericGrad(b, (x) => f(a, x)), TOL, `dB transA=${transA} transB=${transB}`);
      }
    }
  });

  it('rmsnorm', () => {
    const [rows, cols] = [3, 7];
    const x = f64(randomArray(rows * cols, 4));
    const w = f64(randomArray(cols, 5));
    const R = f64(randomArray(rows * cols, 6));
    const { rstd } = ref.rmsnormForward(x, w, rows, cols, 1e-5);
    const dx = ref.rmsnormBackward(x, w, rstd, R, rows, cols);
    assertClose(dx, numericGrad(x, (x) => dot(ref.rmsnormForward(x, w, rows, cols, 1e-5).y, R)), TOL, 'rmsnorm dx');
  });

  it('rmsnorm with the (1 + w) weight offset', () => {
    const [rows, cols] = [3, 7];
    const x = f64(randomArray(rows * cols, 40));
    const w = f64(randomArray(cols, 41, 0.3));
    const R = f64(randomArray(rows * cols, 42));
    const { rstd } = ref.rmsnormForward(x, w, rows, cols, 1e-6, 1);
    const dx = ref.rmsnormBackward(x, w, rstd, R, rows, cols, 1);
    assertClose(dx, numericGrad(x, (x) => dot(ref.rmsnormForward(x, w, rows, cols, 1e-6, 1).y, R)), TOL, 'rmsnorm (1 + w) dx');
  });

  it('rope', () => {
    const [tokens, heads, D] = [5, 3, 6];
    const x = f64(randomArray(tokens * heads * D, 7));
    const pos = [0, 1, 2, 7, 11];
    const inv = [1, 0.1, 0.01];
    const R = f64(randomArray(x.length, 8));
    const dx = ref.ropeBackward(R, pos, inv, tokens, heads, D);
    assertClose(dx, numericGrad(x, (x) => dot(ref.ropeForward(x, pos, inv, tokens, heads, D), R)), TOL, 'rope dx');
  });

  for (const [heads, kvHeads] of [[4, 2], [3, 1], [2, 2]]) {
    it(`attention heads=${heads} kvHeads=${kvHeads}`, () => {
      const s = { batch: 2, seq: 5, heads, kvHeads, headDim: 3 };
      const q = f64(randomArray(s.batch * s.seq * heads * s.headDim, 9));
      const k = f64(randomArray(s.batch * s.seq * kvHeads * s.headDim, 10));
      const v = f64(randomArray(s.batch * s.seq * kvHeads * s.headDim, 11));
      const R = f64(randomArray(q.length, 12));
      const { probs } = ref.attentionForward(q, k, v, s);
      const g = ref.attentionBackward(q, k, v, probs, R, s);
      const L = (q: Float64Array, k: Float64Array, v: Float64Array) => dot(ref.attentionForward(q, k, v, s).out, R);
      assertClose(g.dq, numericGrad(q, (x) => L(x, k, v)), TOL, 'dq');
      assertClose(g.dk, numericGrad(k, (x) => L(q, x, v)), TOL, 'dk');
      assertClose(g.dv, numericGrad(v, (x) => L(q, k, x)), TOL, 'dv');
    });
  }

  // Sliding windows of 1 (each query sees only itself), 2 and 4 keys over 7 positions, with a scale other than 1/sqrt(D).
  for (const window of [1, 2, 4]) {
    it(`attention with a sliding window of ${window} and scale 0.4`, () => {
      const s = { batch: 2, seq: 7, heads: 4, kvHeads: 2, headDim: 3, scale: 0.4, window };
      const q = f64(randomArray(s.batch * s.seq * s.heads * s.headDim, 43));
      const k = f64(randomArray(s.batch * s.seq * s.kvHeads * s.headDim, 44));
      const v = f64(randomArray(s.batch * s.seq * s.kvHeads * s.headDim, 45));
      const R = f64(randomArray(q.length, 46));
      const { probs } = ref.attentionForward(q, k, v, s);
      for (let i = 0; i < s.seq; i++) {
        for (let j = 0; j < s.seq; j++) {
          const p = probs[i * s.seq + j];
          if (j > i || j <= i - window) assertClose([p], [0], { rtol: 0, atol: 0 }, `P[${i}][${j}] is outside the window`);
        }
      }
      const g = ref.attentionBackward(q, k, v, probs, R, s);
      const L = (q: Float64Array, k: Float64Array, v: Float64Array) => dot(ref.attentionForward(q, k, v, s).out, R);
      assertClose(g.dq, numericGrad(q, (x) => L(x, k, v)), TOL, 'dq');
      assertClose(g.dk, numericGrad(k, (x) => L(q, x, v)), TOL, 'dk');
      assertClose(g.dv, numericGrad(v, (x) => L(q, k, x)), TOL, 'dv');
    });
  }

  it('geglu (GELU-tanh gate)', () => {
    const n = 13;
    const g = f64(randomArray(n, 47, 4));
    const u = f64(randomArray(n, 48));
    const R = f64(randomArray(n, 49));
    const { dGate, dUp } = ref.gegluBackward(g, u, R);
    assertClose(dGate, numericGrad(g, (x) => dot(ref.gegluForward(x, u), R)), TOL, 'dGate');
    assertClose(dUp, numericGrad(u, (x) => dot(ref.gegluForward(g, x), R)), TOL, 'dUp');
  });

  it('swiglu', () => {
    const n = 11;
    const g = f64(randomArray(n, 13, 3));
    const u = f64(randomArray(n, 14));
    const R = f64(randomArray(n, 15));
    const { dGate, dUp } = ref.swigluBackward(g, u, R);
    assertClose(dGate, numericGrad(g, (x) => dot(ref.swigluForward(x, u), R)), TOL, 'dGate');
    assertClose(dUp, numericGrad(u, (x) => dot(ref.swigluForward(g, x), R)), TOL, 'dUp');
  });

  it('embedding', () => {
    const [vocab, cols] = [6, 4];
    const ids = [1, 3, 1, 5, 0];
    const table = f64(randomArray(vocab * cols, 16));
    const R = f64(randomArray(ids.length * cols, 17));
    const d = ref.embeddingBackward(ids, R, vocab, cols);
    assertClose(d, numericGrad(table, (x) => dot(ref.embeddingForward(ids, x, cols), R)), TOL, 'dTable');
  });

  it('cross-entropy with ignored targets', () => {
    const [rows, vocab] = [4, 9];
    const logits = f64(randomArray(rows * vocab, 18, 3));
    const targets = [2, -100, 8, 0];
    const { dLogits } = ref.crossEntropy(logits, targets, rows, vocab);
    assertClose(dLogits, numericGrad(logits, (x) => ref.crossEntropy(x, targets, rows, vocab).loss), TOL, 'dLogits');
  });

  it('lora', () => {
    const [N, inDim, outDim, r, scale] = [4, 5, 3, 2, 1.5];
    const x = f64(randomArray(N * inDim, 19));
    const A = f64(randomArray(r * inDim, 20));
    const B = f64(randomArray(outDim * r, 21));
    const R = f64(randomArray(N * outDim, 22));
    const { u } = ref.loraForward(x, A, B, N, inDim, outDim, r, scale);
    const g = ref.loraBackward(x, A, B, u, R, N, inDim, outDim, r, scale);
    const L = (x: Float64Array, A: Float64Array, B: Float64Array) => dot(ref.loraForward(x, A, B, N, inDim, outDim, r, scale).y, R);
    assertClose(g.dA, numericGrad(A, (v) => L(x, v, B)), TOL, 'dA');
    assertClose(g.dB, numericGrad(B, (v) => L(x, A, v)), TOL, 'dB');
    assertClose(g.dx, numericGrad(x, (v) => L(v, A, B)), TOL, 'dx');
  });

  it('dropout mask is a deterministic function of (seed, salt) with the right keep rate', () => {
    const a = ref.dropoutScale(20000, 0.25, 7, 3);
    const b = ref.dropoutScale(20000, 0.25, 7, 3);
    const c = ref.dropoutScale(20000, 0.25, 8, 3);
    assertClose(a, b, { rtol: 0, atol: 0 }, 'same seed');
    let dropped = 0;
    let differs = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === 0) dropped++;
      if (a[i] !== c[i]) differs++;
    }
    const rate = dropped / a.length;
    if (Math.abs(rate - 0.25) > 0.02) throw new Error(`drop rate ${rate}, expected 0.25 +- 0.02`);
    if (differs < 1000) throw new Error(`masks of different seeds differ in only ${differs} places`);
  });
});

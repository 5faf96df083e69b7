// Plain-loop CPU reference of every engine op, forward and backward side by side. This file is the
// specification the WGSL kernels are tested against; it computes in f64 and favours clarity.

import { f16BitsToNumber, f32ToF16Bits } from '../model/half.ts';

export type Vec = ArrayLike<number>;

// ---------------------------------------------------------------------------------------------
// Matmul: C[M,N] = alpha * op(A) op(B) (+ bias[n]) (+ beta * C)

export function matmul(a: Vec, b: Vec, M: number, N: number, K: number,
  opts: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number; c?: Vec; bias?: Vec } = {}): Float64Array {
  const { transA = false, transB = false, alpha = 1, beta = 0 } = opts;
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const av = transA ? a[k * M + m] : a[m * K + k];
        const bv = transB ? b[n * K + k] : b[k * N + n];
        s += av * bv;
      }
      let v = alpha * s;
      if (opts.bias) v += opts.bias[n];
      if (beta !== 0 && opts.c) v += beta * opts.c[m * N + n];
      out[m * N + n] = v;
    }
  }
  return out;
}

/** x rounded to the nearest f16 value (ties to even), as a number; past f16's range it becomes ±Infinity. */
export function roundToF16(x: number): number {
  return f16BitsToNumber(f32ToF16Bits(x));
}

const F16_MAX = 65504;

/**
 * The f16-compute matmul's arithmetic (shaders/matmul_precision.wgsl, section f16): operands rounded to f16 (clamped
 * to its largest finite value), each product rounded to f16, the products summed in f32 in order of k; then
 * alpha, bias and beta * c in f32.
 */
export function matmulF16Products(a: Vec, b: Vec, M: number, N: number, K: number,
  opts: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number; c?: Vec; bias?: Vec } = {}): Float32Array {
  const { transA = false, transB = false, alpha = 1, beta = 0 } = opts;
  const h = (v: number) => roundToF16(Math.min(F16_MAX, Math.max(-F16_MAX, v)));
  const out = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const av = h(transA ? a[k * M + m] : a[m * K + k]);
        const bv = h(transB ? b[n * K + k] : b[k * N + n]);
        s = Math.fround(s + roundToF16(av * bv));
      }
      let v = Math.fround(alpha * s);
      if (opts.bias) v = Math.fround(v + opts.bias[n]);
      if (beta !== 0 && opts.c) v = Math.fround(v + Math.fround(beta * opts.c[m * N + n]));
      out[m * N + n] = v;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// RMSNorm: y = x * r * (w + wOffset), r = 1/sqrt(mean(x^2) + eps); wOffset 1 is Gemma's (1 + w)

export function rmsnormForward(x: Vec, w: Vec, rows: number, cols: number, eps: number, wOffset = 0): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(rows * cols);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[r * cols + c] ** 2;
    const inv = 1 / Math.sqrt(ss / cols + eps);
    rstd[r] = inv;
    for (let c = 0; c < cols; c++) y[r * cols + c] = x[r * cols + c] * inv * (w[c] + wOffset);
  }
  return { y, rstd };
}

export function rmsnormBackward(x: Vec, w: Vec, rstd: Vec, dy: Vec, rows: number, cols: number, wOffset = 0): Float64Array {
  const dx = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const inv = rstd[r];
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += dy[r * cols + c] * (w[c] + wOffset) * x[r * cols + c];
    const k = (dot * inv * inv) / cols;
    for (let c = 0; c < cols; c++) dx[r * cols + c] = inv * (dy[r * cols + c] * (w[c] + wOffset) - x[r * cols + c] * k);
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------
// RoPE (Hugging Face rotate-half) on x [tokens, heads * D]

function rope(x: Vec, positions: Vec, invFreq: Vec, tokens: number, heads: number, D: number, sign: number): Float64Array {
  const out = Float64Array.from(x);
  const half = D / 2;
  for (let n = 0; n < tokens; n++) {
    for (let h = 0; h < heads; h++) {
      const base = (n * heads + h) * D;
      for (let i = 0; i < half; i++) {
        const angle = positions[n] * invFreq[i];
        const c = Math.cos(angle);
        const s = sign * Math.sin(angle);
        const a = x[base + i];
        const b = x[base + i + half];
        out[base + i] = a * c - b * s;
        out[base + i + half] = b * c + a * s;
      }
    }
  }
  return out;
}

export const ropeForward = (x: Vec, positions: Vec, invFreq: Vec, tokens: number, heads: number, D: number) =>
  rope(x, positions, invFreq, tokens, heads, D, 1);
/** The transpose of the rotation: the gradient of ropeForward. */
export const ropeBackward = (dy: Vec, positions: Vec, invFreq: Vec, tokens: number, heads: number, D: number) =>
  rope(dy, positions, invFreq, tokens, heads, D, -1);

// ---------------------------------------------------------------------------------------------
// Causal grouped-query attention. q: [B*T, Hq*D], k, v: [B*T, Hkv*D], probs: [B, Hq, T, T],
// lse: [B, Hq, T], each row's log-sum-exp of its scaled scores (probs = exp(score - lse)).
// With a window W > 0, query i sees keys i - W < j <= i (transformers' sliding window); scale defaults to 1/sqrt(D).

export interface AttnShape {
  batch: number;
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  scale?: number;
  window?: number;
}

/** The first key query i sees. */
const firstKey = (i: number, window = 0) => (window > 0 ? Math.max(0, i - window + 1) : 0);

export function attentionForward(q: Vec, k: Vec, v: Vec, s: AttnShape): { out: Float64Array; probs: Float64Array; lse: Float64Array } {
  const { batch: B, seq: T, heads: H, kvHeads: G, headDim: D } = s;
  const scale = s.scale ?? 1 / Math.sqrt(D);
  const out = new Float64Array(B * T * H * D);
  const probs = new Float64Array(B * H * T * T);
  const lse = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / (H / G));
      for (let i = 0; i < T; i++) {
        const row = ((b * H + h) * T + i) * T;
        const j0 = firstKey(i, s.window);
        let m = -Infinity;
        for (let j = j0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[((b * T + i) * H + h) * D + d] * k[((b * T + j) * G + kh) * D + d];
          probs[row + j] = dot * scale;
          m = Math.max(m, dot * scale);
        }
        let sum = 0;
        for (let j = j0; j <= i; j++) sum += (probs[row + j] = Math.exp(probs[row + j] - m));
        for (let j = j0; j <= i; j++) probs[row + j] /= sum;
        lse[(b * H + h) * T + i] = m + Math.log(sum);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = j0; j <= i; j++) acc += probs[row + j] * v[((b * T + j) * G + kh) * D + d];
          out[((b * T + i) * H + h) * D + d] = acc;
        }
      }
    }
  }
  return { out, probs, lse };
}

export function attentionBackward(q: Vec, k: Vec, v: Vec, probs: Vec, dOut: Vec, s: AttnShape): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { batch: B, seq: T, heads: H, kvHeads: G, headDim: D } = s;
  const scale = s.scale ?? 1 / Math.sqrt(D);
  const dq = new Float64Array(B * T * H * D);
  const dk = new Float64Array(B * T * G * D);
  const dv = new Float64Array(B * T * G * D);
  const dS = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / (H / G));
      for (let i = 0; i < T; i++) {
        const row = ((b * H + h) * T + i) * T;
        const qo = ((b * T + i) * H + h) * D;
        const j0 = firstKey(i, s.window);
        let dot = 0;
        for (let j = j0; j <= i; j++) {
          const vo = ((b * T + j) * G + kh) * D;
          let dp = 0;
          for (let d = 0; d < D; d++) {
            dp += dOut[qo + d] * v[vo + d];
            dv[vo + d] += probs[row + j] * dOut[qo + d];
          }
          dS[j] = dp;
          dot += probs[row + j] * dp;
        }
        for (let j = j0; j <= i; j++) {
          const g = scale * probs[row + j] * (dS[j] - dot);
          const ko = ((b * T + j) * G + kh) * D;
          for (let d = 0; d < D; d++) {
            dq[qo + d] += g * k[ko + d];
            dk[ko + d] += g * q[qo + d];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}

// ---------------------------------------------------------------------------------------------
// SiLU-gated MLP activation: act = silu(g) * u

const sigmoid = (g: number) => 1 / (1 + Math.exp(-g));

export function swigluForward(gate: Vec, up: Vec): Float64Array {
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
  return out;
}

export function swigluBackward(gate: Vec, up: Vec, dAct: Vec): { dGate: Float64Array; dUp: Float64Array } {
  const dGate = new Float64Array(gate.length);
  const dUp = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    const sg = sigmoid(g);
    dGate[i] = dAct[i] * up[i] * sg * (1 + g * (1 - sg));
    dUp[i] = dAct[i] * g * sg;
  }
  return { dGate, dUp };
}

// ---------------------------------------------------------------------------------------------
// GELU-tanh-gated MLP activation (Gemma's gelu_pytorch_tanh): act = gelu(g) * u,
// gelu(g) = g/2 (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3)))

const GELU_K = Math.sqrt(2 / Math.PI);

export function gegluForward(gate: Vec, up: Vec): Float64Array {
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    out[i] = 0.5 * g * (1 + Math.tanh(GELU_K * (g + 0.044715 * g ** 3))) * up[i];
  }
  return out;
}

export function gegluBackward(gate: Vec, up: Vec, dAct: Vec): { dGate: Float64Array; dUp: Float64Array } {
  const dGate = new Float64Array(gate.length);
  const dUp = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    const t = Math.tanh(GELU_K * (g + 0.044715 * g ** 3));
    dGate[i] = dAct[i] * up[i] * (0.5 * (1 + t) + 0.5 * g * (1 - t * t) * GELU_K * (1 + 3 * 0.044715 * g * g));
    dUp[i] = dAct[i] * 0.5 * g * (1 + t);
  }
  return { dGate, dUp };
}

// ---------------------------------------------------------------------------------------------
// Embedding gather / scatter-add

export function embeddingForward(ids: Vec, table: Vec, cols: number): Float64Array {
  const out = new Float64Array(ids.length * cols);
  for (let n = 0; n < ids.length; n++) for (let c = 0; c < cols; c++) out[n * cols + c] = table[ids[n] * cols + c];
  return out;
}

export function embeddingBackward(ids: Vec, dOut: Vec, vocab: number, cols: number): Float64Array {
  const dTable = new Float64Array(vocab * cols);
  for (let n = 0; n < ids.length; n++) for (let c = 0; c < cols; c++) dTable[ids[n] * cols + c] += dOut[n * cols + c];
  return dTable;
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy with ignore index (targets < 0), mean over counted rows

export function crossEntropy(logits: Vec, targets: Vec, rows: number, vocab: number): { loss: number; rowLoss: Float64Array; dLogits: Float64Array } {
  const rowLoss = new Float64Array(rows);
  const dLogits = new Float64Array(rows * vocab);
  let count = 0;
  for (let r = 0; r < rows; r++) if (targets[r] >= 0) count++;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t < 0) continue;
    let m = -Infinity;
    for (let c = 0; c < vocab; c++) m = Math.max(m, logits[r * vocab + c]);
    let s = 0;
    for (let c = 0; c < vocab; c++) s += Math.exp(logits[r * vocab + c] - m);
    rowLoss[r] = Math.log(s) + m - logits[r * vocab + t];
    total += rowLoss[r];
    for (let c = 0; c < vocab; c++) {
      dLogits[r * vocab + c] = (Math.exp(logits[r * vocab + c] - m) / s - (c === t ? 1 : 0)) / count;
    }
  }
  return { loss: count > 0 ? total / count : 0, rowLoss, dLogits };
}

// ---------------------------------------------------------------------------------------------
// LoRA dropout mask: the same counter-based hash as shaders/dropout_mask.wgsl

function pcg(v: number): number {
  const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

/** Per-element factor: 0 where dropped, 1/(1-p) where kept. */
export function dropoutScale(n: number, pDrop: number, seed: number, salt: number): Float64Array {
  const out = new Float64Array(n);
  const key = pcg((seed ^ pcg(salt)) >>> 0);
  for (let i = 0; i < n; i++) {
    const u = (pcg((i ^ key) >>> 0) >>> 8) / 16777216;
    out[i] = u < pDrop ? 0 : 1 / (1 - pDrop);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// LoRA on a projection: y = scale * (x Aᵀ) Bᵀ, A [r, in], B [out, r]

export function loraForward(x: Vec, A: Vec, B: Vec, N: number, inDim: number, outDim: number, r: number, scale: number): { u: Float64Array; y: Float64Array } {
  const u = matmul(x, A, N, r, inDim, { transB: true });
  const y = matmul(u, B, N, outDim, r, { transB: true, alpha: scale });
  return { u, y };
}

export function loraBackward(x: Vec, A: Vec, B: Vec, u: Vec, dy: Vec, N: number, inDim: number, outDim: number, r: number, scale: number): { dA: Float64Array; dB: Float64Array; dx: Float64Array } {
  const dB = matmul(dy, u, outDim, r, N, { transA: true, alpha: scale });
  const du = matmul(dy, B, N, r, outDim, { alpha: scale });
  const dA = matmul(du, x, r, inDim, N, { transA: true });
  const dx = matmul(du, A, N, inDim, r);
  return { dA, dB, dx };
}

// ---------------------------------------------------------------------------------------------
// AdamW with global-norm clipping (torch.optim.AdamW and clip_grad_norm_ semantics)

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
}

export function clipScale(grads: Vec, maxNorm: number): { norm: number; scale: number } {
  let ss = 0;
  for (let i = 0; i < grads.length; i++) ss += grads[i] * grads[i];
  const norm = Math.sqrt(ss);
  return { norm, scale: maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1 };
}

/** One AdamW update in place; `step` starts at 1. */
export function adamwStep(params: Float64Array, grads: Vec, m: Float64Array, v: Float64Array, h: AdamWHyper, step: number, lrScale?: Vec): { norm: number } {
  const { norm, scale } = clipScale(grads, h.maxGradNorm);
  const bc1 = 1 - h.beta1 ** step;
  const bc2 = 1 - h.beta2 ** step;
  for (let i = 0; i < params.length; i++) {
    const g = grads[i] * scale;
    const lr = h.lr * (lrScale ? lrScale[i] : 1);
    params[i] *= 1 - lr * h.weightDecay;
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    params[i] -= (lr / bc1) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + h.eps);
  }
  return { norm };
}

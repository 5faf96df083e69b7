// Plain-loop f64 CPU reference of the continual-learning loss terms (EWC, O-LoRA orthogonality and L2, LwF distillation), value and gradient side by side.
import { matmul, type Vec } from './ops.ts';

// ---------------------------------------------------------------------------------------------
// EWC: penalty = (lambda/2) * sum_i F_i (theta_i - theta*_i)^2, grad_i = lambda * F_i (theta_i - theta*_i)

export function ewcPenalty(params: Vec, anchor: Vec, fisher: Vec, lambda: number): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(params.length);
  let loss = 0;
  for (let i = 0; i < params.length; i++) {
    const d = params[i] - anchor[i];
    loss += fisher[i] * d * d;
    grad[i] = lambda * fisher[i] * d;
  }
  return { loss: 0.5 * lambda * loss, grad };
}

/** Diagonal empirical Fisher accumulation: fisher + weight * grads^2 (a new array). */
export function fisherAccumulate(fisher: Vec, grads: Vec, weight: number): Float64Array {
  const out = new Float64Array(fisher.length);
  for (let i = 0; i < fisher.length; i++) out[i] = fisher[i] + weight * grads[i] * grads[i];
  return out;
}

// ---------------------------------------------------------------------------------------------
// O-LoRA L2: loss = lambda * sum_s ||theta_s||_2 over segments s = [offset, offset + count),
// grad = lambda * theta_s / ||theta_s|| inside each segment (0 for an all-zero segment), 0 elsewhere.

export function l2NormPenalty(params: Vec, segments: [number, number][], lambda: number): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(params.length);
  let loss = 0;
  for (const [off, count] of segments) {
    let ss = 0;
    for (let i = off; i < off + count; i++) ss += params[i] * params[i];
    const norm = Math.sqrt(ss);
    loss += lambda * norm;
    if (norm > 0) for (let i = off; i < off + count; i++) grad[i] += (lambda * params[i]) / norm;
  }
  return { loss, grad };
}

// ---------------------------------------------------------------------------------------------
// O-LoRA orthogonality: M = Aold Anewᵀ [rOld, r], loss = sum |M|, dAnew = sign(M)ᵀ Aold [r, d]

/** Elementwise sign, 0 at 0 (the gradient of |x| the kernels use). */
export function signOf(x: Vec): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? 1 : x[i] < 0 ? -1 : 0;
  return out;
}

export function oLoraOrthLoss(aOld: Vec, aNew: Vec, rOld: number, r: number, d: number): { loss: number; product: Float64Array; dAnew: Float64Array } {
  const product = matmul(aOld, aNew, rOld, r, d, { transB: true });
  let loss = 0;
  for (let i = 0; i < product.length; i++) loss += Math.abs(product[i]);
  const dAnew = matmul(signOf(product), aOld, r, d, rOld, { transA: true });
  return { loss, product, dAnew };
}

// ---------------------------------------------------------------------------------------------
// LwF distillation on logits [rows, vocab], rows with target < 0 ignored:
//   p_s = softmax(s / T), p_t = softmax(t / T)
//   rowLoss_n = weight * T^2 * KL(p_t || p_s) * invCount,  loss = sum_n rowLoss_n
//   dStudent_n = weight * T * (p_s - p_t) * invCount

function logSoftmax(x: Vec, base: number, vocab: number, invT: number): Float64Array {
  const out = new Float64Array(vocab);
  let m = -Infinity;
  for (let c = 0; c < vocab; c++) m = Math.max(m, x[base + c] * invT);
  let z = 0;
  for (let c = 0; c < vocab; c++) z += Math.exp(x[base + c] * invT - m);
  const lse = m + Math.log(z);
  for (let c = 0; c < vocab; c++) out[c] = x[base + c] * invT - lse;
  return out;
}

export function distillLoss(student: Vec, teacher: Vec, targets: Vec, rows: number, vocab: number,
  opts: { temperature: number; weight: number; invCount?: number }): { loss: number; rowLoss: Float64Array; dStudent: Float64Array } {
  const T = opts.temperature;
  let count = 0;
  for (let n = 0; n < rows; n++) if (targets[n] >= 0) count++;
  const invCount = opts.invCount ?? (count > 0 ? 1 / count : 0);
  const rowLoss = new Float64Array(rows);
  const dStudent = new Float64Array(rows * vocab);
  let loss = 0;
  for (let n = 0; n < rows; n++) {
    if (targets[n] < 0) continue;
    const ls = logSoftmax(student, n * vocab, vocab, 1 / T);
    const lt = logSoftmax(teacher, n * vocab, vocab, 1 / T);
    let kl = 0;
    for (let c = 0; c < vocab; c++) {
      const pt = Math.exp(lt[c]);
      kl += pt * (lt[c] - ls[c]);
      dStudent[n * vocab + c] = opts.weight * T * (Math.exp(ls[c]) - pt) * invCount;
    }
    rowLoss[n] = opts.weight * T * T * kl * invCount;
    loss += rowLoss[n];
  }
  return { loss, rowLoss, dStudent };
}

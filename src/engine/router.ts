// SAPT's attentive selection on the GPU, forward and backward side by side: per example, the
// masked max- or mean-pool of the prompt's token embeddings, the shared query projector
// x = LayerNorm(SiLU(W_up W_down e)), the scores <k_j, x> / sqrt(d) against every block's key and
// their softmax, which becomes the block mixture of every adapted layer. The backward pass takes
// d loss / d mixture (from the LoRA mixing of every layer) and, for ARM, the KL pull towards a
// stored attention vector, and writes the projector's, norm's and keys' gradients.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import type { Plan } from '../gpu/plan.ts';
import { recordAccumulate } from '../gpu/kernels/elementwise.ts';
import { recordMatmul } from '../gpu/kernels/matmul.ts';
import {
  recordMaskedPool, recordSiluLayerNormBackward, recordSiluLayerNormForward, recordSoftmaxRows, recordSoftmaxRowsBackward,
} from '../gpu/kernels/sapt.ts';
import { ROUTER_KEYS, ROUTER_NORM_EPS } from '../model/sapt-files.ts';
import type { Bank } from './bank.ts';

export interface RouterBuffers {
  rows: number;
  e: BufferRef; h1: BufferRef; h2: BufferRef; x: BufferRef; mean: BufferRef; rstd: BufferRef;
  scores: BufferRef;
  /** [rows, J] the block mixture. */
  w: BufferRef;
  dscores: BufferRef; dx: BufferRef; dh2: BufferRef; dh1: BufferRef; dgamma: BufferRef; dbeta: BufferRef;
  /** [rows] per-example KL of the ARM term (when a target is given). */
  klLoss: BufferRef;
}

export function allocRouterBuffers(bank: Bank, rows: number, alloc: (label: string, floats: number) => BufferRef, backward: boolean): RouterBuffers {
  if (!bank.spec.router) throw new Error('this bank has no router');
  const H = bank.cfg.hiddenSize;
  const k = bank.spec.router.bottleneck;
  const J = bank.blocks;
  const none = alloc('router.unused', 1);
  const b = (label: string, n: number) => (backward ? alloc(label, n) : none);
  return {
    rows,
    e: alloc('router.e', rows * H), h1: alloc('router.h1', rows * k), h2: alloc('router.h2', rows * H), x: alloc('router.x', rows * H),
    mean: alloc('router.mean', rows), rstd: alloc('router.rstd', rows), scores: alloc('router.scores', rows * J), w: alloc('router.w', rows * J),
    dscores: b('router.dscores', rows * J), dx: b('router.dx', rows * H), dh2: b('router.dh2', rows * H), dh1: b('router.dh1', rows * k),
    dgamma: b('router.dgamma', H), dbeta: b('router.dbeta', H), klLoss: b('router.kl', rows),
  };
}

/** w = softmax(<keys, LN(SiLU(W_up W_down pool(embed over mask)))> / sqrt(d)) for each of rb.rows examples. */
export function recordRouterForward(gpu: Gpu, plan: Plan, bank: Bank, rb: RouterBuffers,
  input: { embed: BufferRef; mask: BufferRef; seq: number }, label = 'router'): void {
  const p = bank.params;
  const H = bank.cfg.hiddenSize;
  const k = bank.spec.router!.bottleneck;
  const J = bank.blocks;
  const rows = rb.rows;
  recordMaskedPool(gpu, plan, bank.spec.router!.pool, { batch: rows, seq: input.seq, cols: H }, { x: input.embed, mask: input.mask, out: rb.e }, `${label}.pool`);
  recordMatmul(gpu, plan, { a: rb.e, b: p.ref(p.params, ROUTER_KEYS.down), c: rb.h1, M: rows, N: k, K: H, transB: true }, `${label}.down`);
  recordMatmul(gpu, plan, { a: rb.h1, b: p.ref(p.params, ROUTER_KEYS.up), c: rb.h2, M: rows, N: H, K: k, transB: true }, `${label}.up`);
  recordSiluLayerNormForward(gpu, plan, { rows, cols: H, eps: ROUTER_NORM_EPS },
    { h: rb.h2, gamma: p.ref(p.params, ROUTER_KEYS.normWeight), beta: p.ref(p.params, ROUTER_KEYS.normBias), y: rb.x, mean: rb.mean, rstd: rb.rstd }, `${label}.norm`);
  recordMatmul(gpu, plan, { a: rb.x, b: p.ref(p.params, ROUTER_KEYS.keys), c: rb.scores, M: rows, N: J, K: H, transB: true, alpha: 1 / Math.sqrt(H) }, `${label}.scores`);
  recordSoftmaxRows(gpu, plan, { rows, cols: J }, { x: rb.scores, y: rb.w }, `${label}.softmax`);
}

/**
 * Gradients of the router's parameters from d loss / d w (`dmix`) and/or the ARM term
 * klScale * KL(target || w). `accumulate` adds to the gradient buffer instead of overwriting it.
 */
export function recordRouterBackward(gpu: Gpu, plan: Plan, bank: Bank, rb: RouterBuffers,
  g: { dmix?: BufferRef; target?: BufferRef; klScale: number }, accumulate: boolean, label = 'router.bwd'): void {
  const p = bank.params;
  const grads = p.trainingBuffers.grads;
  const H = bank.cfg.hiddenSize;
  const k = bank.spec.router!.bottleneck;
  const J = bank.blocks;
  const rows = rb.rows;
  const beta = accumulate ? 1 : 0;
  const invTau = 1 / Math.sqrt(H);
  recordSoftmaxRowsBackward(gpu, plan, { rows, cols: J, klScale: g.klScale },
    { y: rb.w, dx: rb.dscores, ...(g.dmix ? { dy: g.dmix } : {}), ...(g.target ? { target: g.target, klLoss: rb.klLoss } : {}) }, `${label}.softmax`);
  recordMatmul(gpu, plan, { a: rb.dscores, b: rb.x, c: p.ref(grads, ROUTER_KEYS.keys), M: J, N: H, K: rows, transA: true, alpha: invTau, beta }, `${label}.dkeys`);
  recordMatmul(gpu, plan, { a: rb.dscores, b: p.ref(p.params, ROUTER_KEYS.keys), c: rb.dx, M: rows, N: H, K: J, alpha: invTau }, `${label}.dx`);
  const gammaGrad = p.ref(grads, ROUTER_KEYS.normWeight);
  const betaGrad = p.ref(grads, ROUTER_KEYS.normBias);
  recordSiluLayerNormBackward(gpu, plan, { rows, cols: H, eps: ROUTER_NORM_EPS }, {
    h: rb.h2, gamma: p.ref(p.params, ROUTER_KEYS.normWeight), mean: rb.mean, rstd: rb.rstd, dy: rb.dx, dh: rb.dh2,
    dgamma: accumulate ? rb.dgamma : gammaGrad, dbeta: accumulate ? rb.dbeta : betaGrad,
  }, `${label}.norm`);
  if (accumulate) {
    recordAccumulate(gpu, plan, H, { b: rb.dgamma, dx: gammaGrad }, `${label}.dgamma`);
    recordAccumulate(gpu, plan, H, { b: rb.dbeta, dx: betaGrad }, `${label}.dbeta`);
  }
  recordMatmul(gpu, plan, { a: rb.dh2, b: rb.h1, c: p.ref(grads, ROUTER_KEYS.up), M: H, N: k, K: rows, transA: true, beta }, `${label}.dup`);
  recordMatmul(gpu, plan, { a: rb.dh2, b: p.ref(p.params, ROUTER_KEYS.up), c: rb.dh1, M: rows, N: k, K: H }, `${label}.dh1`);
  recordMatmul(gpu, plan, { a: rb.dh1, b: rb.e, c: p.ref(grads, ROUTER_KEYS.down), M: k, N: H, K: rows, transA: true, beta }, `${label}.ddown`);
}

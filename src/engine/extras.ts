// GPU plans that run between a step's backward pass and its optimizer update, each adding a
// method's extra loss term straight into the bank's gradients (EWC's quadratic anchor, O-LoRA's
// orthogonality, SAPT's ARM pull of the router towards stored attention vectors), and the
// optimizer plan itself (global-norm clipping and masked AdamW over the whole bank).
import type { BufferRef, Gpu } from '../gpu/context.ts';
import { Plan } from '../gpu/plan.ts';
import type { StepParams } from '../gpu/step-params.ts';
import { recordAdamW } from '../gpu/kernels/adamw.ts';
import { recordAccumulate } from '../gpu/kernels/elementwise.ts';
import { recordMatmul } from '../gpu/kernels/matmul.ts';
import { recordEwcGrad, recordL2NormGrad, recordSign } from '../gpu/kernels/regularizers.ts';
import type { Bank } from './bank.ts';
import type { GpuWeights } from './gpu-weights.ts';
import { allocRouterBuffers, recordRouterBackward, recordRouterForward } from './router.ts';
import { recordVocabGather } from './vocab-table.ts';

const BIND_ALIGN = 256;

interface OwnedPlan {
  plan: Plan;
  destroy(): void;
}

function allocator(gpu: Gpu) {
  const owned: GPUBuffer[] = [];
  const buf = (label: string, floats: number): BufferRef => {
    const b = gpu.createBuffer(label, floats * 4);
    owned.push(b);
    return { buffer: b, offset: 0, size: floats * 4 };
  };
  return { buf, destroy: () => owned.forEach((b) => gpu.destroyBuffer(b)) };
}

/** Clipping and AdamW over the bank's trainable elements; clip = [norm before clipping, factor]. */
export function buildUpdatePlan(gpu: Gpu, bank: Bank, step: StepParams): OwnedPlan & { clip: BufferRef } {
  const a = allocator(gpu);
  const plan = new Plan('optimizer');
  const tb = bank.params.trainingBuffers;
  const clip = a.buf('adamw.clip', 2);
  recordAdamW(gpu, plan, bank.params.totalFloats, {
    step: step.buffer, params: bank.params.params, grads: tb.grads, m: tb.m, v: tb.v, partials: a.buf('adamw.partials', 256), clip, mask: tb.mask,
  });
  return { plan, clip, destroy: a.destroy };
}

/** EWC: grads += lambda * F ⊙ (θ − θ*), the gradient of (lambda/2) Σ F (θ − θ*)². */
export function buildEwcPlan(gpu: Gpu, bank: Bank, lambda: number, anchor: GPUBuffer, fisher: GPUBuffer): OwnedPlan {
  const plan = new Plan('ewc');
  const p = bank.params;
  recordEwcGrad(gpu, plan, p.totalFloats, lambda, { params: p.params, anchor, fisher, grads: p.trainingBuffers.grads });
  return { plan, destroy: () => {} };
}

/**
 * O-LoRA: for every adapted projection, with A_old the frozen blocks' stacked A and A_new the active
 * block's, grads(A_new) += lambda · sign(A_old A_newᵀ)ᵀ A_old, the gradient of lambda Σ |A_old A_newᵀ|.
 */
export function buildOrthoPlan(gpu: Gpu, bank: Bank, lambda: number): OwnedPlan {
  const active = bank.trainSelection.block;
  if (active < 1) throw new Error('O-LoRA orthogonality needs an active block after at least one frozen block');
  const a = allocator(gpu);
  const plan = new Plan('olora');
  const p = bank.params;
  const grads = p.trainingBuffers.grads;
  const r = bank.rank;
  const rOld = active * r;
  const maxIn = Math.max(...bank.sites.map((s) => s.in));
  const aNew = a.buf('olora.a_new', r * maxIn);
  const m = a.buf('olora.m', rOld * r);
  const sign = a.buf('olora.sign', rOld * r);
  const dA = a.buf('olora.dA', r * maxIn);
  const acc = a.buf('olora.acc', r * maxIn);
  for (const s of bank.sites) {
    const slot = p.slot(s.aKey);
    const label = `l${s.layer}.${s.proj}.olora`;
    const n = r * s.in;
    const newOffset = (slot.offset + active * n) * 4;
    const aOld: BufferRef = { buffer: p.params, offset: slot.offset * 4, size: rOld * s.in * 4 };
    const aNewRef = { ...aNew, size: n * 4 };
    plan.copy(p.params, newOffset, aNew.buffer, 0, n * 4);
    recordMatmul(gpu, plan, { a: aOld, b: aNewRef, c: m, M: rOld, N: r, K: s.in, transB: true }, `${label}.m`);
    recordSign(gpu, plan, rOld * r, { x: m, out: sign }, `${label}.sign`);
    const dARef = { ...dA, size: n * 4 };
    recordMatmul(gpu, plan, { a: sign, b: aOld, c: dARef, M: r, N: s.in, K: rOld, transA: true, alpha: lambda }, `${label}.dA`);
    if (newOffset % BIND_ALIGN === 0) {
      recordAccumulate(gpu, plan, n, { b: dARef, dx: { buffer: grads, offset: newOffset, size: n * 4 } }, `${label}.acc`);
    } else {
      plan.copy(grads, newOffset, acc.buffer, 0, n * 4);
      recordAccumulate(gpu, plan, n, { b: dARef, dx: { ...acc, size: n * 4 } }, `${label}.acc`);
      plan.copy(acc.buffer, 0, grads, newOffset, n * 4);
    }
  }
  return { plan, destroy: a.destroy };
}

/**
 * O-LoRA's L2 term on the active block: grads += lambda · θ / ||θ||₂ for each of its LoRA tensors
 * (every projection's A and B), the gradient of lambda Σ_tensors ||θ||₂ as O-LoRA's code sums it.
 */
export function buildL2Plan(gpu: Gpu, bank: Bank, lambda: number): OwnedPlan {
  const active = bank.trainSelection.block;
  if (active < 0) throw new Error('the L2 term needs an active block');
  const p = bank.params;
  const r = bank.rank;
  const pairs: number[] = [];
  for (const s of bank.sites) {
    for (const [key, per] of [[s.aKey, r * s.in], [s.bKey, s.out * r]] as const) pairs.push(p.slot(key).offset + active * per, per);
  }
  const segments = gpu.upload('olora.l2.segments', Uint32Array.from(pairs));
  const plan = new Plan('olora.l2');
  recordL2NormGrad(gpu, plan, pairs.length / 2, lambda, { params: p.params, grads: p.trainingBuffers.grads, segments });
  return { plan, destroy: () => gpu.destroyBuffer(segments) };
}

export interface RouterPlan extends OwnedPlan {
  /** [rows * seq] u32 token ids. */
  ids: BufferRef;
  /** [rows * seq] u32, 1 on prompt tokens. */
  mask: BufferRef;
  /** [rows, J] the router's attention over the blocks. */
  w: BufferRef;
  /** [rows, J] ARM: the stored attention vectors (zero-padded for newer blocks). */
  target: BufferRef;
  /** [rows] ARM: klScale * KL(target || w) per replayed input. */
  klLoss: BufferRef;
  rows: number;
  seq: number;
}

/**
 * SAPT's router alone on a batch of prompts (no decoder layers): the embedding, the pooling and the
 * selection. With `arm`, also ARM's backward pass, adding klScale · KL(target || softmax(scores)) to
 * the gradients of the projector, the norm and the active key (no LM loss on replayed inputs).
 */
export function buildRouterPlan(gpu: Gpu, bank: Bank, weights: GpuWeights, rows: number, seq: number, arm: { klScale: number } | null): RouterPlan {
  const a = allocator(gpu);
  const plan = new Plan(arm ? 'arm' : 'router');
  const H = bank.cfg.hiddenSize;
  const ids = a.buf('router.ids', rows * seq);
  const mask = a.buf('router.mask', rows * seq);
  const target = a.buf('arm.target', arm ? rows * bank.blocks : 1);
  const embed = a.buf('router.embed', rows * seq * H);
  const rb = allocRouterBuffers(bank, rows, a.buf, arm !== null);
  recordVocabGather(gpu, plan, weights.embed, rows * seq, { ids, out: embed }, 'router.embedding');
  recordRouterForward(gpu, plan, bank, rb, { embed, mask, seq }, 'router');
  if (arm) recordRouterBackward(gpu, plan, bank, rb, { target, klScale: arm.klScale }, true, 'arm.router.bwd');
  return { plan, ids, mask, w: rb.w, target, klLoss: rb.klLoss, rows, seq, destroy: a.destroy };
}

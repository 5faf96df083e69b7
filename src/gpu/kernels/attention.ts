// Records causal grouped-query attention forward and backward dispatches (shaders/attention.wgsl).
import source from '../../../shaders/attention.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';

const shader = { name: 'attention', code: source };
const WG = 64;

export interface AttentionShape {
  batch: number;
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

function paramsFor(gpu: Gpu, s: AttentionShape, label: string): GPUBuffer {
  if (s.heads % s.kvHeads !== 0) throw new Error(`${label}: ${s.heads} heads are not a multiple of ${s.kvHeads} key/value heads`);
  return gpu.uniform(`${label}.params`, [s.batch, s.seq, s.heads, s.kvHeads, s.headDim, 1 / Math.sqrt(s.headDim), 0, 0],
    ['u32', 'u32', 'u32', 'u32', 'u32', 'f32', 'u32', 'u32']);
}

const wg = (n: number) => grid(Math.ceil(n / WG));

/** out = softmax(scale q kᵀ, causal) v; probs [B, Hq, T, T] keeps P for the backward pass. */
export function recordAttentionForward(gpu: Gpu, plan: Plan, s: AttentionShape,
  io: { q: Bindable; k: Bindable; v: Bindable; probs: Bindable; out: Bindable }, label = 'attention'): void {
  const p = paramsFor(gpu, s, label);
  const rows = s.batch * s.heads * s.seq;
  record(gpu, plan, { shader, entry: 'attn_scores', label: `${label}.scores`, bindings: { 0: p, 1: io.q, 2: io.k, 4: io.probs }, workgroups: wg(rows * s.seq) });
  record(gpu, plan, { shader, entry: 'attn_softmax', label: `${label}.softmax`, bindings: { 0: p, 4: io.probs }, workgroups: wg(rows) });
  record(gpu, plan, { shader, entry: 'attn_pv', label: `${label}.pv`, bindings: { 0: p, 3: io.v, 4: io.probs, 5: io.out }, workgroups: wg(rows * s.headDim) });
}

/** dq, dk, dv from d_out; dscores is [B, Hq, T, T] scratch. */
export function recordAttentionBackward(gpu: Gpu, plan: Plan, s: AttentionShape,
  io: { q: Bindable; k: Bindable; v: Bindable; probs: Bindable; dOut: Bindable; dScores: Bindable; dq: Bindable; dk: Bindable; dv: Bindable },
  label = 'attention.bwd'): void {
  const p = paramsFor(gpu, s, label);
  const rows = s.batch * s.heads * s.seq;
  const kvElems = s.batch * s.seq * s.kvHeads * s.headDim;
  record(gpu, plan, { shader, entry: 'attn_dv', label: `${label}.dv`, bindings: { 0: p, 4: io.probs, 6: io.dOut, 10: io.dv }, workgroups: wg(kvElems) });
  record(gpu, plan, { shader, entry: 'attn_dp', label: `${label}.dp`, bindings: { 0: p, 3: io.v, 6: io.dOut, 7: io.dScores }, workgroups: wg(rows * s.seq) });
  record(gpu, plan, { shader, entry: 'attn_dsoftmax', label: `${label}.dsoftmax`, bindings: { 0: p, 4: io.probs, 7: io.dScores }, workgroups: wg(rows) });
  record(gpu, plan, { shader, entry: 'attn_dq', label: `${label}.dq`, bindings: { 0: p, 2: io.k, 7: io.dScores, 8: io.dq }, workgroups: wg(rows * s.headDim) });
  record(gpu, plan, { shader, entry: 'attn_dk', label: `${label}.dk`, bindings: { 0: p, 1: io.q, 7: io.dScores, 9: io.dk }, workgroups: wg(kvElems) });
}

// Records the fused causal attention passes (shaders/flash_attention.wgsl), which keep each row's logsumexp instead of a T×T probability matrix.
import source from '../../../shaders/flash_attention.wgsl';
import f32Access from '../../../shaders/flash_attention_f32.wgsl';
import vec4Access from '../../../shaders/flash_attention_vec4.wgsl';
import stagingSource from '../../../shaders/flash_attention_staging.wgsl';
import sliceSumSource from '../../../shaders/slice_sum.wgsl';
import { grid, type Bindable, type Gpu, type ShaderSource } from '../context.ts';
import { section, shaderSections } from '../shader-sections.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { deviceScratch } from '../scratch.ts';
import { WORD, type DispatchCost } from '../dispatch-cost.ts';

const STAGING = shaderSections(stagingSource);
const sliceSum = { name: 'slice_sum', code: sliceSumSource };
/** Workgroups that fill a large GPU (an H100's 132 SMs): the dk/dv pass splits its work by query head below this. */
const FILL_WORKGROUPS = 132;
/** By operand access (vec4 or f32 arrays), then by staging ('staged' or 'direct'). */
const shaders = Object.fromEntries(([['vec4', vec4Access], ['f32', f32Access]] as const).map(([access, accessCode]) => [access,
  Object.fromEntries((['staged', 'direct'] as const).map((staging) => [staging, {
    name: `flash_attention_${access}_${staging}`,
    code: `${section(STAGING, 'flash_attention_staging.wgsl', staging)}\n${accessCode}\n${source}`,
  }])),
])) as Record<'vec4' | 'f32', Record<'staged' | 'direct', ShaderSource>>;
/**
 * The largest head dimension accepted. An invocation holds 64 columns at a time (CHUNK in the
 * shader): 256 means at most four sweeps, each recomputing the scores.
 */
export const MAX_HEAD_DIM = 256;

export interface AttentionShape {
  batch: number;
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Multiplies q·k; default 1/sqrt(headDim). */
  scale?: number;
  /** Sliding window: query i sees keys i - window < j <= i. 0 or absent: every earlier key. */
  window?: number;
}

/**
 * How the kernels read the streamed k/v (or q/d_out) tiles. 'staged': through workgroup memory,
 * shared by the rows of a workgroup (GPUs). 'direct': straight from the storage buffers, with no
 * barriers (software adapters). 'auto' picks by adapter.
 */
export type AttentionKernel = 'auto' | 'staged' | 'direct';

interface Variant {
  /** Operands as vec4 arrays when the head dimension allows it, else as f32 arrays. */
  shader: ShaderSource;
  /** Rows (invocations) per workgroup. */
  rows: number;
  constants: Record<string, number | boolean>;
}

function variantFor(gpu: Gpu, s: AttentionShape, kernel: AttentionKernel): Variant {
  const stage = kernel === 'staged' || (kernel === 'auto' && !gpu.adapter.isSoftware);
  const rows = stage ? 64 : 32;
  return {
    shader: shaders[s.headDim % 4 === 0 ? 'vec4' : 'f32'][stage ? 'staged' : 'direct'],
    rows,
    constants: { WG: rows, HEAD_DIM: s.headDim },
  };
}

function paramsFor(gpu: Gpu, s: AttentionShape, label: string): GPUBuffer {
  if (s.kvHeads < 1 || s.heads % s.kvHeads !== 0) throw new Error(`${label}: ${s.heads} heads are not a multiple of ${s.kvHeads} key/value heads`);
  if (s.headDim < 1 || s.headDim > MAX_HEAD_DIM) throw new Error(`${label}: head dim ${s.headDim} is outside 1..${MAX_HEAD_DIM}`);
  if (s.seq < 1) throw new Error(`${label}: the sequence must have at least one token`);
  const window = s.window ?? 0;
  if (!Number.isSafeInteger(window) || window < 0) throw new Error(`${label}: window ${window} must be a non-negative integer`);
  return gpu.uniform(`${label}.params`,
    [s.batch, s.seq, s.heads, s.kvHeads, s.scale ?? 1 / Math.sqrt(s.headDim), window < s.seq ? window : 0, 0, 0],
    ['u32', 'u32', 'u32', 'u32', 'f32', 'u32', 'u32', 'u32']);
}

/** (query, key) pairs the causal mask and the window keep, over every query head of the batch. */
function causalPairs(s: AttentionShape): number {
  const W = s.window && s.window < s.seq ? s.window : s.seq;
  // Rows i < W see i + 1 keys, the later ones W.
  return s.batch * s.heads * ((W * (W + 1)) / 2 + (s.seq - W) * W);
}

/**
 * Per kept pair: forward q·k and p·v (4·headDim); the dq pass recomputes q·k and does d_out·v and ds·k (6·headDim);
 * the dk/dv pass recomputes q·k and d_out·v and does p·d_out and ds·q (8·headDim). Softmax arithmetic is left out.
 */
function attentionCost(kernel: 'attention.fwd' | 'attention.bwd.dq' | 'attention.bwd.dkdv', s: AttentionShape): DispatchCost {
  const N = s.batch * s.seq;
  const qw = N * s.heads * s.headDim;
  const kvw = N * s.kvHeads * s.headDim;
  const rows = s.batch * s.heads * s.seq;
  const perPair = { 'attention.fwd': 4, 'attention.bwd.dq': 6, 'attention.bwd.dkdv': 8 }[kernel] * s.headDim;
  // Words: fwd reads q, k, v and writes out, lse; dq reads q, k, v, out, lse, d_out and writes delta, dq;
  // dk/dv reads q, k, v, lse, d_out, delta and writes dk, dv.
  const words = kernel === 'attention.fwd' ? 2 * qw + 2 * kvw + rows
    : kernel === 'attention.bwd.dq' ? 4 * qw + 2 * kvw + 2 * rows
    : 2 * qw + 4 * kvw + 2 * rows;
  return { kernel, flops: causalPairs(s) * perPair, bytes: words * WORD };
}

/** One workgroup per block of `rows` rows of each (batch, head). */
const blocks = (s: AttentionShape, heads: number, rows: number) => grid(s.batch * heads * Math.ceil(s.seq / rows));

/**
 * out = softmax(scale q kᵀ, causal and windowed) v, and lse [B, Hq, T], each row's log-sum-exp of its scaled
 * scores, which is all the backward pass keeps of the probabilities.
 */
export function recordAttentionForward(gpu: Gpu, plan: Plan, s: AttentionShape,
  io: { q: Bindable; k: Bindable; v: Bindable; out: Bindable; lse: Bindable }, label = 'attention', kernel: AttentionKernel = 'auto'): void {
  const p = paramsFor(gpu, s, label);
  const { shader, rows, constants } = variantFor(gpu, s, kernel);
  record(gpu, plan, {
    shader, entry: 'attn_fwd', label, constants,
    bindings: { 0: p, 1: io.q, 2: io.k, 3: io.v, 4: io.out, 5: io.lse }, workgroups: blocks(s, s.heads, rows),
    cost: attentionCost('attention.fwd', s),
  });
}

/**
 * dq, dk, dv from d_out, recomputing the probabilities from q, k and the forward's lse. delta
 * [B, Hq, T] is scratch (rowsum(d_out ∘ out), written by the dq pass and read by the dk/dv pass).
 */
export function recordAttentionBackward(gpu: Gpu, plan: Plan, s: AttentionShape,
  io: { q: Bindable; k: Bindable; v: Bindable; out: Bindable; lse: Bindable; dOut: Bindable; delta: Bindable; dq: Bindable; dk: Bindable; dv: Bindable },
  label = 'attention.bwd', kernel: AttentionKernel = 'auto', opts: { splitHeads?: boolean } = {}): void {
  const p = paramsFor(gpu, s, label);
  const { shader, rows, constants } = variantFor(gpu, s, kernel);
  const group = s.heads / s.kvHeads;
  record(gpu, plan, {
    shader, entry: 'attn_bwd_dq', label: `${label}.dq`, constants,
    bindings: { 0: p, 1: io.q, 2: io.k, 3: io.v, 4: io.out, 5: io.lse, 6: io.dOut, 7: io.delta, 8: io.dq },
    workgroups: blocks(s, s.heads, rows),
    cost: attentionCost('attention.bwd.dq', s),
  });
  const kvBlocks = s.batch * s.kvHeads * Math.ceil(s.seq / rows);
  const split = opts.splitHeads ?? (kernel === 'auto' && !gpu.adapter.isSoftware && group > 1 && kvBlocks < FILL_WORKGROUPS);
  const dkdv = { 0: p, 1: io.q, 2: io.k, 3: io.v, 5: io.lse, 6: io.dOut, 7: io.delta };
  const cost = attentionCost('attention.bwd.dkdv', s);
  if (!split) {
    record(gpu, plan, {
      shader, entry: 'attn_bwd_dkdv', label: `${label}.dkdv`, constants,
      bindings: { ...dkdv, 9: io.dk, 10: io.dv }, workgroups: blocks(s, s.kvHeads, rows), cost,
    });
    return;
  }
  // A workgroup per query head: per-head partials of dk and dv (dv's at a bindable offset), then their sum in head order.
  const n = s.batch * s.seq * s.kvHeads * s.headDim;
  const slices = group * n * WORD;
  const dvAt = Math.ceil(slices / 256) * 256;
  const parts = deviceScratch(gpu, 'attention.dkdv_partials', dvAt + slices);
  record(gpu, plan, {
    shader, entry: 'attn_bwd_dkdv', label: `${label}.dkdv`, constants: { ...constants, SPLIT_HEADS: true },
    bindings: { ...dkdv, 9: { buffer: parts, offset: 0, size: slices }, 10: { buffer: parts, offset: dvAt, size: slices } },
    workgroups: blocks(s, s.heads, rows), cost: { ...cost, bytes: cost.bytes + 2 * (group - 1) * n * WORD },
  });
  const sp = gpu.uniform(`${label}.dkdv_sum.params`, [n, group, dvAt / WORD, 0], ['u32', 'u32', 'u32', 'u32']);
  record(gpu, plan, {
    shader: sliceSum, entry: 'slice_sum', label: `${label}.dkdv_sum`,
    bindings: { 0: sp, 1: { buffer: parts, offset: 0, size: dvAt + slices }, 2: io.dk, 3: io.dv },
    workgroups: grid(Math.ceil(n / 64)),
    cost: { kernel: 'slice_sum', flops: 2 * (group - 1) * n, bytes: 2 * (group + 1) * n * WORD },
  });
}

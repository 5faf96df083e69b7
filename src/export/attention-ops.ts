// Causal grouped-query self-attention with Hugging Face rotate-half RoPE as ONNX nodes, and the positions, causal mask and RoPE tables every layer shares, for a dynamic batch and sequence length.
import type { GraphBuilder } from './graph-builder.ts';
import { rmsNorm } from './layer-ops.ts';
import { ropeTables } from '../model/config.ts';

/** Tensors every layer shares, derived once from the input's dynamic shape. */
export interface SequenceTensors {
  /** int64 [2]: the batch size and the sequence length T. */
  idsShape: string;
  /** bool [T, T]: true where key position j comes after query position i (masked out). */
  future: string;
  /** float [T, 1, 1, headDim]: cos and sin of position · inverse frequency, each half-width row repeated twice. */
  cos: string;
  sin: string;
}

export interface HeadLayout {
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** The most negative float32: what masked scores become before the softmax (exp of it is exactly 0). */
const MASKED_SCORE = -3.4028234663852886e38;

/**
 * Positions 0..T-1 of every sequence, the causal mask, and the RoPE tables' rows for those positions (the tables
 * hold `maxPositions` rows, so T may not exceed it). Tables, computed as the engine's are, rather than Cos/Sin nodes:
 * GPU backends may evaluate sin and cos with absolute errors near 5e-4.
 */
export function sequenceTensors(g: GraphBuilder, inputIds: string, invFreq: Float32Array, maxPositions: number): SequenceTensors {
  const idsShape = g.op('Shape', [inputIds], 'ids_shape');
  const seqLen = g.op('Gather', [idsShape, g.int64Constant([1], [])], 'seq_len', { axis: 0 });
  const positions = g.op('Range', [g.int64Constant([0], []), seqLen, g.int64Constant([1], [])], 'positions');

  const queryPos = g.op('Unsqueeze', [positions, g.int64Constant([1])], 'query_positions');
  const keyPos = g.op('Unsqueeze', [positions, g.int64Constant([0])], 'key_positions');
  const future = g.op('Greater', [keyPos, queryPos], 'causal_future');

  const half = invFreq.length;
  const tables = ropeTables(invFreq, maxPositions);
  const rows = (kind: 'cos' | 'sin') => {
    const table = g.floatInitializer(`rope.${kind}_table`, [maxPositions, half], tables[kind]);
    const halfRows = g.op('Gather', [table, positions], `rope.${kind}_half`, { axis: 0 });
    const fullRows = g.op('Concat', [halfRows, halfRows], `rope.${kind}_rows`, { axis: -1 });
    return g.op('Unsqueeze', [fullRows, g.int64Constant([1, 2])], `rope.${kind}`);
  };
  return { idsShape, future, cos: rows('cos'), sin: rows('sin') };
}

/** x · cos + rotate_half(x) · sin over the last axis, rotate_half(x) = [-x₂, x₁] (src/ref/ops.ts ropeForward). */
function applyRope(g: GraphBuilder, x: string, seq: SequenceTensors, headDim: number, name: string): string {
  const half = headDim / 2;
  const lastAxis = g.int64Constant([-1]);
  const first = g.op('Slice', [x, g.int64Constant([0]), g.int64Constant([half]), lastAxis], `${name}.x1`);
  const second = g.op('Slice', [x, g.int64Constant([half]), g.int64Constant([headDim]), lastAxis], `${name}.x2`);
  const rotated = g.op('Concat', [g.op('Neg', [second], `${name}.neg_x2`), first], `${name}.rotated`, { axis: -1 });
  const cosPart = g.op('Mul', [x, seq.cos], `${name}.x_cos`);
  const sinPart = g.op('Mul', [rotated, seq.sin], `${name}.rot_sin`);
  return g.op('Add', [cosPart, sinPart], name);
}

/**
 * Reshape targets of the attention block, shared by every layer: queries as [B, T, kvHeads, group, D]
 * (query head h = g · group + i reads kv head g, as in the engine), keys and values as [B, T, kvHeads, 1, D].
 */
export function headShapes(g: GraphBuilder, seq: SequenceTensors, layout: HeadLayout): { query: string; keyValue: string; merged: string } {
  const { heads, kvHeads, headDim } = layout;
  const group = heads / kvHeads;
  return {
    query: g.op('Concat', [seq.idsShape, g.int64Constant([kvHeads, group, headDim])], 'query_heads_shape', { axis: 0 }),
    keyValue: g.op('Concat', [seq.idsShape, g.int64Constant([kvHeads, 1, headDim])], 'kv_heads_shape', { axis: 0 }),
    merged: g.int64Constant([-1, heads * headDim]),
  };
}

/** A layer's extras: per-head RMSNorm weights [D] of q and k (Qwen3), applied before RoPE; whether it rotates at all (SmolLM3). */
export interface LayerAttentionOps {
  qkNorm: { q: string; k: string; eps: number } | null;
  rope: boolean;
}

/**
 * softmax(q kᵀ / sqrt(D) + causal mask) v per head (src/ref/ops.ts attentionForward), with q/k norms and RoPE applied
 * to q and k first, where the layer has them. q [N, heads·D], k and v [N, kvHeads·D] for N = B·T tokens; returns [N, heads·D]. Grouped-query
 * attention needs no copies of k and v: MatMul broadcasts their size-1 group axis over the query heads.
 */
export function causalSelfAttention(
  g: GraphBuilder,
  projections: { q: string; k: string; v: string },
  seq: SequenceTensors,
  shapes: ReturnType<typeof headShapes>,
  layout: HeadLayout,
  name: string,
  ops: LayerAttentionOps = { qkNorm: null, rope: true },
): string {
  let q5 = g.op('Reshape', [projections.q, shapes.query], `${name}.q_heads`);
  let k5 = g.op('Reshape', [projections.k, shapes.keyValue], `${name}.k_heads`);
  const v5 = g.op('Reshape', [projections.v, shapes.keyValue], `${name}.v_heads`);
  if (ops.qkNorm) {
    // Over each head's last axis, the [D] weight broadcast across tokens and heads.
    q5 = rmsNorm(g, q5, ops.qkNorm.q, ops.qkNorm.eps, `${name}.q_norm`);
    k5 = rmsNorm(g, k5, ops.qkNorm.k, ops.qkNorm.eps, `${name}.k_norm`);
  }
  const qRot = ops.rope ? applyRope(g, q5, seq, layout.headDim, `${name}.q_rope`) : q5;
  const kRot = ops.rope ? applyRope(g, k5, seq, layout.headDim, `${name}.k_rope`) : k5;

  // [B, T, G, group, D] -> [B, G, group, T, D]; keys straight to [B, G, 1, D, T].
  const qT = g.op('Transpose', [qRot], `${name}.q_t`, { perm: [0, 2, 3, 1, 4] });
  const kT = g.op('Transpose', [kRot], `${name}.k_t`, { perm: [0, 2, 3, 4, 1] });
  const vT = g.op('Transpose', [v5], `${name}.v_t`, { perm: [0, 2, 3, 1, 4] });

  const dots = g.op('MatMul', [qT, kT], `${name}.dots`);
  const scores = g.op('Mul', [dots, g.floatScalar(1 / Math.sqrt(layout.headDim), `attn_scale_d${layout.headDim}`)], `${name}.scores`);
  const masked = g.op('Where', [seq.future, g.floatScalar(MASKED_SCORE, 'masked_score'), scores], `${name}.masked_scores`);
  const probs = g.op('Softmax', [masked], `${name}.probs`, { axis: -1 });
  const context = g.op('MatMul', [probs, vT], `${name}.context`);

  // [B, G, group, T, D] -> [B, T, G, group, D] -> [N, heads·D], head-major like the projections.
  const tokenMajor = g.op('Transpose', [context], `${name}.context_t`, { perm: [0, 3, 1, 2, 4] });
  return g.op('Reshape', [tokenMajor, shapes.merged], `${name}.context_flat`);
}

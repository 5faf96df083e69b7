// One decoder layer of the training plan, forward and backward side by side: pre-norm attention (q/k/v projections,
// per-head q/k norms where the architecture has them, RoPE unless the layer has none, fused causal GQA attention with
// the layer's sliding window, o projection) and the gated MLP (SiLU or GELU-tanh), each projection with its LoRA
// sites; Gemma's sandwich norms normalise the attention and MLP outputs before their residual adds. Without them the
// o and down projections add the residual stream in their matmul's epilogue (no add pass, no o/down buffers). The forward
// writes what the backward reads into a LayerActivations set. Without recomputation every layer has its own set; with
// it one set serves all layers, and the backward pass re-runs each layer's forward from the layer's input (kept) right
// before that layer's backward, skipping what the backward does not read. q/k/v (before any q/k norm) and gate/up,
// and their gradients, sit in blocks of one allocation each, so a fused projection (gpu-weights.ts) writes its parts'
// outputs with one matmul and takes its input gradient from all of them with one more; each part stays a compact
// [tokens, width] matrix for the kernels that read it.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import { allocBlocks, bindingSpan } from '../gpu/binding-span.ts';
import type { Plan } from '../gpu/plan.ts';
import { recordAttentionBackward, recordAttentionForward } from '../gpu/kernels/flash-attention.ts';
import { recordAdd, recordSwigluBackward, recordSwigluForward } from '../gpu/kernels/elementwise.ts';
import { recordMatmul, type MatmulArgs } from '../gpu/kernels/matmul.ts';
import { recordRmsNormBackward, recordRmsNormForward } from '../gpu/kernels/rmsnorm.ts';
import { recordRope, type RopeTables } from '../gpu/kernels/rope.ts';
import type { ModelConfig } from '../model/config.ts';
import type { ProjName } from '../model/peft.ts';
import { FUSED_GROUPS, type GpuWeights } from './gpu-weights.ts';
import type { LoraSites } from './lora-sites.ts';

type Alloc = (label: string, floats: number) => BufferRef;

/** What one layer's forward writes: everything its backward reads. */
export interface LayerActivations {
  h1: BufferRef; rstd1: BufferRef;
  /** After RoPE. */
  q: BufferRef; k: BufferRef; v: BufferRef;
  /** [batch, heads, seq] log-sum-exp of each attention row. */
  lse: BufferRef; ctx: BufferRef;
  /** The residual stream after the attention block (x + o). */
  mid: BufferRef; h2: BufferRef; rstd2: BufferRef;
  gate: BufferRef; up: BufferRef; act: BufferRef;
  /** q/k norms: the projections before the norm, and each head row's rstd. */
  qk: { qRaw: BufferRef; kRaw: BufferRef; rstdQ: BufferRef; rstdK: BufferRef } | null;
  /**
   * Sandwich norms: the o and down projections' outputs, their normalised forms (what the residual adds read) and
   * their rstd.
   */
  sandwich: { o: BufferRef; oN: BufferRef; rstdO: BufferRef; down: BufferRef; downN: BufferRef; rstdD: BufferRef } | null;
}

/** Gradient scratch shared by every layer's backward; `dX` carries d loss / d residual from layer to layer. */
export interface LayerGradScratch {
  dX: BufferRef; dh: BufferRef;
  dq: BufferRef; dk: BufferRef; dv: BufferRef; dctx: BufferRef; attnDelta: BufferRef;
  dgate: BufferRef; dup: BufferRef; dact: BufferRef;
  /** q/k norms: d loss / d (q, k before their norms). */
  dqRaw: BufferRef | null; dkRaw: BufferRef | null;
  /** Sandwich norms: d loss / d (o, down before their norms). */
  dO: BufferRef | null; dDown: BufferRef | null;
}

export interface LayerPlanContext {
  gpu: Gpu;
  plan: Plan;
  cfg: ModelConfig;
  weights: GpuWeights;
  sites: LoraSites | null;
  batch: number;
  seq: number;
  /** [batch * seq] u32 position of each token in its sequence. */
  positions: BufferRef;
  /** Per layer: its RoPE tables, or null for a layer without RoPE. */
  tables: (RopeTables | null)[];
}

/** Token count and the widths the per-layer buffers need. */
function layerDims(cfg: ModelConfig, batch: number, seq: number) {
  return { N: batch * seq, H: cfg.hiddenSize, I: cfg.intermediateSize, qDim: cfg.numHeads * cfg.headDim, kvDim: cfg.numKvHeads * cfg.headDim };
}

export function allocLayerActivations(alloc: Alloc, cfg: ModelConfig, batch: number, seq: number, label: string): LayerActivations {
  const { N, H, I, qDim, kvDim } = layerDims(cfg, batch, seq);
  // The q/k/v projections' outputs in one allocation: q, k, v, or with q/k norms q_raw, k_raw, v (q and k apart).
  const qkNorm = cfg.features.qkNorm;
  const [pq, pk, v] = allocBlocks(alloc, `${label}.${qkNorm ? 'qk_raw_v' : 'qkv'}`, [N * qDim, N * kvDim, N * kvDim]);
  const [gate, up] = allocBlocks(alloc, `${label}.gate_up`, [N * I, N * I]);
  return {
    h1: alloc(`${label}.h1`, N * H), rstd1: alloc(`${label}.rstd1`, N),
    q: qkNorm ? alloc(`${label}.q`, N * qDim) : pq, k: qkNorm ? alloc(`${label}.k`, N * kvDim) : pk, v,
    lse: alloc(`${label}.attn_lse`, batch * cfg.numHeads * seq), ctx: alloc(`${label}.ctx`, N * qDim),
    mid: alloc(`${label}.mid`, N * H), h2: alloc(`${label}.h2`, N * H), rstd2: alloc(`${label}.rstd2`, N),
    gate, up, act: alloc(`${label}.act`, N * I),
    qk: qkNorm
      ? { qRaw: pq, kRaw: pk, rstdQ: alloc(`${label}.rstd_q`, N * cfg.numHeads), rstdK: alloc(`${label}.rstd_k`, N * cfg.numKvHeads) }
      : null,
    sandwich: cfg.features.sandwichNorms
      ? {
        o: alloc(`${label}.o`, N * H), oN: alloc(`${label}.o_normed`, N * H), rstdO: alloc(`${label}.rstd_o`, N),
        down: alloc(`${label}.down`, N * H), downN: alloc(`${label}.down_normed`, N * H), rstdD: alloc(`${label}.rstd_down`, N),
      }
      : null,
  };
}

export function allocLayerGradScratch(alloc: Alloc, cfg: ModelConfig, batch: number, seq: number): LayerGradScratch {
  const { N, H, I, qDim, kvDim } = layerDims(cfg, batch, seq);
  // The gradients of the q/k/v projections' outputs in one allocation, as their activations (a fused input gradient
  // reads them together); likewise gate/up.
  const qkNorm = cfg.features.qkNorm;
  const [pq, pk, dv] = allocBlocks(alloc, qkNorm ? 'd.qk_raw_v' : 'd.qkv', [N * qDim, N * kvDim, N * kvDim]);
  const [dgate, dup] = allocBlocks(alloc, 'd.gate_up', [N * I, N * I]);
  return {
    dX: alloc('d.resid', N * H), dh: alloc('d.h', N * H),
    dq: qkNorm ? alloc('d.q', N * qDim) : pq, dk: qkNorm ? alloc('d.k', N * kvDim) : pk, dv, dctx: alloc('d.ctx', N * qDim),
    attnDelta: alloc('d.attn_delta', batch * cfg.numHeads * seq),
    dgate, dup, dact: alloc('d.act', N * I),
    dqRaw: qkNorm ? pq : null,
    dkRaw: qkNorm ? pk : null,
    dO: cfg.features.sandwichNorms ? alloc('d.o', N * H) : null,
    dDown: cfg.features.sandwichNorms ? alloc('d.down', N * H) : null,
  };
}

/**
 * Layer l's forward from its input residual `x` into `a`, and the output residual into `out`. With `out` null it is
 * the recomputation before the layer's backward: the down projection's base matmul, its LoRA output and the residual
 * add feed only the layer's output, which the backward pass already has, so only the LoRA branch's saved input side
 * of down_proj runs (with sandwich norms the backward also needs the down projection and its norm's rstd). Without
 * sandwich norms the residual adds run in the o and down projections' epilogues (mid = x + o, out = mid + down), so
 * neither output has a buffer of its own; x and mid stay intact for the backward pass and the recomputation.
 */
export function recordLayerForward(c: LayerPlanContext, l: number, x: BufferRef, a: LayerActivations, out: BufferRef | null): void {
  const { gpu, plan, cfg, sites } = c;
  const w = c.weights.layers[l];
  const N = c.batch * c.seq;
  const H = cfg.hiddenSize;
  const f = cfg.features;
  const norm = { rows: N, cols: H, eps: cfg.rmsNormEps, wOffset: f.normOffset };
  const linear = (proj: ProjName, input: BufferRef, output: BufferRef, residual?: BufferRef) => {
    const lin = w.proj[proj];
    const args = { a: input, b: lin.weight, bFormat: lin.format, compute: lin.compute, c: output, M: N, N: lin.out, K: lin.in, transB: true, bias: lin.bias ?? undefined, residual };
    if (sites) sites.projection(l, proj, args, `l${l}.${proj}`);
    else recordMatmul(gpu, plan, args, `l${l}.${proj}`);
  };
  /** The projections of a fused group in one matmul, each part's output into its own block; false where they cannot be. */
  const fused = (key: 'qkv' | 'gateUp', input: BufferRef, outputs: BufferRef[]): boolean => {
    const fz = w.fused[key];
    const span = fz ? bindingSpan(outputs) : null;
    if (!fz || !span) return false;
    const args = {
      a: input, b: fz.weight, bFormat: fz.format, compute: fz.compute, c: span.binding, M: N, N: fz.out, K: fz.in, transB: true,
      bias: fz.bias ?? undefined, outSegments: fz.widths.map((width, i) => ({ width, offset: span.offsets[i] })),
    };
    const label = `l${l}.${key === 'qkv' ? 'qkv_proj' : 'gate_up_proj'}`;
    if (sites) sites.fusedProjection(l, fz.projs, args, label);
    else recordMatmul(gpu, plan, args, label);
    return true;
  };
  recordRmsNormForward(gpu, plan, norm, { x, w: w.inputNorm, y: a.h1, rstd: a.rstd1 }, `l${l}.input_norm`);
  const [pq, pk] = a.qk ? [a.qk.qRaw, a.qk.kRaw] : [a.q, a.k];
  if (!fused('qkv', a.h1, [pq, pk, a.v])) {
    linear('q_proj', a.h1, pq);
    linear('k_proj', a.h1, pk);
    linear('v_proj', a.h1, a.v);
  }
  if (a.qk) {
    // Per-head RMSNorm of q and k before RoPE: rows of head_dim columns sharing the [head_dim] weight.
    recordRmsNormForward(gpu, plan, headNorm(cfg, N, cfg.numHeads), { x: a.qk.qRaw, w: w.qNorm!, y: a.q, rstd: a.qk.rstdQ }, `l${l}.q_norm`);
    recordRmsNormForward(gpu, plan, headNorm(cfg, N, cfg.numKvHeads), { x: a.qk.kRaw, w: w.kNorm!, y: a.k, rstd: a.qk.rstdK }, `l${l}.k_norm`);
  }
  const tables = c.tables[l];
  if (tables) {
    recordRope(gpu, plan, 'forward', { tokens: N, heads: cfg.numHeads, headDim: cfg.headDim }, { x: a.q, positions: c.positions, tables }, `l${l}.rope_q`);
    recordRope(gpu, plan, 'forward', { tokens: N, heads: cfg.numKvHeads, headDim: cfg.headDim }, { x: a.k, positions: c.positions, tables }, `l${l}.rope_k`);
  }
  recordAttentionForward(gpu, plan, attentionShape(c, l), { q: a.q, k: a.k, v: a.v, out: a.ctx, lse: a.lse }, `l${l}.attn`);
  if (a.sandwich) {
    linear('o_proj', a.ctx, a.sandwich.o);
    recordRmsNormForward(gpu, plan, norm, { x: a.sandwich.o, w: w.attnOutNorm!, y: a.sandwich.oN, rstd: a.sandwich.rstdO }, `l${l}.attn_out_norm`);
    recordAdd(gpu, plan, N * H, { a: x, b: a.sandwich.oN, out: a.mid }, `l${l}.resid_attn`);
  } else {
    linear('o_proj', a.ctx, a.mid, x);
  }
  recordRmsNormForward(gpu, plan, norm, { x: a.mid, w: w.postNorm, y: a.h2, rstd: a.rstd2 }, `l${l}.post_norm`);
  if (!fused('gateUp', a.h2, [a.gate, a.up])) {
    linear('gate_proj', a.h2, a.gate);
    linear('up_proj', a.h2, a.up);
  }
  recordSwigluForward(gpu, plan, N * cfg.intermediateSize, { gate: a.gate, up: a.up, act: a.act }, `l${l}.mlp_act`, f.mlpActivation);
  if (!out && !a.sandwich) {
    sites?.forwardSaved(l, 'down_proj', a.act);
    return;
  }
  if (!a.sandwich) {
    linear('down_proj', a.act, out!, a.mid);
    return;
  }
  linear('down_proj', a.act, a.sandwich.down);
  recordRmsNormForward(gpu, plan, norm, { x: a.sandwich.down, w: w.mlpOutNorm!, y: a.sandwich.downN, rstd: a.sandwich.rstdD }, `l${l}.mlp_out_norm`);
  if (out) recordAdd(gpu, plan, N * H, { a: a.mid, b: a.sandwich.downN, out }, `l${l}.resid_mlp`);
}

/** The per-head q/k norm: one row per (token, head), head_dim columns. */
function headNorm(cfg: ModelConfig, tokens: number, heads: number) {
  return { rows: tokens * heads, cols: cfg.headDim, eps: cfg.rmsNormEps, wOffset: cfg.features.normOffset };
}

/**
 * Layer l's backward: on entry g.dX holds d loss / d (layer output); the LoRA gradients of the layer's sites go into
 * the bank's gradients and, when `below` (a lower layer has sites), g.dX ends as d loss / d (layer input `x`). Parts
 * that feed no LoRA gradient are skipped.
 */
export function recordLayerBackward(c: LayerPlanContext, l: number, x: BufferRef, a: LayerActivations, g: LayerGradScratch, below: boolean): void {
  const { gpu, plan, cfg } = c;
  const sites = c.sites!;
  const w = c.weights.layers[l];
  const N = c.batch * c.seq;
  const norm = { rows: N, cols: cfg.hiddenSize, eps: cfg.rmsNormEps, wOffset: cfg.features.normOffset };
  /** LoRA grads of one projection, and dx (=, or += when accumulate) of its input when wanted. */
  const linear = (proj: ProjName, dy: BufferRef, input: BufferRef, dx: BufferRef | null, accumulate: boolean) => {
    sites.backwardGrads(l, proj, dy, input);
    if (dx) inputGradient(proj, dy, dx, accumulate);
  };
  const inputGradient = (proj: ProjName, dy: BufferRef, dx: BufferRef, accumulate: boolean) => {
    const lin = w.proj[proj];
    sites.inputGradient(l, proj, { a: dy, b: lin.weight, bFormat: lin.format, c: dx, M: N, N: lin.in, K: lin.out, beta: accumulate ? 1 : 0 }, `l${l}.${proj}.bwd.dx`);
  };
  /**
   * The projections of one input (q/k/v, gate/up): their LoRA gradients (grouped by shape), then, when `dx` is wanted,
   * dx = Σ dy_i W_i (+ the sites' du · A): one matmul over the parts' output gradients where the group is fused, else
   * one per projection, accumulating.
   */
  const group = (key: 'qkv' | 'gateUp', dys: BufferRef[], input: BufferRef, dx: BufferRef | null) => {
    const projs = FUSED_GROUPS[key];
    sites.backwardGradsGroup(l, projs, dys, input);
    if (!dx) return;
    const fz = w.fused[key];
    const span = fz ? bindingSpan(dys) : null;
    if (!fz || !span) {
      projs.forEach((proj, i) => inputGradient(proj, dys[i], dx, i > 0));
      return;
    }
    const args: MatmulArgs & { kSegments: NonNullable<MatmulArgs['kSegments']> } = {
      a: span.binding, b: fz.weight, bFormat: fz.format, c: dx, M: N, N: fz.in, K: fz.out,
      kSegments: fz.widths.map((width, i) => ({ width, offset: span.offsets[i] })),
    };
    sites.fusedInputGradient(l, fz.projs, args, `l${l}.${key === 'qkv' ? 'qkv_proj' : 'gate_up_proj'}.bwd.dx`);
  };
  const needAttnInner = below || sites.has(l, 'q_proj', 'k_proj', 'v_proj');
  const needMidGrad = needAttnInner || sites.has(l, 'o_proj');
  const needMlpInner = needMidGrad || sites.has(l, 'gate_proj', 'up_proj');

  // With sandwich norms the MLP output went through post_feedforward_layernorm: its gradient is that norm's backward.
  if (a.sandwich) {
    recordRmsNormBackward(gpu, plan, norm, { x: a.sandwich.down, w: w.mlpOutNorm!, rstd: a.sandwich.rstdD, dy: g.dX, dx: g.dDown!, accumulate: false }, `l${l}.mlp_out_norm.bwd`);
  }
  linear('down_proj', a.sandwich ? g.dDown! : g.dX, a.act, needMlpInner ? g.dact : null, false);
  if (needMlpInner) {
    recordSwigluBackward(gpu, plan, N * cfg.intermediateSize, { gate: a.gate, up: a.up, dAct: g.dact, dGate: g.dgate, dUp: g.dup }, `l${l}.mlp_act.bwd`, cfg.features.mlpActivation);
    group('gateUp', [g.dgate, g.dup], a.h2, needMidGrad ? g.dh : null);
  }
  if (!needMidGrad) return;
  recordRmsNormBackward(gpu, plan, norm, { x: a.mid, w: w.postNorm, rstd: a.rstd2, dy: g.dh, dx: g.dX, accumulate: true }, `l${l}.post_norm.bwd`);
  if (a.sandwich) {
    recordRmsNormBackward(gpu, plan, norm, { x: a.sandwich.o, w: w.attnOutNorm!, rstd: a.sandwich.rstdO, dy: g.dX, dx: g.dO!, accumulate: false }, `l${l}.attn_out_norm.bwd`);
  }
  linear('o_proj', a.sandwich ? g.dO! : g.dX, a.ctx, needAttnInner ? g.dctx : null, false);
  if (!needAttnInner) return;
  recordAttentionBackward(gpu, plan, attentionShape(c, l),
    { q: a.q, k: a.k, v: a.v, out: a.ctx, lse: a.lse, dOut: g.dctx, delta: g.attnDelta, dq: g.dq, dk: g.dk, dv: g.dv }, `l${l}.attn.bwd`);
  const tables = c.tables[l];
  if (tables) {
    recordRope(gpu, plan, 'backward', { tokens: N, heads: cfg.numHeads, headDim: cfg.headDim }, { x: g.dq, positions: c.positions, tables }, `l${l}.rope_q.bwd`);
    recordRope(gpu, plan, 'backward', { tokens: N, heads: cfg.numKvHeads, headDim: cfg.headDim }, { x: g.dk, positions: c.positions, tables }, `l${l}.rope_k.bwd`);
  }
  let dq = g.dq;
  let dk = g.dk;
  if (a.qk) {
    // Through the per-head norms (their inputs are the projections' outputs).
    recordRmsNormBackward(gpu, plan, headNorm(cfg, N, cfg.numHeads), { x: a.qk.qRaw, w: w.qNorm!, rstd: a.qk.rstdQ, dy: g.dq, dx: g.dqRaw!, accumulate: false }, `l${l}.q_norm.bwd`);
    recordRmsNormBackward(gpu, plan, headNorm(cfg, N, cfg.numKvHeads), { x: a.qk.kRaw, w: w.kNorm!, rstd: a.qk.rstdK, dy: g.dk, dx: g.dkRaw!, accumulate: false }, `l${l}.k_norm.bwd`);
    dq = g.dqRaw!;
    dk = g.dkRaw!;
  }
  group('qkv', [dq, dk, g.dv], a.h1, below ? g.dh : null);
  if (below) {
    recordRmsNormBackward(gpu, plan, norm, { x, w: w.inputNorm, rstd: a.rstd1, dy: g.dh, dx: g.dX, accumulate: true }, `l${l}.input_norm.bwd`);
  }
}

function attentionShape(c: LayerPlanContext, l: number) {
  const f = c.cfg.features;
  return {
    batch: c.batch, seq: c.seq, heads: c.cfg.numHeads, kvHeads: c.cfg.numKvHeads, headDim: c.cfg.headDim,
    scale: f.attentionScale, window: f.layers[l].window,
  };
}

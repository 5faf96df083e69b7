// Builds the GPU plan of one greedy-decoding step with a KV cache: one new token per sequence runs
// through every layer (with the adapter bank's LoRA blocks and the block mixture decided on the
// prompt), appends its keys and values to the cache at its position, attends to the cache, and
// produces next-token logits. The prefill is the ordinary forward plan, whose keys and values the
// session copies into the cache.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import { Plan } from '../gpu/plan.ts';
import type { StepParams } from '../gpu/step-params.ts';
import { recordAttentionDecode, recordKvCacheWrite } from '../gpu/kernels/attention-decode.ts';
import { recordAdd, recordScaleInPlace, recordSwigluForward } from '../gpu/kernels/elementwise.ts';
import { recordMatmul } from '../gpu/kernels/matmul.ts';
import { recordRmsNormForward } from '../gpu/kernels/rmsnorm.ts';
import { recordRope } from '../gpu/kernels/rope.ts';
import type { ModelConfig } from '../model/config.ts';
import type { ProjName } from '../model/peft.ts';
import type { Bank } from './bank.ts';
import type { GpuWeights } from './gpu-weights.ts';
import { recordHeadInSlices } from './head-slices.ts';
import { LoraSites } from './lora-sites.ts';
import { layerRopeTables } from './rope-layers.ts';
import { recordVocabGather } from './vocab-table.ts';

export interface DecodePlan {
  plan: Plan;
  batch: number;
  maxSeq: number;
  kvDim: number;
  /** [batch] u32 the token fed at this step. */
  ids: BufferRef;
  /** [batch] u32 its position (the cache slot it fills). */
  pos: BufferRef;
  /** [batch, J] block mixture (copied from the prefill's router, or written by the caller). */
  mix: BufferRef | null;
  /** Per layer [batch, maxSeq, kvDim]. */
  caches: { k: BufferRef; v: BufferRef }[];
  /** [batch, vocab]. */
  logits: BufferRef;
  destroy(): void;
}

export function buildDecodePlan(gpu: Gpu, model: { cfg: ModelConfig; weights: GpuWeights; bank: Bank | null; step: StepParams }, batch: number, maxSeq: number): DecodePlan {
  const { cfg, weights, bank } = model;
  if (bank?.spec.head) throw new Error('decoding needs the language-model head, not a classification head');
  const B = batch;
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const D = cfg.headDim;
  const qDim = cfg.numHeads * D;
  const kvDim = cfg.numKvHeads * D;
  const V = cfg.vocabSize;
  const owned: GPUBuffer[] = [];
  const buf = (label: string, floats: number): BufferRef => {
    const b = gpu.createBuffer(label, floats * 4);
    owned.push(b);
    return { buffer: b, offset: 0, size: floats * 4 };
  };
  const plan = new Plan(`decode.${B}x${maxSeq}`);
  const ids = buf('decode.ids', B);
  const pos = buf('decode.pos', B);
  const f = cfg.features;
  const layerTables = layerRopeTables(cfg, maxSeq, (label, data) => {
    const b = buf(label, data.length);
    gpu.write(b, data);
    return b;
  });
  const caches = Array.from({ length: cfg.numLayers }, (_, l) => ({ k: buf(`l${l}.cache.k`, B * maxSeq * kvDim), v: buf(`l${l}.cache.v`, B * maxSeq * kvDim) }));
  const x = buf('decode.x', B * H);
  const h = buf('decode.h', B * H);
  const rstd = buf('decode.rstd', B);
  const q = buf('decode.q', B * qDim);
  const k = buf('decode.k', B * kvDim);
  // Per-head q/k norms read the projections from here and write q and k.
  const qRaw = f.qkNorm ? buf('decode.q_raw', B * qDim) : null;
  const kRaw = f.qkNorm ? buf('decode.k_raw', B * kvDim) : null;
  const rstdHeads = f.qkNorm ? buf('decode.rstd_heads', B * cfg.numHeads) : null;
  // Sandwich norms: the normalised attention or MLP output before its residual add.
  const outN = f.sandwichNorms ? buf('decode.out_normed', B * H) : null;
  const v = buf('decode.v', B * kvDim);
  const ctx = buf('decode.ctx', B * qDim);
  const o = buf('decode.o', B * H);
  const mid = buf('decode.mid', B * H);
  const gate = buf('decode.gate', B * I);
  const up = buf('decode.up', B * I);
  const act = buf('decode.act', B * I);
  const down = buf('decode.down', B * H);
  const logits = buf('decode.logits', B * V);
  const mix = bank && bank.blocks > 1 ? buf('decode.mix', B * bank.blocks) : null;
  const sites = bank
    ? new LoraSites({ gpu, plan, bank, tokens: B, seq: 1, dropout: 0, step: model.step.buffer, backward: false, shareLayers: true, mix, dmix: null, alloc: buf })
    : null;
  const linear = (l: number, proj: ProjName, input: BufferRef, out: BufferRef) => {
    const lin = weights.layers[l].proj[proj];
    const args = { a: input, b: lin.weight, bFormat: lin.format, compute: lin.compute, c: out, M: B, N: lin.out, K: lin.in, transB: true, bias: lin.bias ?? undefined };
    if (sites) sites.projection(l, proj, args, `l${l}.${proj}`);
    else recordMatmul(gpu, plan, args, `l${l}.${proj}`);
  };

  const norm = { rows: B, cols: H, eps: cfg.rmsNormEps, wOffset: f.normOffset };
  const headNorm = (heads: number) => ({ rows: B * heads, cols: D, eps: cfg.rmsNormEps, wOffset: f.normOffset });
  recordVocabGather(gpu, plan, weights.embed, B, { ids, out: x });
  if (f.embedScale !== 1) recordScaleInPlace(gpu, plan, B * H, f.embedScale, { dx: x }, 'embed_scale');
  for (let l = 0; l < cfg.numLayers; l++) {
    const w = weights.layers[l];
    recordRmsNormForward(gpu, plan, norm, { x, w: w.inputNorm, y: h, rstd }, `l${l}.input_norm`);
    if (qRaw && kRaw && rstdHeads) {
      linear(l, 'q_proj', h, qRaw);
      linear(l, 'k_proj', h, kRaw);
      recordRmsNormForward(gpu, plan, headNorm(cfg.numHeads), { x: qRaw, w: w.qNorm!, y: q, rstd: rstdHeads }, `l${l}.q_norm`);
      recordRmsNormForward(gpu, plan, headNorm(cfg.numKvHeads), { x: kRaw, w: w.kNorm!, y: k, rstd: rstdHeads }, `l${l}.k_norm`);
    } else {
      linear(l, 'q_proj', h, q);
      linear(l, 'k_proj', h, k);
    }
    linear(l, 'v_proj', h, v);
    const tables = layerTables[l];
    if (tables) {
      recordRope(gpu, plan, 'forward', { tokens: B, heads: cfg.numHeads, headDim: D }, { x: q, positions: pos, tables }, `l${l}.rope_q`);
      recordRope(gpu, plan, 'forward', { tokens: B, heads: cfg.numKvHeads, headDim: D }, { x: k, positions: pos, tables }, `l${l}.rope_k`);
    }
    recordKvCacheWrite(gpu, plan, { batch: B, maxSeq, dim: kvDim }, { src: k, cache: caches[l].k, pos }, `l${l}.cache_k`);
    recordKvCacheWrite(gpu, plan, { batch: B, maxSeq, dim: kvDim }, { src: v, cache: caches[l].v, pos }, `l${l}.cache_v`);
    recordAttentionDecode(gpu, plan, { batch: B, maxSeq, heads: cfg.numHeads, kvHeads: cfg.numKvHeads, headDim: D, scale: f.attentionScale, window: f.layers[l].window },
      { q, kCache: caches[l].k, vCache: caches[l].v, pos, out: ctx }, `l${l}.attn`);
    linear(l, 'o_proj', ctx, o);
    if (outN) recordRmsNormForward(gpu, plan, norm, { x: o, w: w.attnOutNorm!, y: outN, rstd }, `l${l}.attn_out_norm`);
    recordAdd(gpu, plan, B * H, { a: x, b: outN ?? o, out: mid }, `l${l}.resid_attn`);
    recordRmsNormForward(gpu, plan, norm, { x: mid, w: w.postNorm, y: h, rstd }, `l${l}.post_norm`);
    linear(l, 'gate_proj', h, gate);
    linear(l, 'up_proj', h, up);
    recordSwigluForward(gpu, plan, B * I, { gate, up, act }, `l${l}.mlp_act`, f.mlpActivation);
    linear(l, 'down_proj', act, down);
    if (outN) recordRmsNormForward(gpu, plan, norm, { x: down, w: w.mlpOutNorm!, y: outN, rstd }, `l${l}.mlp_out_norm`);
    recordAdd(gpu, plan, B * H, { a: mid, b: outN ?? down, out: x }, `l${l}.resid_mlp`);
  }
  recordRmsNormForward(gpu, plan, norm, { x, w: weights.finalNorm, y: h, rstd }, 'final_norm');
  recordHeadInSlices(gpu, plan, { rows: B }, { hidden: h, table: weights.lmHead, logits }, buf, 'lm_head');
  return { plan, batch: B, maxSeq, kvDim, ids, pos, mix, caches, logits, destroy: () => owned.forEach((b) => gpu.destroyBuffer(b)) };
}

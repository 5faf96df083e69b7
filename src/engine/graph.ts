// Builds the transformer's GPU plan for one batch shape: forward (embedding, SAPT routing, decoder
// layers with the adapter bank's LoRA blocks, final norm, logits or a classification head), the
// masked cross-entropy (plus LwF distillation), and the backward pass into the bank's gradients.
// Activation buffers are allocated here once; a step only writes token ids, targets and the
// per-step uniforms, replays the plan and reads back the loss. The optimizer is a separate plan.
// Two options trade time for memory without changing the loss or the gradients: layer
// recomputation (src/engine/decoder-layer.ts) and the chunked loss (src/engine/chunked-loss.ts).
import type { BufferRef, Gpu } from '../gpu/context.ts';
import { Plan } from '../gpu/plan.ts';
import { StepParams } from '../gpu/step-params.ts';
import { recordScaleInPlace } from '../gpu/kernels/elementwise.ts';
import { recordEmbeddingForward } from '../gpu/kernels/embedding.ts';
import { recordRmsNormBackward, recordRmsNormForward } from '../gpu/kernels/rmsnorm.ts';
import type { ModelConfig } from '../model/config.ts';
import type { MemorySavings } from '../model/memory-estimate.ts';
import { HEAD_KEY, type Bank } from './bank.ts';
import { recordChunkedLoss } from './chunked-loss.ts';
import { headSliceRows, recordHeadInSlices } from './head-slices.ts';
import {
  allocLayerActivations, allocLayerGradScratch, recordLayerBackward, recordLayerForward, type LayerActivations, type LayerPlanContext,
} from './decoder-layer.ts';
import type { GpuWeights } from './gpu-weights.ts';
import { LoraSites } from './lora-sites.ts';
import { layerRopeTables } from './rope-layers.ts';
import { allocRouterBuffers, recordRouterBackward, recordRouterForward } from './router.ts';
import { recordVocabGather, wholeTable } from './vocab-table.ts';

/**
 * forward: logits only. prefill: a KV cache's keys and values, and the logits of one row per sequence (the position
 * written into `lastRows`, a prompt's last token). loss: logits and the mean loss. grad: also the bank's gradients.
 * train: gradients with LoRA dropout active (the optimizer plan runs after it).
 */
export type PlanMode = 'forward' | 'prefill' | 'loss' | 'grad' | 'train';

/** Modes without a loss: forward and prefill. */
export function isInference(mode: PlanMode): boolean {
  return mode === 'forward' || mode === 'prefill';
}

export interface ModelPlan {
  mode: PlanMode;
  batch: number;
  seq: number;
  plan: Plan;
  /** [batch * seq] u32 token ids. */
  ids: GPUBuffer;
  /** [batch * seq] i32 next-token targets (already shifted), -1 where ignored. */
  targets: GPUBuffer;
  /**
   * [logitRows, width] logits (overwritten by their gradient in grad and train modes): every row in forward mode,
   * and whenever the loss is not chunked; with a chunked loss the last chunk's rows; in prefill mode one row per sequence.
   */
  logits: BufferRef;
  /** Rows of `logits`: batch * seq, the loss chunk's rows, or batch in prefill mode. */
  logitRows: number;
  /** Prefill mode: [batch] u32, the row of the batch (b * seq + position) whose logits sequence b returns. */
  lastRows: GPUBuffer | null;
  /** One float: the mean loss over counted targets. */
  loss: BufferRef;
  /** [batch * seq] u32, 1 on prompt tokens: what SAPT's router pools over (when the bank has a router). */
  promptMask: BufferRef | null;
  /** [batch, J] block mixture: written by the caller when the bank has several blocks and no router; the router's output otherwise. */
  mix: BufferRef | null;
  /** [batch * seq, vocab] the teacher's logits for LwF distillation (when distilling). */
  teacher: BufferRef | null;
  /** Per layer, the keys (after RoPE) and values of every position: a KV cache's prefill (prefill mode only). */
  kv: { k: BufferRef; v: BufferRef }[];
  /** Width of the logits: the vocabulary, or the head's classes. */
  width: number;
  /** What the plan was built with (the loss chunk is 0 where the plan computes every row at once). */
  savings: MemorySavings;
  bytes: number;
  destroy(): void;
}

export interface GraphModel {
  cfg: ModelConfig;
  weights: GpuWeights;
  bank: Bank | null;
  step: StepParams;
  /** LwF: distil the teacher's logits (copied into plan.teacher before each step) into the loss. */
  distill?: { temperature: number; weight: number } | null;
}

/**
 * `savings` apply to the loss, gradient and training modes; forward and prefill plans compute no loss and keep one
 * set of layer activations. Every loss runs through the chunked loss (the language-model head, a classification head,
 * LwF's distillation), in chunks no larger than one binding of logits even where the policy asks for none.
 */
export function buildModelPlan(gpu: Gpu, model: GraphModel, mode: PlanMode, batch: number, seq: number,
  savings: MemorySavings = { recompute: false, lossChunkRows: 0 }): ModelPlan {
  const { cfg, weights, bank } = model;
  const N = batch * seq;
  const H = cfg.hiddenSize;
  const backward = mode === 'grad' || mode === 'train';
  if (backward && !bank) throw new Error('training needs a LoRA adapter: the base weights are frozen');
  const dropout = mode === 'train' && bank ? bank.spec.lora.dropout : 0;
  const head = bank?.spec.head ?? null;
  const V = head ? head.classes : cfg.vocabSize;
  const inference = isInference(mode);
  const distill = !inference && model.distill ? model.distill : null;
  if (distill && head) throw new Error('distillation applies to the language-model head only');
  // Loss chunks: the policy's, and in any case no more rows than one binding of logits holds (one chunk of every row is
  // the whole-batch loss); 0 where every row is computed at once.
  const fit = headSliceRows(N, V, gpu.bindingLimit);
  const policy = savings.lossChunkRows > 0 && savings.lossChunkRows < N ? savings.lossChunkRows : N;
  const chunkRows = inference || Math.min(policy, fit) >= N ? 0 : Math.min(policy, fit);
  // Without a backward pass nothing reads a layer's activations after the next layer ran: one set serves all (a
  // prefill keeps each layer's keys and values besides, for the KV cache), and two residual buffers take turns.
  const sharedActs = inference || savings.recompute || !backward;
  const recompute = backward && savings.recompute;

  const owned: GPUBuffer[] = [];
  let bytes = 0;
  const buf = (label: string, floats: number): BufferRef => {
    const b = gpu.createBuffer(label, floats * 4);
    owned.push(b);
    bytes += b.size;
    return { buffer: b, offset: 0, size: floats * 4 };
  };
  const plan = new Plan(`model.${mode}.${batch}x${seq}`);

  // Inputs.
  const ids = buf('ids', N).buffer;
  const targets = buf('targets', N);
  const positions = buf('positions', N);
  gpu.write(positions, Uint32Array.from({ length: N }, (_, n) => n % seq));
  const tables = layerRopeTables(cfg, seq, (label, data) => {
    const b = buf(label, data.length);
    gpu.write(b, data);
    return b;
  });

  // The residual stream (with a backward, numLayers + 1 entries: each layer's input, then the last output; else two
  // that alternate) and the layer activations.
  const residCount = backward ? cfg.numLayers + 1 : 2;
  const residBuffers = Array.from({ length: residCount }, (_, l) => buf(`resid.${l}`, N * H));
  const resid = Array.from({ length: cfg.numLayers + 1 }, (_, l) => residBuffers[l % residCount]);
  const acts: LayerActivations[] = sharedActs
    ? [allocLayerActivations(buf, cfg, batch, seq, 'layer')]
    : Array.from({ length: cfg.numLayers }, (_, l) => allocLayerActivations(buf, cfg, batch, seq, `l${l}`));
  const kvDim = cfg.numKvHeads * cfg.headDim;
  const kv = mode === 'prefill' ? Array.from({ length: cfg.numLayers }, (_, l) => ({ k: buf(`l${l}.k`, N * kvDim), v: buf(`l${l}.v`, N * kvDim) })) : [];
  const actsOf = (l: number): LayerActivations => (kv.length > 0 ? { ...acts[0], ...kv[l] } : acts[sharedActs ? 0 : l]);
  // Rows through the final norm and the head: every row, or one per sequence in prefill mode.
  const headRows = mode === 'prefill' ? batch : N;
  const hf = buf('final.h', headRows * H);
  const rstdF = buf('final.rstd', headRows);
  const loss = buf('loss', 1);
  const teacher = distill ? buf('teacher.logits', N * V) : null;

  // Routing: SAPT computes the block mixture on the GPU (once; the recomputed layers read it too); otherwise the caller writes it.
  const J = bank?.blocks ?? 1;
  const router = bank?.spec.router ? allocRouterBuffers(bank, batch, buf, backward) : null;
  const promptMask = router ? buf('prompt_mask', N) : null;
  const mix = router ? router.w : bank && J > 1 ? buf('mix', batch * J) : null;
  const dmix = router && backward ? buf('d.mix', batch * J) : null;
  const sites = bank
    ? new LoraSites({ gpu, plan, bank, tokens: N, seq, dropout, step: model.step.buffer, backward, shareLayers: sharedActs, mix, dmix, alloc: buf })
    : null;
  const layers: LayerPlanContext = { gpu, plan, cfg, weights, sites, batch, seq, positions, tables };

  // Forward.
  recordVocabGather(gpu, plan, weights.embed, N, { ids, out: resid[0] });
  // Gemma scales the gathered rows by sqrt(hidden) (transformers casts the scale to the weights' dtype; computing in f32 it is sqrt(hidden)).
  if (cfg.features.embedScale !== 1) recordScaleInPlace(gpu, plan, N * H, cfg.features.embedScale, { dx: resid[0] }, 'embed_scale');
  if (router && bank) recordRouterForward(gpu, plan, bank, router, { embed: resid[0], mask: promptMask!, seq });
  for (let l = 0; l < cfg.numLayers; l++) recordLayerForward(layers, l, resid[l], actsOf(l), resid[l + 1]);
  const xL = resid[cfg.numLayers];
  const normShape = { rows: N, cols: H, eps: cfg.rmsNormEps, wOffset: cfg.features.normOffset };
  const lastRows = mode === 'prefill' ? buf('last_rows', batch).buffer : null;
  if (lastRows) {
    // Only each sequence's last prompt row goes through the final norm and the head: [batch, width] logits, not [batch * seq, width].
    const xLast = buf('last.x', batch * H);
    recordEmbeddingForward(gpu, plan, { tokens: batch, cols: H }, { ids: lastRows, table: xL, out: xLast }, 'last_rows');
    recordRmsNormForward(gpu, plan, { ...normShape, rows: batch }, { x: xLast, w: weights.finalNorm, y: hf, rstd: rstdF }, 'final_norm');
  } else {
    recordRmsNormForward(gpu, plan, normShape, { x: xL, w: weights.finalNorm, y: hf, rstd: rstdF }, 'final_norm');
  }
  const g = backward ? allocLayerGradScratch(buf, cfg, batch, seq) : null;
  const dh = g?.dh ?? null;

  // Head and loss; in grad and train modes also d loss / d hf into dh (the layers' scratch, free until the backward reaches them).
  const table = head && bank ? wholeTable(bank.params.ref(bank.params.params, HEAD_KEY), V, H) : weights.lmHead;
  let logits: BufferRef;
  if (inference) {
    logits = buf('logits', headRows * V);
    recordHeadInSlices(gpu, plan, { rows: headRows }, { hidden: hf, table, logits }, buf, head ? 'head' : 'lm_head');
  } else {
    const dWeight = backward && head && bank?.trainSelection.head ? bank.params.ref(bank.params.trainingBuffers.grads, HEAD_KEY) : null;
    logits = recordChunkedLoss(gpu, plan, { rows: N, chunkRows: chunkRows > 0 ? chunkRows : N, backward, distill, head: head ? 'head' : 'lm_head' },
      { step: model.step.buffer, hidden: hf, table, targets, loss, dHidden: dh, teacher, dWeight }, buf);
  }

  if (bank && sites && g) {
    if (dmix) plan.clear(dmix.buffer, dmix.offset, dmix.size);
    recordRmsNormBackward(gpu, plan, normShape, { x: xL, w: weights.finalNorm, rstd: rstdF, dy: g.dh, dx: g.dX, accumulate: false }, 'final_norm.bwd');
    const lowest = Math.min(cfg.numLayers, sites.lowestLayer);
    for (let l = cfg.numLayers - 1; l >= lowest; l--) {
      // The shared set still holds the top layer's activations from the forward pass.
      if (recompute && l < cfg.numLayers - 1) recordLayerForward(layers, l, resid[l], actsOf(l), null);
      recordLayerBackward(layers, l, resid[l], actsOf(l), g, l > lowest);
    }
    if (router && dmix && bank.trainSelection.router) recordRouterBackward(gpu, plan, bank, router, { dmix, klScale: 0 }, false);
  }

  return {
    mode, batch, seq, plan, ids, targets: targets.buffer, logits, logitRows: chunkRows > 0 ? chunkRows : headRows, lastRows, loss, promptMask, mix, teacher,
    width: V, savings: { recompute, lossChunkRows: chunkRows }, bytes,
    kv,
    destroy: () => owned.forEach((b) => gpu.destroyBuffer(b)),
  };
}

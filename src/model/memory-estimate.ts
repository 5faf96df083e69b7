// Estimates a model's parameter count and the GPU memory a LoRA training step needs, from config.json alone, shown before
// a run starts; and resolves the memory policy (layer recomputation, a chunked loss) the engine builds its plans with,
// against the device's limits and a memory budget derived from the device (deviceMemoryBudget).
import { expectedWeightShapes } from './weights.ts';
import type { ModelConfig } from './config.ts';
import type { ProjName } from './peft.ts';
import { splitKScratchBytes } from '../gpu/matmul-plan.ts';

/** How a training step trades time for memory. Neither changes the loss or the gradients. */
export interface MemorySavings {
  /** Keep only each layer's input and recompute the layer's activations right before its backward pass. */
  recompute: boolean;
  /** Rows of logits the training loss computes at once; 0 computes all rows at once. */
  lossChunkRows: number;
}

/** What a run asks for; `resolveMemorySavings` turns it into MemorySavings for one batch shape. */
export interface MemoryPolicy {
  /** 'auto': recompute when the step's estimated memory without recomputation exceeds the budget. */
  recompute: boolean | 'auto';
  /** Bytes a training step may take; 'auto': deviceMemoryBudget of the device (2 GiB when no device is given). */
  budgetBytes: number | 'auto';
  /**
   * 'auto': with a device, all rows at once when the whole logits fit one binding and the budget, else chunks of at most
   * LOSS_CHUNK_BYTES of logits; without one, such chunks whenever the logits exceed LOSS_CHUNK_BYTES. 0: all rows at once.
   */
  lossChunkRows: number | 'auto';
}

/** The budget when nothing is known of the device: what a browser on a laptop can usually be expected to grant. */
export const DEFAULT_MEMORY_BUDGET_BYTES = 2 * 2 ** 30;

/** The most an automatic budget grants: WebGPU reports no memory size, so nothing it says justifies more. */
export const MAX_AUTO_BUDGET_BYTES = 8 * 2 ** 30;

export const DEFAULT_MEMORY_POLICY: MemoryPolicy = { recompute: 'auto', budgetBytes: 'auto', lossChunkRows: 'auto' };

/** What the memory policy reads of a device (src/gpu/device-memory.ts reads it from a Gpu). */
export interface DeviceMemory {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** A software adapter (SwiftShader, lavapipe): its buffers live in the host's memory. */
  isSoftware: boolean;
  /** The host's memory in bytes, where known (Node: os.totalmem(); a browser: navigator.deviceMemory, at most 8 GiB). */
  hostMemoryBytes: number | null;
}

/**
 * The automatic memory budget of a device. WebGPU exposes no memory size, so the rule is conservative:
 * - a software adapter allocates from the host: a quarter of the host's memory where known;
 * - a GPU must hold any single buffer up to maxBufferSize, so it has at least that much: maxBufferSize;
 * each clamped to [DEFAULT_MEMORY_BUDGET_BYTES, MAX_AUTO_BUDGET_BYTES] (2 to 8 GiB). A run that knows better sets
 * MemoryPolicy.budgetBytes (`--memory-budget`, an experiment's memoryBudgetMiB).
 */
export function deviceMemoryBudget(d: DeviceMemory): number {
  const raw = d.isSoftware && d.hostMemoryBytes ? d.hostMemoryBytes / 4 : d.maxBufferSize;
  return Math.min(MAX_AUTO_BUDGET_BYTES, Math.max(DEFAULT_MEMORY_BUDGET_BYTES, Math.floor(raw)));
}

/** The budget a policy resolves to on this device (or with none known). */
export function resolveBudget(budget: number | 'auto', device: DeviceMemory | undefined): number {
  if (budget !== 'auto') return budget;
  return device ? deviceMemoryBudget(device) : DEFAULT_MEMORY_BUDGET_BYTES;
}

/** The automatic loss chunk holds at most this many bytes of logits. */
export const LOSS_CHUNK_BYTES = 64 * 2 ** 20;

/** Automatic chunks start at multiples of this many rows, so every per-row f32 or i32 array binds at a 256-byte offset. */
export const LOSS_CHUNK_ALIGN_ROWS = 64;

export interface TrainingShape {
  batchSize: number;
  seqLen: number;
  rank: number;
  targets: readonly ProjName[];
  /** LoRA blocks held at once (methods with a module per task hold one per task). */
  blocks: number;
  /** LoRA input dropout (default 0); it costs no memory (the masks are regenerated where they apply). */
  dropout?: number;
  /** Default DEFAULT_MEMORY_POLICY, field by field. */
  memory?: Partial<MemoryPolicy>;
  /** The base weights' bytes on the GPU when known (a half-precision checkpoint keeps its projections in 2 bytes); default all f32. */
  weightsBytes?: number;
  /** The device the step runs on: its limits and memory decide the automatic policy (see MemoryPolicy). */
  device?: DeviceMemory;
}

export interface MemoryEstimate {
  /** Base weights as the engine keeps them (f32, or the checkpoint's half precision for projections). */
  weightsBytes: number;
  /** LoRA parameters with their gradients, the two AdamW moments and the optimizer's trainable mask. */
  loraBytes: number;
  /** Activations kept for the backward pass, its scratch, and the logits (their gradient overwrites them). */
  activationBytes: number;
  /**
   * Scratch a GPU's kernels share across plans (src/gpu/scratch.ts): split-K's partials of the LM head's backward and
   * the attention dk/dv backward's per-query-head partials, where those kernels split (0 on a software adapter).
   */
  scratchBytes: number;
  totalBytes: number;
  /** The largest single buffer; WebGPU caps one binding at maxStorageBufferBindingSize. */
  largestBufferBytes: number;
  /** The savings this estimate assumes (the policy resolved for this shape). */
  savings: MemorySavings;
  /** The budget the policy resolved to (the automatic one from the device, or the run's own). */
  budgetBytes: number;
}

const F32 = 4;

/** Parameters of the base model (embeddings counted once when tied). */
export function countParams(cfg: ModelConfig): number {
  let n = 0;
  for (const shape of expectedWeightShapes(cfg).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** [in, out] of each projection. */
export function projDims(cfg: ModelConfig): Record<ProjName, [number, number]> {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  return {
    q_proj: [H, q], k_proj: [H, kv], v_proj: [H, kv], o_proj: [q, H],
    gate_proj: [H, I], up_proj: [H, I], down_proj: [I, H],
  };
}

/** LoRA parameters per block: r × (in + out) for every target projection of every layer. */
export function loraParamsPerBlock(cfg: ModelConfig, rank: number, targets: readonly ProjName[]): number {
  const dims = projDims(cfg);
  let per = 0;
  for (const t of targets) per += rank * (dims[t][0] + dims[t][1]);
  return per * cfg.numLayers;
}

/**
 * Rows per chunk of the automatic chunked loss: the most multiples of LOSS_CHUNK_ALIGN_ROWS whose logits fit in
 * LOSS_CHUNK_BYTES (at least one multiple), or 0 (no chunking) when the whole batch fits in one chunk.
 */
export function autoLossChunkRows(vocab: number, tokens: number): number {
  const fit = Math.floor(LOSS_CHUNK_BYTES / (vocab * F32) / LOSS_CHUNK_ALIGN_ROWS) * LOSS_CHUNK_ALIGN_ROWS;
  const rows = Math.max(LOSS_CHUNK_ALIGN_ROWS, fit);
  return rows >= tokens ? 0 : rows;
}

/**
 * The policy of `shape.memory` (default DEFAULT_MEMORY_POLICY) for this model, batch shape and device. Automatic
 * choices prefer what costs least time: the whole loss at once, then a chunked loss (a few more dispatches), and
 * recomputation (a second forward pass) only when the step does not fit the budget otherwise.
 */
export function resolveMemorySavings(cfg: ModelConfig, shape: TrainingShape): MemorySavings {
  const policy = { ...DEFAULT_MEMORY_POLICY, ...shape.memory };
  const tokens = shape.batchSize * shape.seqLen;
  const budget = resolveBudget(policy.budgetBytes, shape.device);
  const fits = (s: MemorySavings) => estimateWith(cfg, shape, s).totalBytes <= budget;
  let chunks: number[];
  if (policy.lossChunkRows !== 'auto') {
    chunks = [policy.lossChunkRows > 0 && policy.lossChunkRows < tokens ? policy.lossChunkRows : 0];
  } else if (!shape.device) {
    chunks = [autoLossChunkRows(cfg.vocabSize, tokens)];
  } else {
    // All logits in one binding when the device allows it and the step then fits; else the automatic chunks.
    const d = shape.device;
    const whole = tokens * cfg.vocabSize * F32 <= Math.min(d.maxStorageBufferBindingSize, d.maxBufferSize);
    const chunked = autoLossChunkRows(cfg.vocabSize, tokens);
    chunks = whole ? [0, chunked] : [chunked];
  }
  const recomputes = policy.recompute === 'auto' ? [false, true] : [policy.recompute];
  for (const recompute of recomputes) {
    for (const lossChunkRows of chunks) if (fits({ recompute, lossChunkRows })) return { recompute, lossChunkRows };
  }
  // Nothing fits: the most saving choice allowed (the estimate then says by how much the step exceeds the budget).
  return { recompute: recomputes[recomputes.length - 1], lossChunkRows: chunks[chunks.length - 1] };
}

/**
 * A training step's GPU memory, counted the way src/engine/graph.ts allocates it. Per layer and token the backward
 * pass reads the normalised inputs, q/k/v, the attention output and its log-sum-exp per query head, the MLP's
 * gate/up/activation, the residuals and each adapted projection's drop(x)·Aᵀ; the fused attention
 * keeps nothing of size T², so without a chunked loss the total is linear in the number of tokens (but for RoPE's
 * [seq, headDim] tables). Recomputation
 * keeps one such set for all layers plus each layer's input; the chunked loss holds [chunk, vocab] logits instead of
 * [tokens, vocab].
 */
export function estimateTrainingMemory(cfg: ModelConfig, shape: TrainingShape): MemoryEstimate {
  return estimateWith(cfg, shape, resolveMemorySavings(cfg, shape));
}

function estimateWith(cfg: ModelConfig, shape: TrainingShape, savings: MemorySavings): MemoryEstimate {
  const tokens = shape.batchSize * shape.seqLen;
  const blocks = Math.max(1, shape.blocks);
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  // LoRA dropout is applied as the thin matmuls load a site's input: it keeps no dropped-out copy.
  const loraPerLayer = shape.targets.length * blocks * shape.rank;

  // Floats per token: h1, mid, h2; q, ctx; k, v; gate, up, act; two rstd; the lse per head. q/k norms keep the
  // projections before the norm and a rstd per head; sandwich norms keep the o and down projections' outputs, their
  // normalised forms and their rstd (without them o and down are added to the residual in their matmul's epilogue and
  // kept nowhere; src/engine/decoder-layer.ts).
  const f = cfg.features;
  const qkNorm = f.qkNorm ? q + kv + cfg.numHeads + cfg.numKvHeads : 0;
  const sandwich = f.sandwichNorms ? 4 * H + 2 : 0;
  const layer = 3 * H + 2 * q + 2 * kv + 3 * I + 2 + cfg.numHeads + loraPerLayer + qkNorm + sandwich;
  const layerInputs = (cfg.numLayers + 1) * H;
  // d u: one [tokens, blocks * rank] block per place a target takes in its fused group (q, k, v: 1 to 3; gate, up: 1 to 2),
  // since a fused input gradient reads every part's at once (src/engine/lora-sites.ts).
  const places = Math.max(1, ...shape.targets.map((t) => ({ k_proj: 2, v_proj: 3, up_proj: 2 } as Partial<Record<ProjName, number>>)[t] ?? 1));
  const backwardScratch = 2 * H + 2 * q + 2 * kv + 3 * I + cfg.numHeads + places * blocks * shape.rank
    + (f.qkNorm ? q + kv : 0) + (f.sandwichNorms ? 2 * H : 0);
  const finalNormAndInputs = H + 1 + 3;
  const perToken = layerInputs + (savings.recompute ? 1 : cfg.numLayers) * layer + backwardScratch + finalNormAndInputs;
  const logitRows = savings.lossChunkRows > 0 ? savings.lossChunkRows : tokens;
  const logits = logitRows * cfg.vocabSize;

  const weightsBytes = shape.weightsBytes ?? countParams(cfg) * F32;
  // Parameters, gradients, the two AdamW moments and the trainable mask (src/engine/lora-params.ts), all alike.
  const loraBytes = loraParamsPerBlock(cfg, shape.rank, shape.targets) * blocks * F32 * 5;
  // RoPE's cos and sin tables ([seq, headDim / 2] each, per distinct RoPE of the layers) and the loss.
  const ropes = new Set(f.layers.flatMap((l) => (l.rope ? [JSON.stringify(l.rope)] : []))).size;
  const perStep = ropes * shape.seqLen * cfg.headDim + 1;
  const activationBytes = (tokens * perToken + logits + logitRows + perStep) * F32;
  const scratchBytes = deviceScratchBytes(cfg, shape, logitRows, weightsBytes);
  return {
    weightsBytes, loraBytes, activationBytes, scratchBytes,
    totalBytes: weightsBytes + loraBytes + activationBytes + scratchBytes,
    largestBufferBytes: Math.max(cfg.vocabSize * H, logits, I * H, tokens * I) * F32,
    savings,
    budgetBytes: resolveBudget({ ...DEFAULT_MEMORY_POLICY, ...shape.memory }.budgetBytes, shape.device),
  };
}

/** WebGPU's default maxStorageBufferBindingSize: the limit assumed when no device is known. */
const DEFAULT_BINDING_BYTES = 128 * 2 ** 20;
const BIND_ALIGN = 256;

/**
 * The device scratch a training step binds on a GPU (none on a software adapter, whose kernels do not split):
 * - the attention dk/dv backward split by query head (src/gpu/kernels/flash-attention.ts) where a workgroup per block of
 *   64 keys of each key/value head would not fill the GPU: every query head's partial dk and dv;
 * - split-K's partials (src/gpu/matmul-plan.ts) of the largest product that splits K: the LM head's backward,
 *   d hidden = d logits · W, per loss chunk and vocabulary slice (slices of a half-precision table when the weights are
 *   kept in half precision), and the projections and their input gradients (alone or fused) when there are few tokens.
 * Each is one buffer shared by every plan, as large as its largest use.
 */
function deviceScratchBytes(cfg: ModelConfig, shape: TrainingShape, logitRows: number, weightsBytes: number): number {
  const d = shape.device;
  if (d?.isSoftware) return 0;
  const binding = d ? Math.min(d.maxStorageBufferBindingSize, d.maxBufferSize) : DEFAULT_BINDING_BYTES;
  const { batchSize: batch, seqLen: seq } = shape;
  let attention = 0;
  const group = cfg.numHeads / cfg.numKvHeads;
  if (group > 1 && batch * cfg.numKvHeads * Math.ceil(seq / 64) < 132) {
    const slices = group * batch * seq * cfg.numKvHeads * cfg.headDim * F32;
    attention = Math.ceil(slices / BIND_ALIGN) * BIND_ALIGN + slices;
  }
  const tokens = batch * seq;
  const H = cfg.hiddenSize;
  const V = cfg.vocabSize;
  const tableBytes = weightsBytes < countParams(cfg) * 3 ? 2 : F32;
  const sliceRows = V * H * tableBytes <= binding ? V : Math.max(2, Math.floor(binding / (H * tableBytes) / 2) * 2);
  const kLengths = [...new Set([sliceRows, V % sliceRows || sliceRows])];
  const rowCounts = [...new Set([logitRows, tokens % logitRows || logitRows])];
  let splitK = 0;
  for (const rows of rowCounts) for (const K of kLengths) splitK = Math.max(splitK, splitKScratchBytes(binding, rows, H, K));
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  const I = cfg.intermediateSize;
  // [in, out] of each projection and fused group: the forward x Wᵀ and the input gradient dy W.
  for (const [inDim, out] of [[H, q], [H, kv], [q, H], [H, I], [I, H], [H, q + 2 * kv], [H, 2 * I]]) {
    splitK = Math.max(splitK, splitKScratchBytes(binding, tokens, out, inDim, false, true), splitKScratchBytes(binding, tokens, inDim, out));
  }
  return attention + splitK;
}

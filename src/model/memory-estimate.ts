// Estimates a model's parameter count and the GPU memory a LoRA training step needs, from config.json alone, shown before a run starts.
import { expectedWeightShapes } from './weights.ts';
import type { ModelConfig } from './config.ts';
import type { ProjName } from './peft.ts';

export interface TrainingShape {
  batchSize: number;
  seqLen: number;
  rank: number;
  targets: readonly ProjName[];
  /** LoRA blocks held at once (methods with a module per task hold one per task). */
  blocks: number;
}

export interface MemoryEstimate {
  /** Base weights as the engine keeps them (f32). */
  weightsBytes: number;
  /** LoRA parameters with their gradients and the two AdamW moments. */
  loraBytes: number;
  /** Activations kept for the backward pass, and the logits with their gradient. */
  activationBytes: number;
  totalBytes: number;
  /** The largest single buffer; WebGPU caps one binding at maxStorageBufferBindingSize. */
  largestBufferBytes: number;
}

const F32 = 4;

/** Parameters of the base model (embeddings counted once when tied). */
export function countParams(cfg: ModelConfig): number {
  let n = 0;
  for (const shape of expectedWeightShapes(cfg).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** LoRA parameters per block: r × (in + out) for every target projection of every layer. */
export function loraParamsPerBlock(cfg: ModelConfig, rank: number, targets: readonly ProjName[]): number {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  const dims: Record<ProjName, [number, number]> = {
    q_proj: [H, q], k_proj: [H, kv], v_proj: [H, kv], o_proj: [q, H],
    gate_proj: [H, I], up_proj: [H, I], down_proj: [I, H],
  };
  let per = 0;
  for (const t of targets) per += rank * (dims[t][0] + dims[t][1]);
  return per * cfg.numLayers;
}

/**
 * An upper-end estimate of a training step's GPU memory. Per layer and token the backward pass keeps
 * the normalised inputs, q/k/v, the attention output, the MLP's gate/up/activation and the residuals
 * (about 8 hidden-sized and 3 intermediate-sized vectors) plus one log-sum-exp per query head (the
 * fused attention recomputes its probabilities, so nothing grows with T² and the total is linear in
 * the number of tokens).
 */
export function estimateTrainingMemory(cfg: ModelConfig, shape: TrainingShape): MemoryEstimate {
  const tokens = shape.batchSize * shape.seqLen;
  const weightsBytes = countParams(cfg) * F32;
  const loraBytes = loraParamsPerBlock(cfg, shape.rank, shape.targets) * Math.max(1, shape.blocks) * F32 * 4;
  const perLayer = tokens * (8 * cfg.hiddenSize + 3 * cfg.intermediateSize + cfg.numHeads);
  const logits = tokens * cfg.vocabSize;
  const activationBytes = (perLayer * cfg.numLayers + 2 * logits) * F32;
  const embedding = cfg.vocabSize * cfg.hiddenSize * F32;
  return {
    weightsBytes, loraBytes, activationBytes,
    totalBytes: weightsBytes + loraBytes + activationBytes,
    largestBufferBytes: Math.max(embedding, logits * F32, cfg.intermediateSize * cfg.hiddenSize * F32),
  };
}

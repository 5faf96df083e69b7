// What each supported architecture changes about the Llama decoder layer, read from config.json: the RMSNorm weight
// offset, q/k norms, Gemma's extra norms, the MLP activation, the attention scale, the embedding scale, and per layer
// the RoPE base (or none) and the sliding window. Defaults are transformers' config-class defaults.
import { FormatError } from '../io/errors.ts';
import type { Arch, RopeScaling } from './config.ts';

/** One layer's attention: its rotary embedding and its window. */
export interface LayerAttention {
  /** RoPE of q and k; null: the layer rotates nothing (SmolLM3's NoPE layers). */
  rope: { theta: number; scaling: RopeScaling | null } | null;
  /**
   * How many keys a query sees, itself included: key j is visible to query i when i - window < j <= i (transformers'
   * sliding_window_overlay, `kv_idx > q_idx - sliding_window`, on top of the causal mask). 0: every earlier key.
   */
  window: number;
}

export interface ArchFeatures {
  /** RMSNorm multiplies by (normOffset + w): 0 for Llama-likes, 1 for Gemma, whose norms scale by (1 + w). */
  normOffset: 0 | 1;
  /** RMSNorm over each head's q and k (weights [head_dim], model.layers.N.self_attn.q_norm / k_norm) before RoPE. */
  qkNorm: boolean;
  /**
   * Gemma's sandwich norms: post_attention_layernorm normalises the attention output before its residual add,
   * pre_feedforward_layernorm feeds the MLP and post_feedforward_layernorm normalises its output.
   */
  sandwichNorms: boolean;
  /** The gate's activation in down(act(gate(x)) * up(x)): SiLU, or GELU with the tanh approximation. */
  mlpActivation: 'silu' | 'gelu_tanh';
  /** Multiplies q·k: head_dim^-0.5, or Gemma's query_pre_attn_scalar^-0.5. */
  attentionScale: number;
  /** Multiplies the gathered embeddings: 1, or sqrt(hidden_size) for Gemma. */
  embedScale: number;
  layers: LayerAttention[];
}

type Json = Record<string, unknown>;

interface Base {
  hiddenSize: number;
  headDim: number;
  numLayers: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
}

function num(c: Json, key: string, file: string, fallback: number, integer = false): number {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isSafeInteger(v))) {
    throw new FormatError(file, `"${key}" must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function perLayerList(c: Json, key: string, file: string, layers: number): unknown[] | null {
  const v = c[key];
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.length !== layers) {
    throw new FormatError(file, `"${key}" must be a list with one entry per layer (${layers}), got ${JSON.stringify(v)}`);
  }
  return v;
}

function refuseSet(c: Json, key: string, file: string, what: string): void {
  if (c[key] !== undefined && c[key] !== null && c[key] !== false) {
    throw new FormatError(file, `"${key}": ${JSON.stringify(c[key])} is not supported (${what})`);
  }
}

function plain(base: Base, over: Partial<ArchFeatures> = {}): ArchFeatures {
  const rope = { theta: base.ropeTheta, scaling: base.ropeScaling };
  return {
    normOffset: 0, qkNorm: false, sandwichNorms: false, mlpActivation: 'silu', attentionScale: 1 / Math.sqrt(base.headDim), embedScale: 1,
    layers: Array.from({ length: base.numLayers }, () => ({ rope, window: 0 })),
    ...over,
  };
}

/** Gemma 3 (text): which layers slide, from "layer_types" or else the every-Nth-layer-is-global pattern. */
function gemma3(c: Json, file: string, base: Base): ArchFeatures {
  refuseSet(c, 'attn_logit_softcapping', file, 'attention logit soft-capping');
  refuseSet(c, 'final_logit_softcapping', file, 'final logit soft-capping');
  refuseSet(c, 'use_bidirectional_attention', file, 'bidirectional attention');
  const act = c.hidden_activation ?? c.hidden_act ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh') {
    throw new FormatError(file, `hidden_activation ${JSON.stringify(act)} is not supported (supported: gelu_pytorch_tanh)`);
  }
  const rp = c.rope_parameters;
  if (rp !== null && typeof rp === 'object' && ('full_attention' in rp || 'sliding_attention' in rp)) {
    throw new FormatError(file, '"rope_parameters" per layer type is not supported; give "rope_theta", "rope_local_base_freq" and "rope_scaling"');
  }
  const window = num(c, 'sliding_window', file, 4096, true);
  const types = perLayerList(c, 'layer_types', file, base.numLayers);
  // transformers: config.json may carry the pattern as "sliding_window_pattern" (older) or "_sliding_window_pattern".
  const pattern = num(c, 'sliding_window_pattern', file, num(c, '_sliding_window_pattern', file, 6, true), true);
  const sliding = (i: number): boolean => {
    if (!types) return (i + 1) % pattern !== 0;
    if (types[i] !== 'sliding_attention' && types[i] !== 'full_attention') {
      throw new FormatError(file, `layer_types[${i}] must be "sliding_attention" or "full_attention", got ${JSON.stringify(types[i])}`);
    }
    return types[i] === 'sliding_attention';
  };
  // Local layers rotate with their own base and no scaling (transformers builds rotary_emb_local from
  // rope_local_base_freq with rope_type "default"); global ones use rope_theta and rope_scaling.
  const local = { rope: { theta: num(c, 'rope_local_base_freq', file, 10000), scaling: null }, window };
  const global = { rope: { theta: base.ropeTheta, scaling: base.ropeScaling }, window: 0 };
  return plain(base, {
    normOffset: 1,
    qkNorm: true,
    sandwichNorms: true,
    mlpActivation: 'gelu_tanh',
    attentionScale: 1 / Math.sqrt(num(c, 'query_pre_attn_scalar', file, 256)),
    embedScale: Math.sqrt(base.hiddenSize),
    layers: Array.from({ length: base.numLayers }, (_, i) => (sliding(i) ? local : global)),
  });
}

/** SmolLM3: no_rope_layers[i] = 1 means layer i uses RoPE (transformers: `self.use_rope = config.no_rope_layers[layer_idx]`). */
function smollm3(c: Json, file: string, base: Base): ArchFeatures {
  const list = perLayerList(c, 'no_rope_layers', file, base.numLayers);
  const interval = num(c, 'no_rope_layer_interval', file, 4, true);
  const f = plain(base);
  f.layers = f.layers.map((layer, i) => {
    let useRope: boolean;
    if (list) {
      if (list[i] !== 0 && list[i] !== 1 && list[i] !== true && list[i] !== false) {
        throw new FormatError(file, `no_rope_layers[${i}] must be 0 or 1, got ${JSON.stringify(list[i])}`);
      }
      useRope = list[i] === 1 || list[i] === true;
    } else {
      useRope = (i + 1) % interval !== 0;
    }
    return useRope ? layer : { ...layer, rope: null };
  });
  return f;
}

export function architectureFeatures(arch: Arch, c: Json, file: string, base: Base): ArchFeatures {
  switch (arch) {
    case 'gemma3': return gemma3(c, file, base);
    case 'smollm3': return smollm3(c, file, base);
    case 'qwen3': return plain(base, { qkNorm: true });
    case 'llama':
    case 'qwen2': return plain(base);
  }
}

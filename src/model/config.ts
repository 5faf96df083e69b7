// Normalises a Hugging Face config.json for the supported decoder architectures and derives RoPE frequencies from it.
import { FormatError } from '../io/errors.ts';
import { architectureFeatures, type ArchFeatures } from './architectures.ts';

export type Arch = 'llama' | 'qwen2' | 'qwen3' | 'gemma3' | 'smollm3';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface ModelConfig {
  arch: Arch;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  tieWordEmbeddings: boolean;
  bias: { q: boolean; k: boolean; v: boolean; o: boolean; mlp: boolean };
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  /** What sets the architecture apart from Llama: norms, activation, attention scale, per-layer RoPE and windows. */
  features: ArchFeatures;
}

/** The Hugging Face class name of each architecture (the first entry of config.json's "architectures"). */
export const ARCHITECTURE_NAMES: Record<Arch, string> = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
  gemma3: 'Gemma3ForCausalLM',
  smollm3: 'SmolLM3ForCausalLM',
};
const ARCHITECTURES: Record<string, Arch> = Object.fromEntries(Object.entries(ARCHITECTURE_NAMES).map(([a, n]) => [n, a as Arch]));
/** Gemma 3's text-only config class says gemma3_text; "gemma3" is the multimodal wrapper, which is not supported. */
const MODEL_TYPES: Record<string, Arch> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3', gemma3_text: 'gemma3', smollm3: 'smollm3' };
const SUPPORTED_ROPE = ['default', 'linear', 'llama3'];

/** transformers' per-class defaults for fields that configs may leave out. */
const DEFAULTS: Record<Arch, { rmsNormEps: number; maxPositionEmbeddings: number; bos: number | null; eos: number | null; ropeTheta: number; tied: boolean }> = {
  llama: { rmsNormEps: 1e-6, maxPositionEmbeddings: 2048, bos: 1, eos: 2, ropeTheta: 10000, tied: false },
  qwen2: { rmsNormEps: 1e-6, maxPositionEmbeddings: 32768, bos: null, eos: null, ropeTheta: 10000, tied: false },
  qwen3: { rmsNormEps: 1e-6, maxPositionEmbeddings: 32768, bos: null, eos: null, ropeTheta: 10000, tied: false },
  gemma3: { rmsNormEps: 1e-6, maxPositionEmbeddings: 131072, bos: 2, eos: 1, ropeTheta: 1000000, tied: true },
  smollm3: { rmsNormEps: 1e-6, maxPositionEmbeddings: 32768, bos: 128000, eos: 128001, ropeTheta: 2000000, tied: true },
};

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function positiveInt(c: Json, key: string, file: string, fallback?: number): number {
  const v = c[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new FormatError(file, `missing "${key}"`);
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new FormatError(file, `"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function positiveNumber(v: unknown, key: string, file: string, fallback?: number): number {
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new FormatError(file, `missing "${key}"`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new FormatError(file, `"${key}" must be a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(c: Json, key: string, file: string, fallback: boolean): boolean {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new FormatError(file, `"${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function tokenId(v: unknown, key: string, file: string, fallback: number | null): number | null {
  if (v === undefined) return fallback;
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new FormatError(file, `"${key}" must be a token id, got ${JSON.stringify(v)}`);
  }
  return v;
}

function resolveArch(c: Json, file: string): Arch {
  const supported = Object.keys(ARCHITECTURES).join(', ');
  const archs = c.architectures;
  if (Array.isArray(archs) && archs.length > 0) {
    const name = archs[0];
    if (typeof name === 'string' && Object.prototype.hasOwnProperty.call(ARCHITECTURES, name)) return ARCHITECTURES[name];
    throw new FormatError(file, `architecture ${JSON.stringify(name)} is not supported (supported: ${supported})`);
  }
  const mt = c.model_type;
  if (typeof mt === 'string' && Object.prototype.hasOwnProperty.call(MODEL_TYPES, mt)) return MODEL_TYPES[mt];
  if (mt === 'gemma3') throw new FormatError(file, `model_type "gemma3" is the multimodal Gemma 3; only its text model is supported (model_type "gemma3_text", ${ARCHITECTURE_NAMES.gemma3})`);
  if (mt === undefined) {
    throw new FormatError(file, `missing "architectures" and "model_type" (supported: ${supported})`);
  }
  throw new FormatError(file, `model_type ${JSON.stringify(mt)} is not supported (supported: ${supported})`);
}

function parseRopeScaling(raw: unknown, file: string, key: string): RopeScaling | null {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) throw new FormatError(file, `"${key}" must be an object or null`);
  // Older configs say "type", newer ones "rope_type"; transformers reads either.
  const type = raw.rope_type ?? raw.type ?? 'default';
  const num = (k: string) => positiveNumber(raw[k], `${key}.${k}`, file);
  switch (type) {
    case 'default':
      return null;
    case 'linear':
      return { type: 'linear', factor: num('factor') };
    case 'llama3': {
      const s: RopeScaling = {
        type: 'llama3',
        factor: num('factor'),
        lowFreqFactor: num('low_freq_factor'),
        highFreqFactor: num('high_freq_factor'),
        originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
      };
      if (s.highFreqFactor <= s.lowFreqFactor) {
        throw new FormatError(file, `${key}: high_freq_factor (${s.highFreqFactor}) must exceed low_freq_factor (${s.lowFreqFactor})`);
      }
      return s;
    }
    default:
      throw new FormatError(file, `${key}: rope type ${JSON.stringify(type)} is not supported (supported: ${SUPPORTED_ROPE.join(', ')})`);
  }
}

/** Validates and normalises a parsed config.json; every problem is a FormatError naming `file` and the field. */
export function parseModelConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!isObject(json)) throw new FormatError(file, 'not a JSON object');
  const c = json;
  const arch = resolveArch(c, file);
  const d = DEFAULTS[arch];

  const hiddenSize = positiveInt(c, 'hidden_size', file);
  const intermediateSize = positiveInt(c, 'intermediate_size', file);
  const numLayers = positiveInt(c, 'num_hidden_layers', file);
  const numHeads = positiveInt(c, 'num_attention_heads', file);
  const numKvHeads = positiveInt(c, 'num_key_value_heads', file, numHeads);
  const vocabSize = positiveInt(c, 'vocab_size', file);
  if (numHeads % numKvHeads !== 0) {
    throw new FormatError(file, `num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  }
  let headDim: number;
  if (c.head_dim !== undefined && c.head_dim !== null) {
    headDim = positiveInt(c, 'head_dim', file);
  } else {
    if (hiddenSize % numHeads !== 0) {
      throw new FormatError(file, `hidden_size (${hiddenSize}) is not divisible by num_attention_heads (${numHeads}) and there is no "head_dim"`);
    }
    headDim = hiddenSize / numHeads;
  }
  if (headDim % 2 !== 0) throw new FormatError(file, `head dimension ${headDim} must be even for rotary embeddings`);

  if (arch !== 'gemma3') {
    const act = c.hidden_act ?? 'silu';
    if (act !== 'silu') throw new FormatError(file, `hidden_act ${JSON.stringify(act)} is not supported (supported: silu)`);
  }
  if ((arch === 'qwen2' || arch === 'qwen3' || arch === 'smollm3') && c.use_sliding_window === true) {
    throw new FormatError(file, '"use_sliding_window": true is not supported for this architecture (only Gemma 3\'s sliding-window layers are)');
  }

  // transformers 5 moved rope_theta and rope_scaling into one "rope_parameters" object.
  const ropeParams = isObject(c.rope_parameters) ? c.rope_parameters : null;
  const ropeTheta = ropeParams && ropeParams.rope_theta !== undefined
    ? positiveNumber(ropeParams.rope_theta, 'rope_parameters.rope_theta', file)
    : positiveNumber(c.rope_theta, 'rope_theta', file, d.ropeTheta);
  const ropeScaling = ropeParams && c.rope_scaling === undefined
    ? parseRopeScaling(ropeParams, file, 'rope_parameters')
    : parseRopeScaling(c.rope_scaling, file, 'rope_scaling');

  let eosTokenId: number | number[] | null;
  if (Array.isArray(c.eos_token_id)) {
    eosTokenId = c.eos_token_id.map((v, i) => tokenId(v, `eos_token_id[${i}]`, file, null) as number);
    if (eosTokenId.some((v) => v === null)) throw new FormatError(file, '"eos_token_id" list contains null');
  } else {
    eosTokenId = tokenId(c.eos_token_id, 'eos_token_id', file, d.eos);
  }

  // Qwen2 hard-codes bias on q/k/v and none on o; the others switch all four with one flag.
  const attnBias = arch === 'qwen2' ? true : bool(c, 'attention_bias', file, false);
  const mlpBias = arch === 'llama' || arch === 'smollm3' ? bool(c, 'mlp_bias', file, false) : false;
  const features = architectureFeatures(arch, c, file, { hiddenSize, headDim, numLayers, ropeTheta, ropeScaling });
  return {
    arch,
    hiddenSize,
    intermediateSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize,
    rmsNormEps: positiveNumber(c.rms_norm_eps, 'rms_norm_eps', file, d.rmsNormEps),
    ropeTheta,
    ropeScaling,
    tieWordEmbeddings: bool(c, 'tie_word_embeddings', file, d.tied),
    bias: { q: attnBias, k: attnBias, v: attnBias, o: arch === 'qwen2' ? false : attnBias, mlp: mlpBias },
    maxPositionEmbeddings: positiveInt(c, 'max_position_embeddings', file, d.maxPositionEmbeddings),
    bosTokenId: tokenId(c.bos_token_id, 'bos_token_id', file, d.bos),
    eosTokenId,
    features,
  };
}

/**
 * Inverse rotary frequencies, length headDim/2, computed in float64 and rounded once to f32. Follows
 * transformers' default, linear and llama3 rope initialisers (the llama3 one is _compute_llama3_parameters).
 */
export function ropeInverseFrequencies(cfg: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float32Array {
  const dim = cfg.headDim;
  const half = dim / 2;
  const out = new Float32Array(half);
  const s = cfg.ropeScaling;
  if (s !== null && s.type !== 'linear' && s.type !== 'llama3') {
    throw new Error(`rope scaling type ${JSON.stringify((s as { type: unknown }).type)} is not supported (supported: ${SUPPORTED_ROPE.join(', ')})`);
  }
  for (let i = 0; i < half; i++) {
    let f = 1 / Math.pow(cfg.ropeTheta, (2 * i) / dim);
    if (s?.type === 'linear') {
      f /= s.factor;
    } else if (s?.type === 'llama3') {
      const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
      const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowFreqWavelen) {
        f /= s.factor;
      } else if (wavelen >= highFreqWavelen) {
        const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        f = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
    out[i] = f;
  }
  return out;
}

/** [positions, headDim/2] cos and sin of position · inv_freq, each angle taken in f64 and rounded once to f32 (RoPE's tables for the engine and the ONNX export). */
export function ropeTables(invFreq: Float32Array | Float64Array, positions: number): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i];
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

// Named model shapes for the plan profiler and benchmarks: the config.json values of released checkpoints, and a
// folder holding such a config with zero weights in BF16 whose bytes are never written (the checkpoint's size is
// allocated but not touched, so it costs no memory until a reader converts it). An architecture the engine does not
// support yet is profiled as the nearest supported one, and says so.
import { memorySource, type FileSource } from '../src/io/files.ts';
import { parseModelConfig, type ModelConfig } from '../src/model/config.ts';
import { expectedWeightShapes } from '../src/model/weights.ts';
import { SMOL_CONFIG } from './models.ts';

/** config.json fields of each named model (the released files' values, those the engine reads). */
export const MODEL_SHAPES: Record<string, Record<string, unknown>> = {
  'smollm2-135m': SMOL_CONFIG,
  'smollm2-360m': {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 960, intermediate_size: 2560,
    num_hidden_layers: 32, num_attention_heads: 15, num_key_value_heads: 5, vocab_size: 49152,
    rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, max_position_embeddings: 8192, hidden_act: 'silu',
  },
  'qwen2.5-0.5b': {
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864,
    num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936,
    rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, max_position_embeddings: 32768, hidden_act: 'silu',
    use_sliding_window: false,
  },
  'qwen3-0.6b': {
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 1024, intermediate_size: 3072,
    num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128, vocab_size: 151936,
    rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, max_position_embeddings: 40960, hidden_act: 'silu',
    attention_bias: false,
  },
  'gemma-3-270m': {
    architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_size: 640, intermediate_size: 2048,
    num_hidden_layers: 18, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256, vocab_size: 262144,
    rms_norm_eps: 1e-6, rope_theta: 1000000, rope_local_base_freq: 10000, sliding_window: 512, query_pre_attn_scalar: 256,
    tie_word_embeddings: true, max_position_embeddings: 32768, hidden_activation: 'gelu_pytorch_tanh',
  },
};

/** What the nearest supported architecture leaves out, for configs the engine refuses today. */
const STAND_INS: Record<string, { as: Record<string, unknown>; note: string }> = {
  Qwen3ForCausalLM: {
    as: { architectures: ['LlamaForCausalLM'], model_type: 'llama', attention_bias: false },
    note: 'Qwen3 is not supported by this engine yet: profiled as Llama layers of the same shapes (head_dim 128, no q/k/v bias); the per-head q_norm/k_norm (two small RMSNorms a layer) are not counted',
  },
  Gemma3ForCausalLM: {
    as: { architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu', attention_bias: false },
    note: 'Gemma 3 is not supported by this engine yet: profiled as Llama layers of the same shapes (head_dim 256, SiLU for GELU-tanh, two norms a layer for four); the 512-token sliding window changes nothing at sequences up to 512',
  },
};

export interface ShapedModel {
  source: FileSource;
  config: ModelConfig;
  /** Set when the model is profiled as another architecture. */
  note: string | null;
}

/** The named model's config, parsed as the engine would, or as its stand-in architecture with a note saying so. */
export function namedModelConfig(name: string): { config: Record<string, unknown>; parsed: ModelConfig; note: string | null } {
  const raw = MODEL_SHAPES[name];
  if (!raw) throw new Error(`unknown model shape "${name}" (known: ${Object.keys(MODEL_SHAPES).join(', ')})`);
  try {
    return { config: raw, parsed: parseModelConfig(raw, `${name} config.json`), note: null };
  } catch (e) {
    const arch = (raw.architectures as string[])[0];
    const stand = STAND_INS[arch];
    if (!stand) throw e;
    const config = { ...raw, ...stand.as };
    return { config, parsed: parseModelConfig(config, `${name} config.json`), note: stand.note };
  }
}

/**
 * A Hugging Face folder in memory: `config` and a model.safetensors of zero BF16 weights of its exact shapes. The data
 * bytes are a fresh zeroed allocation that nothing writes, so the operating system backs them only once read.
 */
export function zeroWeightsSource(config: Record<string, unknown>, label: string): FileSource {
  const cfg = parseModelConfig(config);
  const header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> = {};
  let offset = 0;
  for (const [name, shape] of expectedWeightShapes(cfg)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const file = new Uint8Array(8 + head.length + offset);
  new DataView(file.buffer).setUint32(0, head.length, true);
  file.set(head, 8);
  return memorySource({ 'config.json': JSON.stringify(config), 'model.safetensors': file }, label);
}

/** A named shape with zero BF16 weights. */
export function shapedModel(name: string): ShapedModel {
  const { config, parsed, note } = namedModelConfig(name);
  return { source: zeroWeightsSource(config, `${name} shapes (zero BF16 weights)`), config: parsed, note };
}

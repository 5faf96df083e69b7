// Shared builders for the model-format tests: hand-made safetensors bytes and small model configs.
import { parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { createRng } from '../../src/model/rng.ts';
import type { HostTensor } from '../../src/model/weights.ts';

/** A safetensors file from a raw header (object or exact text) and data bytes, with no validation. */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  const dv = new DataView(out.buffer);
  const len = declaredLength ?? json.byteLength;
  dv.setUint32(0, len % 2 ** 32, true);
  dv.setUint32(4, Math.floor(len / 2 ** 32), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

export function u16Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Uint16Array(values).buffer);
}

/** A small Llama config.json; override any field. */
export function llamaJson(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    vocab_size: 10,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
    ...over,
  };
}

export function llamaConfig(over: Record<string, unknown> = {}): ModelConfig {
  return parseModelConfig(llamaJson(over));
}

/** Seeded random tensors for the given shapes. */
export function randomTensors(shapes: Map<string, number[]>, seed = 1): Map<string, HostTensor> {
  const rng = createRng(seed);
  const out = new Map<string, HostTensor>();
  for (const [name, shape] of shapes) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.normal();
    out.set(name, { shape: shape.slice(), data });
  }
  return out;
}

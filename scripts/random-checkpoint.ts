// Writes a Hugging Face model folder (config.json + model.safetensors) with a real model's config and random BF16 weights
// of its exact shapes and tensor names, tensor by tensor, for sizing and memory measurements; never commit the output.
// Usage: node --import tsx scripts/random-checkpoint.ts (--preset NAME | --config config.json) --out DIR
// Presets: smollm2-360m, qwen2.5-0.5b, llama-3.2-1b (their released config.json files).
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { parseModelConfig } from '../src/model/config.ts';
import { expectedWeightShapes } from '../src/model/weights.ts';

const PRESETS: Record<string, Record<string, unknown>> = {
  'smollm2-360m': {
    architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0,
    hidden_act: 'silu', hidden_size: 960, initializer_range: 0.02, intermediate_size: 2560, is_llama_config: true,
    max_position_embeddings: 8192, model_type: 'llama', num_attention_heads: 15, num_hidden_layers: 32, num_key_value_heads: 5,
    pretraining_tp: 1, rms_norm_eps: 1e-5, rope_interleaved: false, rope_scaling: null, rope_theta: 100000,
    tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.42.3', use_cache: true, vocab_size: 49152,
  },
  'qwen2.5-0.5b': {
    architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu',
    hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24,
    model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6,
    rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16',
    transformers_version: '4.40.1', use_cache: true, use_sliding_window: false, vocab_size: 151936,
  },
  'llama-3.2-1b': {
    architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: 128001,
    head_dim: 64, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192,
    max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 16,
    num_key_value_heads: 8, pretraining_tp: 1, rms_norm_eps: 1e-5,
    rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
    rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true,
    vocab_size: 128256,
  },
};

const { values } = parseArgs({ options: { preset: { type: 'string' }, config: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' } } });
if (!values.out || (!values.preset === !values.config)) {
  console.error('usage: random-checkpoint.ts (--preset NAME | --config config.json) --out DIR [--seed N]');
  console.error(`presets: ${Object.keys(PRESETS).join(', ')}`);
  process.exit(2);
}
const config = values.preset ? PRESETS[values.preset] : JSON.parse(readFileSync(values.config!, 'utf8'));
if (!config) throw new Error(`unknown preset ${values.preset} (known: ${Object.keys(PRESETS).join(', ')})`);
const shapes = expectedWeightShapes(parseModelConfig(config, 'config.json'));

// The header first: every tensor BF16, in the architecture's order, the JSON padded to 8 bytes as the writer does.
const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
let offset = 0;
for (const [name, shape] of shapes) {
  const bytes = shape.reduce((a, b) => a * b, 1) * 2;
  header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
  offset += bytes;
}
const json = new TextEncoder().encode(JSON.stringify(header));
const headerLen = Math.ceil(json.byteLength / 8) * 8;
const head = new Uint8Array(8 + headerLen).fill(0x20);
new DataView(head.buffer).setUint32(0, headerLen, true);
new DataView(head.buffer).setUint32(4, 0, true);
head.set(json, 8);

mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
const fd = openSync(join(values.out, 'model.safetensors'), 'w');
let position = 0;
const write = (b: Uint8Array) => {
  for (let done = 0; done < b.byteLength;) done += writeSync(fd, b, done, b.byteLength - done, position + done);
  position += b.byteLength;
};
write(head);
// Uniform values in ±0.05 (norms 1), as BF16 bits from a xorshift generator, written in 16 MiB pieces.
let state = (Number(values.seed ?? 1) * 2654435761) >>> 0 || 1;
const CHUNK = 8 << 20;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
for (const [name, shape] of shapes) {
  let left = shape.reduce((a, b) => a * b, 1);
  const norm = name.endsWith('norm.weight');
  while (left > 0) {
    const n = Math.min(left, CHUNK);
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      f32[0] = norm ? 1 : ((state >>> 0) / 4294967296 - 0.5) * 0.1;
      out[i] = u32[0] >>> 16;
    }
    write(new Uint8Array(out.buffer));
    left -= n;
  }
}
closeSync(fd);
console.log(`${values.out}/model.safetensors: ${shapes.size} tensors, ${position} bytes`);

// The models `npm run bench` measures and their batch shapes, shared by its Node and browser runs: the two bundled
// models and a random model with SmolLM2-135M's shapes, built in memory as a Hugging Face folder (in BF16, as the released
// checkpoint is, so its projections stay BF16 on the GPU).
import { memorySource, type FileSource } from '../src/io/files.ts';
import { parseModelConfig } from '../src/model/config.ts';
import type { ProjName } from '../src/model/peft.ts';
import { createRng } from '../src/model/rng.ts';
import { writeSafetensors } from '../src/model/safetensors.ts';
import { expectedWeightShapes } from '../src/model/weights.ts';

/** LoRA of every bench model: r = 8 on all seven projections. */
export const BENCH_LORA = {
  rank: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as ProjName[],
};

/** SmolLM2-135M's config.json, the shapes of the random model. */
export const SMOL_CONFIG = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 576, intermediate_size: 1536,
  num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152,
  rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, max_position_embeddings: 8192, hidden_act: 'silu',
};

/** A random model with the given config, as an in-memory HF folder (uniform weights in ±0.05, norms 1) saved as `dtype`. */
export function randomModel(config: Record<string, unknown>, dtype: 'F32' | 'BF16' = 'F32'): FileSource {
  const cfg = parseModelConfig(config);
  const rng = createRng(1);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, shape] of expectedWeightShapes(cfg)) {
    const n = shape.reduce((x, y) => x * y, 1);
    const data = new Float32Array(n);
    const isNorm = name.endsWith('norm.weight');
    for (let i = 0; i < n; i++) data[i] = isNorm ? 1 : (rng.uniform() * 2 - 1) * 0.05;
    tensors[name] = { shape, data };
  }
  return memorySource({ 'config.json': JSON.stringify(config), 'model.safetensors': writeSafetensors(tensors, undefined, { float32As: dtype }) }, `random ${dtype} model`);
}

export interface BenchModel {
  label: string;
  /** A folder under public/models, or null for the random SmolLM2-shaped model. */
  bundled: string | null;
  batch: number;
  seq: number;
  /** Each timing runs at least this long (one run at least). */
  minMs: number;
}

export interface BenchModelOptions {
  /** The adapter is a software one (SwiftShader, ~1 GFLOP/s): small shapes unless `full`. */
  software: boolean;
  /** Only the bundled models. */
  quick: boolean;
  full: boolean;
  smolBatch?: number;
  smolSeq?: number;
}

/** The models and shapes of a bench run. */
export function benchModels(o: BenchModelOptions): BenchModel[] {
  const big = o.full || !o.software;
  const models: BenchModel[] = [
    { label: 'tiny-random (bundled)', bundled: 'tiny-random', batch: 4, seq: 64, minMs: o.software ? 2000 : 1000 },
    { label: 'demo (bundled, pretrained)', bundled: 'demo', batch: 8, seq: 64, minMs: o.software ? 4000 : 1000 },
  ];
  if (!o.quick) {
    models.push({
      label: 'SmolLM2-135M shapes (random, BF16)', bundled: null,
      batch: o.smolBatch ?? (big ? 8 : 1), seq: o.smolSeq ?? (big ? 256 : 32), minMs: o.software ? 1 : 2000,
    });
  }
  return models;
}

/** The model's folder: a bundled one through `bundled` (a directory in Node, a URL in a page), or the random one. */
export function benchModelSource(model: BenchModel, bundled: (name: string) => FileSource): FileSource {
  return model.bundled ? bundled(model.bundled) : randomModel(SMOL_CONFIG, 'BF16');
}

// Tests config.json normalisation on real-world configs, its error messages, and RoPE inverse frequencies.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { FormatError } from '../../src/io/errors.ts';
import { parseModelConfig, ropeInverseFrequencies, type ModelConfig, type RopeScaling } from '../../src/model/config.ts';
import type { ArchFeatures } from '../../src/model/architectures.ts';
import { llamaJson } from './helpers.ts';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/model/${name}.config.json`, import.meta.url), 'utf8'));

function throwsFormat(fn: () => unknown, file: string, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" lacks "${f}"`);
    return true;
  });
}

const noBias = { q: false, k: false, v: false, o: false, mlp: false };

/** The features of a plain Llama-style model: every layer rotates with the global RoPE and sees every earlier key. */
function llamaFeatures(layers: number, headDim: number, theta: number, scaling: RopeScaling | null = null): ArchFeatures {
  return {
    normOffset: 0, qkNorm: false, sandwichNorms: false, mlpActivation: 'silu', attentionScale: 1 / Math.sqrt(headDim), embedScale: 1,
    layers: Array.from({ length: layers }, () => ({ rope: { theta, scaling }, window: 0 })),
  };
}

describe('parseModelConfig on published configs', () => {
  test('SmolLM2-135M', () => {
    assert.deepEqual(parseModelConfig(fixture('smollm2-135m')), {
      arch: 'llama', hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64,
      vocabSize: 49152, rmsNormEps: 1e-5, ropeTheta: 100000, ropeScaling: null, tieWordEmbeddings: true, bias: noBias,
      maxPositionEmbeddings: 8192, bosTokenId: 0, eosTokenId: 0, features: llamaFeatures(30, 64, 100000),
    } satisfies ModelConfig);
  });

  test('TinyLlama-1.1B-Chat', () => {
    assert.deepEqual(parseModelConfig(fixture('tinyllama-1.1b-chat')), {
      arch: 'llama', hiddenSize: 2048, intermediateSize: 5632, numLayers: 22, numHeads: 32, numKvHeads: 4, headDim: 64,
      vocabSize: 32000, rmsNormEps: 1e-5, ropeTheta: 10000, ropeScaling: null, tieWordEmbeddings: false, bias: noBias,
      maxPositionEmbeddings: 2048, bosTokenId: 1, eosTokenId: 2, features: llamaFeatures(22, 64, 10000),
    } satisfies ModelConfig);
  });

  test('Llama-3.2-1B with llama3 rope scaling', () => {
    assert.deepEqual(parseModelConfig(fixture('llama-3.2-1b')), {
      arch: 'llama', hiddenSize: 2048, intermediateSize: 8192, numLayers: 16, numHeads: 32, numKvHeads: 8, headDim: 64,
      vocabSize: 128256, rmsNormEps: 1e-5, ropeTheta: 500000,
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
      tieWordEmbeddings: true, bias: noBias, maxPositionEmbeddings: 131072, bosTokenId: 128000, eosTokenId: 128001,
      features: llamaFeatures(16, 64, 500000, { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }),
    } satisfies ModelConfig);
  });

  test('Qwen2.5-0.5B', () => {
    assert.deepEqual(parseModelConfig(fixture('qwen2.5-0.5b')), {
      arch: 'qwen2', hiddenSize: 896, intermediateSize: 4864, numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64,
      vocabSize: 151936, rmsNormEps: 1e-6, ropeTheta: 1000000, ropeScaling: null, tieWordEmbeddings: true,
      bias: { q: true, k: true, v: true, o: false, mlp: false },
      maxPositionEmbeddings: 32768, bosTokenId: 151643, eosTokenId: 151643, features: llamaFeatures(24, 64, 1000000),
    } satisfies ModelConfig);
  });

  test('Qwen3-0.6B: q/k norms, explicit head_dim 128 (hidden/heads is 64), no bias', () => {
    assert.deepEqual(parseModelConfig(fixture('qwen3-0.6b')), {
      arch: 'qwen3', hiddenSize: 1024, intermediateSize: 3072, numLayers: 28, numHeads: 16, numKvHeads: 8, headDim: 128,
      vocabSize: 151936, rmsNormEps: 1e-6, ropeTheta: 1000000, ropeScaling: null, tieWordEmbeddings: true, bias: noBias,
      maxPositionEmbeddings: 40960, bosTokenId: 151643, eosTokenId: 151645,
      features: { ...llamaFeatures(28, 128, 1000000), qkNorm: true },
    } satisfies ModelConfig);
  });

  test('gemma-3-270m: (1 + w) norms, sandwich norms, GELU-tanh, query_pre_attn_scalar, five sliding layers in six', () => {
    const cfg = parseModelConfig(fixture('gemma-3-270m'));
    assert.equal(cfg.arch, 'gemma3');
    assert.deepEqual([cfg.hiddenSize, cfg.intermediateSize, cfg.numLayers, cfg.numHeads, cfg.numKvHeads, cfg.headDim, cfg.vocabSize], [640, 2048, 18, 4, 1, 256, 262144]);
    assert.equal(cfg.tieWordEmbeddings, true);
    assert.deepEqual([cfg.bosTokenId, cfg.eosTokenId], [2, 1]);
    const f = cfg.features;
    assert.deepEqual([f.normOffset, f.qkNorm, f.sandwichNorms, f.mlpActivation], [1, true, true, 'gelu_tanh']);
    assert.equal(f.attentionScale, 1 / 16);
    assert.equal(f.embedScale, Math.sqrt(640));
    const globals = f.layers.flatMap((l, i) => (l.window === 0 ? [i] : []));
    assert.deepEqual(globals, [5, 11, 17]);
    for (const [i, l] of f.layers.entries()) {
      assert.deepEqual(l, globals.includes(i) ? { rope: { theta: 1e6, scaling: null }, window: 0 } : { rope: { theta: 10000, scaling: null }, window: 512 }, `layer ${i}`);
    }
    // Without layer_types the pattern decides, and rope_scaling applies to the global layers only.
    const { layer_types: _, ...rest } = fixture('gemma-3-270m') as Record<string, unknown>;
    const p = parseModelConfig({ ...rest, num_hidden_layers: 4, sliding_window_pattern: 2, rope_scaling: { rope_type: 'linear', factor: 8 } });
    assert.deepEqual(p.features.layers.map((l) => [l.window, l.rope?.theta, l.rope?.scaling?.type ?? null]),
      [[512, 10000, null], [0, 1e6, 'linear'], [512, 10000, null], [0, 1e6, 'linear']]);
  });

  test('SmolLM3-3B: every fourth layer without RoPE', () => {
    const cfg = parseModelConfig(fixture('smollm3-3b'));
    assert.equal(cfg.arch, 'smollm3');
    assert.deepEqual(cfg.features, { ...llamaFeatures(36, 128, 5000000), layers: cfg.features.layers });
    assert.deepEqual(cfg.features.layers.flatMap((l, i) => (l.rope === null ? [i] : [])), [3, 7, 11, 15, 19, 23, 27, 31, 35]);
    assert.equal(cfg.bosTokenId, null);
    // From the interval when the list is absent.
    const { no_rope_layers: _, ...rest } = fixture('smollm3-3b') as Record<string, unknown>;
    const p = parseModelConfig({ ...rest, num_hidden_layers: 6, no_rope_layer_interval: 3 });
    assert.deepEqual(p.features.layers.map((l) => l.rope !== null), [true, true, false, true, true, false]);
  });

  test('instruct-style eos list is kept as a list', () => {
    const cfg = parseModelConfig({ ...(fixture('llama-3.2-1b') as object), eos_token_id: [128001, 128008, 128009] });
    assert.deepEqual(cfg.eosTokenId, [128001, 128008, 128009]);
  });
});

describe('parseModelConfig details', () => {
  test('defaults: kv heads, head_dim, rope theta, ids, eps', () => {
    const cfg = parseModelConfig({ model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 50 });
    assert.equal(cfg.arch, 'llama');
    assert.equal(cfg.numKvHeads, 4);
    assert.equal(cfg.headDim, 8);
    assert.equal(cfg.ropeTheta, 10000);
    assert.equal(cfg.rmsNormEps, 1e-6);
    assert.equal(cfg.tieWordEmbeddings, false);
    assert.equal(cfg.bosTokenId, 1);
    assert.equal(cfg.eosTokenId, 2);
    const q = parseModelConfig({ model_type: 'qwen2', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 50 });
    assert.equal(q.arch, 'qwen2');
    assert.equal(q.bosTokenId, null);
    assert.deepEqual(q.bias, { q: true, k: true, v: true, o: false, mlp: false });
  });

  test('explicit head_dim wins over hidden/heads', () => {
    assert.equal(parseModelConfig(llamaJson({ head_dim: 6 })).headDim, 6);
  });

  test('Llama attention_bias and mlp_bias', () => {
    assert.deepEqual(parseModelConfig(llamaJson({ attention_bias: true, mlp_bias: true })).bias, { q: true, k: true, v: true, o: true, mlp: true });
  });

  test('rope_scaling forms', () => {
    assert.equal(parseModelConfig(llamaJson({ rope_scaling: { rope_type: 'default' } })).ropeScaling, null);
    assert.deepEqual(parseModelConfig(llamaJson({ rope_scaling: { type: 'linear', factor: 4 } })).ropeScaling, { type: 'linear', factor: 4 });
    assert.deepEqual(parseModelConfig(llamaJson({ rope_scaling: { rope_type: 'linear', factor: 2.5 } })).ropeScaling, { type: 'linear', factor: 2.5 });
  });

  test('transformers 5 rope_parameters', () => {
    const cfg = parseModelConfig(llamaJson({
      rope_theta: undefined,
      rope_parameters: { rope_type: 'llama3', rope_theta: 500000, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    }));
    assert.equal(cfg.ropeTheta, 500000);
    assert.deepEqual(cfg.ropeScaling, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    assert.equal(parseModelConfig(llamaJson({ rope_parameters: { rope_type: 'default', rope_theta: 1234 } })).ropeScaling, null);
  });
});

describe('parseModelConfig errors', () => {
  test('unsupported architecture lists the supported ones', () => {
    throwsFormat(() => parseModelConfig({ ...llamaJson(), architectures: ['GPT2LMHeadModel'] }, 'gpt2/config.json'),
      'gpt2/config.json', '"GPT2LMHeadModel" is not supported', 'LlamaForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'Gemma3ForCausalLM', 'SmolLM3ForCausalLM');
    throwsFormat(() => parseModelConfig({ ...llamaJson(), architectures: undefined, model_type: 'gemma3' }), 'config.json', 'multimodal', 'gemma3_text');
    throwsFormat(() => parseModelConfig({ ...llamaJson(), architectures: undefined, model_type: 'mistral' }), 'config.json', 'model_type "mistral"', 'LlamaForCausalLM');
    throwsFormat(() => parseModelConfig({ ...llamaJson(), architectures: undefined }), 'config.json', 'missing "architectures" and "model_type"');
    throwsFormat(() => parseModelConfig([1, 2]), 'config.json', 'not a JSON object');
  });

  test('missing or invalid required fields name the field', () => {
    for (const field of ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'vocab_size']) {
      throwsFormat(() => parseModelConfig(llamaJson({ [field]: undefined })), 'config.json', `missing "${field}"`);
    }
    throwsFormat(() => parseModelConfig(llamaJson({ num_hidden_layers: '2' })), 'config.json', '"num_hidden_layers" must be a positive integer', '"2"');
    throwsFormat(() => parseModelConfig(llamaJson({ hidden_size: 8.5 })), 'config.json', '"hidden_size"');
    throwsFormat(() => parseModelConfig(llamaJson({ rms_norm_eps: -1 })), 'config.json', '"rms_norm_eps"');
    throwsFormat(() => parseModelConfig(llamaJson({ tie_word_embeddings: 'yes' })), 'config.json', '"tie_word_embeddings"');
    throwsFormat(() => parseModelConfig(llamaJson({ eos_token_id: 'x' })), 'config.json', '"eos_token_id"');
  });

  test('heads must be a multiple of kv heads', () => {
    throwsFormat(() => parseModelConfig(llamaJson({ num_attention_heads: 4, num_key_value_heads: 3 })), 'config.json', 'num_attention_heads (4)', 'num_key_value_heads (3)');
  });

  test('hidden size not divisible by heads without head_dim', () => {
    throwsFormat(() => parseModelConfig(llamaJson({ hidden_size: 10, num_attention_heads: 4, num_key_value_heads: 4 })), 'config.json', 'hidden_size (10)');
  });

  test('unsupported features', () => {
    throwsFormat(() => parseModelConfig(llamaJson({ hidden_act: 'gelu' })), 'config.json', 'hidden_act "gelu"');
    throwsFormat(() => parseModelConfig({ ...(fixture('qwen2.5-0.5b') as object), use_sliding_window: true }), 'config.json', 'use_sliding_window');
    throwsFormat(() => parseModelConfig(llamaJson({ rope_scaling: { rope_type: 'yarn', factor: 4 } })), 'config.json', 'rope type "yarn"', 'llama3');
    throwsFormat(() => parseModelConfig(llamaJson({ rope_scaling: { type: 'llama3', factor: 8 } })), 'config.json', 'rope_scaling.low_freq_factor');
    throwsFormat(() => parseModelConfig(llamaJson({ rope_scaling: { type: 'linear' } })), 'config.json', 'missing "rope_scaling.factor"');
    const gemma = fixture('gemma-3-270m') as object;
    throwsFormat(() => parseModelConfig({ ...gemma, final_logit_softcapping: 30 }), 'config.json', 'final_logit_softcapping', 'soft-capping');
    throwsFormat(() => parseModelConfig({ ...gemma, attn_logit_softcapping: 50 }), 'config.json', 'attn_logit_softcapping');
    throwsFormat(() => parseModelConfig({ ...gemma, hidden_activation: 'gelu' }), 'config.json', 'hidden_activation "gelu"');
    throwsFormat(() => parseModelConfig({ ...gemma, layer_types: ['full_attention'] }), 'config.json', '"layer_types"', '18');
    throwsFormat(() => parseModelConfig({ ...(fixture('smollm3-3b') as object), no_rope_layers: [1, 0] }), 'config.json', '"no_rope_layers"', '36');
    throwsFormat(() => parseModelConfig({ ...(fixture('qwen3-0.6b') as object), use_sliding_window: true }), 'config.json', 'use_sliding_window');
  });
});

describe('ropeInverseFrequencies', () => {
  test('default: 1 / theta^(2i/D)', () => {
    assert.deepEqual([...ropeInverseFrequencies({ headDim: 4, ropeTheta: 10000, ropeScaling: null })], [1, Math.fround(0.01)]);
    const f = ropeInverseFrequencies({ headDim: 64, ropeTheta: 100000, ropeScaling: null });
    assert.equal(f.length, 32);
    for (let i = 0; i < 32; i++) assert.equal(f[i], Math.fround(100000 ** (-(2 * i) / 64)));
  });

  test('linear scaling divides by the factor', () => {
    const base = ropeInverseFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: null });
    const lin = ropeInverseFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: { type: 'linear', factor: 4 } });
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(lin[i] - base[i] / 4) <= 1e-7 * base[i]);
  });

  test('llama3 scaling matches an independent evaluation of the formula', () => {
    const cfg = parseModelConfig(fixture('llama-3.2-1b'));
    const got = ropeInverseFrequencies(cfg);
    // Written the way transformers writes it: whole-vector selects rather than branches.
    const D = 64, theta = 500000, factor = 32, lo = 1, hi = 4, old = 8192;
    const inv = Array.from({ length: D / 2 }, (_, i) => 1 / theta ** ((2 * i) / D));
    const wavelen = inv.map((f) => (2 * Math.PI) / f);
    const scaled = inv.map((f, i) => (wavelen[i] > old / lo ? f / factor : f));
    const smooth = wavelen.map((w) => (old / w - lo) / (hi - lo));
    const smoothed = scaled.map((f, i) => ((1 - smooth[i]) * f) / factor + smooth[i] * f);
    const medium = wavelen.map((w) => !(w < old / hi) && !(w > old / lo));
    const want = scaled.map((f, i) => (medium[i] ? smoothed[i] : f));
    assert.equal(got.length, 32);
    assert.equal(medium.filter(Boolean).length, 3, 'the fixture should exercise the smoothed band');
    for (let i = 0; i < 32; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1.2e-7 * want[i], `i=${i}: ${got[i]} vs ${want[i]}`);
  });

  test('llama3 scaling matches reference values from PyTorch (float64)', () => {
    const got = ropeInverseFrequencies(parseModelConfig(fixture('llama-3.2-1b')));
    // torch float64 evaluation of transformers' _compute_llama3_parameters for Llama-3.2-1B.
    const ref: Record<number, number> = {
      0: 1.0, 5: 0.12868737343265052, 14: 0.0032114459947525913, 15: 0.0012905479282092638,
      16: 0.00042955679655936815, 17: 9.70828780262767e-5, 18: 1.9461638184831125e-5, 31: 9.418306725434909e-8,
    };
    for (const [i, v] of Object.entries(ref)) assert.equal(got[Number(i)], Math.fround(v), `i=${i}`);
  });

  test('unknown rope type is a clear error', () => {
    const cfg = { headDim: 8, ropeTheta: 10000, ropeScaling: { type: 'yarn', factor: 2 } } as unknown as ModelConfig;
    assert.throws(() => ropeInverseFrequencies(cfg), /rope scaling type "yarn" is not supported/);
  });
});

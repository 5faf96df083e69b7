// Tests loading base weights from single and sharded safetensors checkpoints, and the errors for broken ones.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FormatError, MissingFileError } from '../../src/io/errors.ts';
import { memorySource, type FileSource } from '../../src/io/files.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { writeSafetensors } from '../../src/model/safetensors.ts';
import { expectedWeightShapes, loadWeights, type HostTensor, type WeightsProgress } from '../../src/model/weights.ts';
import { llamaConfig, llamaJson, randomTensors, rawSafetensors } from './helpers.ts';

/** Splits tensors into shards at the given layer boundary and builds the index, as transformers does. */
function sharded(tensors: Map<string, HostTensor>, pick: (name: string) => 1 | 2, extra: Record<string, HostTensor> = {}) {
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const shards: Record<string, HostTensor>[] = [{}, {}];
  const weightMap: Record<string, string> = {};
  for (const [name, t] of [...tensors, ...Object.entries(extra)]) {
    const s = pick(name);
    shards[s - 1][name] = t;
    weightMap[name] = names[s - 1];
  }
  return {
    'model.safetensors.index.json': JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
    [names[0]]: writeSafetensors(shards[0]),
    [names[1]]: writeSafetensors(shards[1]),
  } as Record<string, Uint8Array | string>;
}

const secondShard = (name: string): 1 | 2 => (name.startsWith('model.layers.1.') || name === 'model.norm.weight' || name === 'lm_head.weight' ? 2 : 1);

/** A source that records the order of reads. */
function recording(files: Record<string, Uint8Array | string>): FileSource & { reads: string[] } {
  const inner = memorySource(files, 'ckpt');
  const reads: string[] = [];
  return {
    label: inner.label,
    reads,
    has: (n) => inner.has(n),
    read: (n, p) => (reads.push(n), inner.read(n, p)),
    readText: (n) => (reads.push(n), inner.readText(n)),
    open: (n) => (reads.push(n), inner.open(n)),
  };
}

async function rejectsFormat(p: Promise<unknown>, file: string, message: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.equal(e.message, message);
    return true;
  });
}

describe('expectedWeightShapes', () => {
  test('llama with GQA, untied', () => {
    const cfg = llamaConfig();
    const m = expectedWeightShapes(cfg);
    assert.deepEqual(m.get('model.embed_tokens.weight'), [10, 8]);
    assert.deepEqual(m.get('model.layers.1.self_attn.q_proj.weight'), [8, 8]);
    assert.deepEqual(m.get('model.layers.1.self_attn.k_proj.weight'), [4, 8]);
    assert.deepEqual(m.get('model.layers.1.self_attn.v_proj.weight'), [4, 8]);
    assert.deepEqual(m.get('model.layers.1.self_attn.o_proj.weight'), [8, 8]);
    assert.deepEqual(m.get('model.layers.0.mlp.gate_proj.weight'), [12, 8]);
    assert.deepEqual(m.get('model.layers.0.mlp.down_proj.weight'), [8, 12]);
    assert.deepEqual(m.get('lm_head.weight'), [10, 8]);
    assert.equal(m.size, 1 + 2 * 9 + 1 + 1);
    assert.ok(![...m.keys()].some((k) => k.endsWith('.bias')));
  });

  test('head_dim different from hidden/heads, tied, qwen2 biases', () => {
    const cfg = parseModelConfig({ ...llamaJson({ head_dim: 6, tie_word_embeddings: true }), architectures: ['Qwen2ForCausalLM'] });
    const m = expectedWeightShapes(cfg);
    assert.deepEqual(m.get('model.layers.0.self_attn.q_proj.weight'), [12, 8]);
    assert.deepEqual(m.get('model.layers.0.self_attn.o_proj.weight'), [8, 12]);
    assert.deepEqual(m.get('model.layers.0.self_attn.q_proj.bias'), [12]);
    assert.deepEqual(m.get('model.layers.0.self_attn.k_proj.bias'), [6]);
    assert.deepEqual(m.get('model.layers.0.self_attn.v_proj.bias'), [6]);
    assert.equal(m.has('model.layers.0.self_attn.o_proj.bias'), false);
    assert.equal(m.has('lm_head.weight'), false);
  });

  test('llama attention and mlp biases', () => {
    const m = expectedWeightShapes(llamaConfig({ attention_bias: true, mlp_bias: true }));
    assert.deepEqual(m.get('model.layers.0.self_attn.o_proj.bias'), [8]);
    assert.deepEqual(m.get('model.layers.0.mlp.up_proj.bias'), [12]);
    assert.deepEqual(m.get('model.layers.0.mlp.down_proj.bias'), [8]);
  });
});

describe('loadWeights', () => {
  test('single file; recomputed RoPE buffers are skipped', async () => {
    const cfg = llamaConfig();
    const tensors = randomTensors(expectedWeightShapes(cfg));
    const extra = { 'model.layers.0.self_attn.rotary_emb.inv_freq': { shape: [2], data: new Float32Array([1, 0.1]) } };
    const src = memorySource({ 'model.safetensors': writeSafetensors({ ...extra, ...Object.fromEntries(tensors) }) });
    const got = await loadWeights(src, cfg);
    assert.equal(got.size, tensors.size);
    for (const [name, t] of tensors) assert.deepEqual(got.get(name), t, name);
    assert.equal(got.has('model.layers.0.self_attn.rotary_emb.inv_freq'), false);
  });

  test('sharded checkpoint is read shard by shard with progress', async () => {
    const cfg = llamaConfig();
    const tensors = randomTensors(expectedWeightShapes(cfg), 7);
    const src = recording(sharded(tensors, secondShard));
    const progress: WeightsProgress[] = [];
    const got = await loadWeights(src, cfg, (p) => progress.push(p));
    for (const [name, t] of tensors) assert.deepEqual(got.get(name), t, name);
    assert.deepEqual(src.reads, ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    const last = progress[progress.length - 1];
    assert.equal(last.filesDone, 2);
    assert.equal(last.filesTotal, 2);
    assert.equal(last.tensorsDone, tensors.size);
    assert.equal(last.tensorsTotal, tensors.size);
    assert.ok(progress.some((p) => p.file === 'model-00001-of-00002.safetensors' && p.filesDone === 0));
  });

  test('a tensor the architecture does not use is an error naming it and its file, before any shard is read', async () => {
    const cfg = llamaConfig();
    const tensors = randomTensors(expectedWeightShapes(cfg), 7);
    const src = recording(sharded(tensors, secondShard, { 'model.unused': { shape: [1], data: new Float32Array(1) } }));
    await rejectsFormat(loadWeights(src, cfg), 'model-00001-of-00002.safetensors',
      'model-00001-of-00002.safetensors: tensor model.unused is not used by LlamaForCausalLM as config.json describes it');
    assert.deepEqual(src.reads, ['model.safetensors.index.json']);
    const single = memorySource({ 'model.safetensors': writeSafetensors({ ...Object.fromEntries(tensors), 'model.extra.a': tensors.get('model.norm.weight')!, 'model.extra.b': tensors.get('model.norm.weight')! }) });
    await rejectsFormat(loadWeights(single, cfg), 'model.safetensors',
      'model.safetensors: tensor model.extra.a and 1 more (model.extra.b) is not used by LlamaForCausalLM as config.json describes it');
  });

  test('a Qwen3 checkpoint relabelled LlamaForCausalLM fails on its q_norm/k_norm tensors', async () => {
    const qwen3 = parseModelConfig({ ...llamaJson(), architectures: ['Qwen3ForCausalLM'], head_dim: 6 });
    const tensors = randomTensors(expectedWeightShapes(qwen3));
    assert.deepEqual(tensors.get('model.layers.1.self_attn.k_norm.weight')?.shape, [6]);
    const asLlama = parseModelConfig({ ...llamaJson(), head_dim: 6 });
    await rejectsFormat(loadWeights(memorySource({ 'model.safetensors': writeSafetensors(tensors) }), asLlama), 'model.safetensors',
      'model.safetensors: tensor model.layers.0.self_attn.q_norm.weight and 3 more (model.layers.0.self_attn.k_norm.weight, ' +
      'model.layers.1.self_attn.q_norm.weight, model.layers.1.self_attn.k_norm.weight) is not used by LlamaForCausalLM as config.json ' +
      'describes it (q_norm/k_norm are Qwen3\'s or Gemma 3\'s; is "architectures" right?)');
    // Read as what it is, every tensor is accounted for.
    assert.equal((await loadWeights(memorySource({ 'model.safetensors': writeSafetensors(tensors) }), qwen3)).size, tensors.size);
  });

  test('Gemma 3 needs its four norms per layer and q/k norms', () => {
    const cfg = parseModelConfig({ ...llamaJson(), architectures: ['Gemma3ForCausalLM'], head_dim: 4, tie_word_embeddings: undefined });
    const names = [...expectedWeightShapes(cfg).keys()].filter((n) => n.startsWith('model.layers.0.') && n.includes('norm'));
    assert.deepEqual(names.sort(), ['input_layernorm', 'post_attention_layernorm', 'post_feedforward_layernorm', 'pre_feedforward_layernorm',
      'self_attn.k_norm', 'self_attn.q_norm'].map((n) => `model.layers.0.${n}.weight`));
    assert.equal(expectedWeightShapes(cfg).has('lm_head.weight'), false, 'Gemma ties its head by default');
  });

  test('a shard holding only unneeded tensors is not read', async () => {
    const cfg = llamaConfig({ tie_word_embeddings: true });
    const tensors = randomTensors(expectedWeightShapes(cfg));
    const files = sharded(tensors, () => 1, { 'lm_head.weight': { shape: [10, 8], data: new Float32Array(80) } });
    // Move the unneeded lm_head into its own shard.
    const index = JSON.parse(files['model.safetensors.index.json'] as string);
    index.weight_map['lm_head.weight'] = 'model-00002-of-00002.safetensors';
    files['model.safetensors.index.json'] = JSON.stringify(index);
    const src = recording(files);
    await loadWeights(src, cfg);
    assert.deepEqual(src.reads, ['model.safetensors.index.json', 'model-00001-of-00002.safetensors']);
  });

  test('BF16 and F16 tensors are widened, marked with their stored precision', async () => {
    const cfg = llamaConfig();
    const tensors = randomTensors(expectedWeightShapes(cfg));
    const header: Record<string, unknown> = {};
    const parts: Uint8Array[] = [];
    let off = 0;
    let i = 0;
    const stored = new Map<string, 'F16' | 'BF16'>();
    for (const [name, t] of tensors) {
      const dtype = i++ % 2 ? 'BF16' : 'F16';
      stored.set(name, dtype);
      const u16 = new Uint16Array(t.data.length);
      for (let j = 0; j < u16.length; j++) {
        // Values chosen to be exact in both formats.
        const v = (j % 7) - 3 + 0.5;
        t.data[j] = v;
        u16[j] = dtype === 'BF16' ? new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16 : halfOf(v);
      }
      header[name] = { dtype, shape: t.shape, data_offsets: [off, off + u16.byteLength] };
      parts.push(new Uint8Array(u16.buffer));
      off += u16.byteLength;
    }
    const data = new Uint8Array(off);
    let p = 0;
    for (const part of parts) (data.set(part, p), (p += part.byteLength));
    const got = await loadWeights(memorySource({ 'model.safetensors': rawSafetensors(header, data) }), cfg);
    // Widened exactly, and marked with the precision the file stored them in (the engine keeps that on the device).
    for (const [name, t] of tensors) assert.deepEqual(got.get(name), { ...t, stored: stored.get(name) }, name);
  });

  test('wrong shape names the shard, tensor, and both shapes', async () => {
    const cfg = llamaConfig({ hidden_size: 48, intermediate_size: 88, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 16 });
    const tensors = randomTensors(expectedWeightShapes(cfg));
    tensors.set('model.layers.1.mlp.up_proj.weight', { shape: [88, 47], data: new Float32Array(88 * 47) });
    await rejectsFormat(loadWeights(memorySource(sharded(tensors, secondShard)), cfg), 'model-00002-of-00002.safetensors',
      'model-00002-of-00002.safetensors: model.layers.1.mlp.up_proj.weight has shape [88,47], expected [88,48]');
  });

  test('tensor missing from a single file', async () => {
    const cfg = llamaConfig();
    const tensors = randomTensors(expectedWeightShapes(cfg));
    tensors.delete('lm_head.weight');
    await rejectsFormat(loadWeights(memorySource({ 'model.safetensors': writeSafetensors(tensors) }), cfg),
      'model.safetensors', 'model.safetensors: missing tensor lm_head.weight, which LlamaForCausalLM needs');
  });

  test('qwen2 bias missing', async () => {
    const cfg = parseModelConfig({ ...llamaJson(), architectures: ['Qwen2ForCausalLM'] });
    const tensors = randomTensors(expectedWeightShapes(cfg));
    tensors.delete('model.layers.1.self_attn.k_proj.bias');
    await rejectsFormat(loadWeights(memorySource({ 'model.safetensors': writeSafetensors(tensors) }), cfg),
      'model.safetensors', 'model.safetensors: missing tensor model.layers.1.self_attn.k_proj.bias, which Qwen2ForCausalLM needs');
  });

  test('index without an entry for a needed tensor', async () => {
    const cfg = llamaConfig();
    const files = sharded(randomTensors(expectedWeightShapes(cfg)), secondShard);
    const index = JSON.parse(files['model.safetensors.index.json'] as string);
    delete index.weight_map['model.layers.0.mlp.gate_proj.weight'];
    files['model.safetensors.index.json'] = JSON.stringify(index);
    await rejectsFormat(loadWeights(memorySource(files), cfg), 'model.safetensors.index.json',
      'model.safetensors.index.json: missing tensor model.layers.0.mlp.gate_proj.weight, which LlamaForCausalLM needs');
  });

  test('index pointing at the wrong shard', async () => {
    const cfg = llamaConfig();
    const files = sharded(randomTensors(expectedWeightShapes(cfg)), secondShard);
    const index = JSON.parse(files['model.safetensors.index.json'] as string);
    index.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors';
    files['model.safetensors.index.json'] = JSON.stringify(index);
    await rejectsFormat(loadWeights(memorySource(files), cfg), 'model-00001-of-00002.safetensors',
      'model-00001-of-00002.safetensors: missing tensor model.norm.weight (model.safetensors.index.json places it in this file)');
  });

  test('broken index JSON and missing weight_map', async () => {
    const cfg = llamaConfig();
    await assert.rejects(loadWeights(memorySource({ 'model.safetensors.index.json': '{"weight_map": ' }), cfg),
      (e: unknown) => e instanceof FormatError && e.file === 'model.safetensors.index.json' && /invalid JSON/.test(e.message));
    await rejectsFormat(loadWeights(memorySource({ 'model.safetensors.index.json': '{}' }), cfg), 'model.safetensors.index.json',
      'model.safetensors.index.json: missing "weight_map" object');
  });

  test('missing shard file', async () => {
    const cfg = llamaConfig();
    const files = sharded(randomTensors(expectedWeightShapes(cfg)), secondShard);
    delete files['model-00002-of-00002.safetensors'];
    await assert.rejects(loadWeights(memorySource(files, '/models/x'), cfg), (e: unknown) =>
      e instanceof MissingFileError && e.message === 'model-00002-of-00002.safetensors: not found in /models/x');
  });

  test('no checkpoint at all', async () => {
    await assert.rejects(loadWeights(memorySource({ 'config.json': '{}' }, '/models/y'), llamaConfig()),
      /model\.safetensors: not found in \/models\/y/);
    await assert.rejects(loadWeights(memorySource({ 'pytorch_model.bin': new Uint8Array(1) }, '/models/z'), llamaConfig()),
      /only safetensors checkpoints are supported/);
  });

  test('needed tensor with an integer dtype', async () => {
    const cfg = llamaConfig();
    const tensors = randomTensors(expectedWeightShapes(cfg));
    const header: Record<string, unknown> = {};
    let off = 0;
    for (const [name, t] of tensors) {
      header[name] = { dtype: name === 'model.norm.weight' ? 'I32' : 'F32', shape: t.shape, data_offsets: [off, off + t.data.length * 4] };
      off += t.data.length * 4;
    }
    await rejectsFormat(loadWeights(memorySource({ 'model.safetensors': rawSafetensors(header, new Uint8Array(off)) }), cfg),
      'model.safetensors', 'model.safetensors: tensor model.norm.weight: dtype I32 cannot be loaded as floats (supported: F32, F16, BF16, F64)');
  });
});

/** f32 -> f16 bits for values exactly representable as normal halves. */
function halfOf(v: number): number {
  const bits = new Uint32Array(new Float32Array([v]).buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  return sign | (exp << 10) | ((bits >>> 13) & 0x3ff);
}

// Tests PEFT adapter naming, initialisation, the write -> read round trip and the refusals for unsupported adapters.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FormatError, MissingFileError } from '../../src/io/errors.ts';
import { memorySource } from '../../src/io/files.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import {
  initLoraTensors, loraScale, loraTensorShapes, modulePath, parsePeftConfig, peftKey, projShape, readPeftAdapter,
  writePeftAdapter, type LoraConfig,
} from '../../src/model/peft.ts';
import { createRng } from '../../src/model/rng.ts';
import { parseSafetensors, writeSafetensors } from '../../src/model/safetensors.ts';
import type { HostTensor } from '../../src/model/weights.ts';
import { llamaConfig, llamaJson, randomTensors } from './helpers.ts';

// hidden 8, intermediate 12, 2 heads of 4, 1 kv head, 2 layers.
const model = llamaConfig();
const lora: LoraConfig = { rank: 2, alpha: 4, dropout: 0.05, targets: ['v_proj', 'q_proj', 'down_proj'], useRslora: false };

function adapterFiles(cfg: LoraConfig = lora, seed = 3) {
  const tensors = randomTensors(loraTensorShapes(cfg, model), seed);
  return { tensors, files: writePeftAdapter(cfg, model, tensors, 'org/base-model') };
}

/** adapter_config.json as PEFT writes it, with overrides. */
function peftJson(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'],
    bias: 'none', fan_in_fan_out: false, use_rslora: false, use_dora: false, rank_pattern: {}, alpha_pattern: {},
    modules_to_save: null, layers_to_transform: null, layers_pattern: null, base_model_name_or_path: null, ...over,
  };
}

function throwsFormat(fn: () => unknown, file: string, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" lacks "${f}"`);
    return true;
  });
}

async function rejectsFormat(p: Promise<unknown>, file: string, ...fragments: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" lacks "${f}"`);
    return true;
  });
}

describe('names and shapes', () => {
  test('loraScale', () => {
    assert.equal(loraScale({ rank: 8, alpha: 16, useRslora: false }), 2);
    assert.equal(loraScale({ rank: 16, alpha: 16, useRslora: true }), 4);
  });

  test('modulePath and peftKey', () => {
    assert.equal(modulePath(3, 'up_proj'), 'model.layers.3.mlp.up_proj');
    assert.equal(modulePath(0, 'o_proj'), 'model.layers.0.self_attn.o_proj');
    assert.equal(peftKey(3, 'up_proj', 'A'), 'base_model.model.model.layers.3.mlp.up_proj.lora_A.weight');
    assert.equal(peftKey(11, 'k_proj', 'B'), 'base_model.model.model.layers.11.self_attn.k_proj.lora_B.weight');
  });

  test('projShape follows the [out, in] weights, with GQA and explicit head_dim', () => {
    const cfg = llamaConfig({ head_dim: 6 });
    assert.deepEqual(projShape(cfg, 'q_proj'), { in: 8, out: 12 });
    assert.deepEqual(projShape(cfg, 'k_proj'), { in: 8, out: 6 });
    assert.deepEqual(projShape(cfg, 'v_proj'), { in: 8, out: 6 });
    assert.deepEqual(projShape(cfg, 'o_proj'), { in: 12, out: 8 });
    assert.deepEqual(projShape(cfg, 'gate_proj'), { in: 8, out: 12 });
    assert.deepEqual(projShape(cfg, 'up_proj'), { in: 8, out: 12 });
    assert.deepEqual(projShape(cfg, 'down_proj'), { in: 12, out: 8 });
  });

  test('loraTensorShapes orders by layer, canonical projection, A then B', () => {
    const keys = [...loraTensorShapes(lora, model).keys()];
    assert.deepEqual(keys.slice(0, 6), [
      peftKey(0, 'q_proj', 'A'), peftKey(0, 'q_proj', 'B'), peftKey(0, 'v_proj', 'A'),
      peftKey(0, 'v_proj', 'B'), peftKey(0, 'down_proj', 'A'), peftKey(0, 'down_proj', 'B'),
    ]);
    assert.equal(keys.length, 12);
    assert.deepEqual(loraTensorShapes(lora, model).get(peftKey(1, 'v_proj', 'B')), [4, 2]);
  });
});

describe('initLoraTensors', () => {
  const big = parseModelConfig(llamaJson({ hidden_size: 256, intermediate_size: 512, num_attention_heads: 4, num_key_value_heads: 4 }));
  const cfg: LoraConfig = { rank: 16, alpha: 32, dropout: 0, targets: ['q_proj', 'down_proj'], useRslora: false };

  test('A is uniform(-1/sqrt(in), 1/sqrt(in)), B is zero', () => {
    const t = initLoraTensors(cfg, big, null, createRng(1));
    assert.equal(t.size, 2 * 2 * 2);
    for (const [key, { shape, data }] of t) {
      if (key.includes('lora_B')) {
        assert.ok(data.every((v) => v === 0), key);
        continue;
      }
      const fanIn = shape[1];
      const bound = 1 / Math.sqrt(fanIn);
      let sum = 0;
      let sq = 0;
      for (const v of data) {
        assert.ok(Math.abs(v) <= bound, key);
        sum += v;
        sq += v * v;
      }
      const mean = sum / data.length;
      const variance = sq / data.length - mean * mean;
      assert.ok(Math.abs(mean) < 0.05 * bound, `${key} mean ${mean}`);
      assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.1, `${key} variance ${variance}`);
    }
    assert.deepEqual(t.get(peftKey(0, 'down_proj', 'A'))!.shape, [16, 512]);
    assert.deepEqual(t.get(peftKey(0, 'down_proj', 'B'))!.shape, [256, 16]);
  });

  test('seeded: same seed same values, other seed different', () => {
    const a = initLoraTensors(cfg, big, null, createRng(5));
    const b = initLoraTensors(cfg, big, null, createRng(5));
    const c = initLoraTensors(cfg, big, null, createRng(6));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.get(peftKey(0, 'q_proj', 'A')), c.get(peftKey(0, 'q_proj', 'A')));
  });

  test('explicit layers', () => {
    const t = initLoraTensors(cfg, big, [1], createRng(1));
    assert.deepEqual([...t.keys()].map((k) => k.split('.')[4]), ['1', '1', '1', '1']);
    assert.throws(() => initLoraTensors(cfg, big, [2], createRng(1)), /layer 2 is out of range/);
    assert.throws(() => initLoraTensors({ ...cfg, rank: 0 }, big, null, createRng(1)), /rank must be a positive integer/);
  });
});

describe('writePeftAdapter / readPeftAdapter', () => {
  test('round trip', async () => {
    const { tensors, files } = adapterFiles();
    const back = await readPeftAdapter(memorySource({ ...files }), model);
    assert.deepEqual(back.config, { ...lora, targets: ['q_proj', 'v_proj', 'down_proj'], layers: null });
    assert.equal(back.baseModelName, 'org/base-model');
    assert.deepEqual([...back.tensors.keys()], [...loraTensorShapes(lora, model).keys()]);
    for (const [k, t] of tensors) assert.deepEqual(back.tensors.get(k), t, k);
  });

  test('files have the layout Python PEFT loads', () => {
    const { files } = adapterFiles({ ...lora, useRslora: true, layers: [1] });
    const cfg = JSON.parse(files['adapter_config.json']);
    assert.deepEqual(cfg, {
      alpha_pattern: {}, base_model_name_or_path: 'org/base-model', bias: 'none', fan_in_fan_out: false, inference_mode: true,
      init_lora_weights: true, layers_pattern: null, layers_to_transform: [1], lora_alpha: 4, lora_dropout: 0.05,
      modules_to_save: null, peft_type: 'LORA', r: 2, rank_pattern: {}, revision: null,
      target_modules: ['q_proj', 'v_proj', 'down_proj'], task_type: 'CAUSAL_LM', use_rslora: true,
    });
    const st = parseSafetensors(files['adapter_model.safetensors'], 'adapter_model.safetensors');
    assert.deepEqual(st.metadata, { format: 'pt' });
    assert.deepEqual([...st.tensors.keys()], [
      'base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight', 'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight',
      'base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight', 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight',
      'base_model.model.model.layers.1.mlp.down_proj.lora_A.weight', 'base_model.model.model.layers.1.mlp.down_proj.lora_B.weight',
    ]);
    assert.deepEqual(st.tensors.get('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight')!.shape, [2, 12]);
    assert.deepEqual(st.tensors.get('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight')!.shape, [8, 2]);
    assert.equal(JSON.parse(adapterFiles().files['adapter_config.json']).layers_to_transform, null);
  });

  test('keys carrying the adapter name are accepted', async () => {
    const { tensors, files } = adapterFiles();
    const renamed = new Map<string, HostTensor>();
    for (const [k, t] of tensors) renamed.set(k.replace(/\.lora_([AB])\.weight$/, '.lora_$1.default.weight'), t);
    const back = await readPeftAdapter(memorySource({ 'adapter_config.json': files['adapter_config.json'], 'adapter_model.safetensors': writeSafetensors(renamed) }), model);
    for (const [k, t] of tensors) assert.deepEqual(back.tensors.get(k), t, k);
  });

  test('writer refuses missing or foreign tensors', () => {
    const tensors = randomTensors(loraTensorShapes(lora, model));
    const missing = new Map(tensors);
    missing.delete(peftKey(1, 'q_proj', 'B'));
    assert.throws(() => writePeftAdapter(lora, model, missing), /missing tensor base_model\.model\.model\.layers\.1\.self_attn\.q_proj\.lora_B\.weight/);
    const extra = new Map(tensors).set(peftKey(0, 'k_proj', 'A'), { shape: [2, 8], data: new Float32Array(16) });
    assert.throws(() => writePeftAdapter(lora, model, extra), /k_proj\.lora_A\.weight is not part of this LoRA config/);
    const wrong = new Map(tensors).set(peftKey(0, 'q_proj', 'A'), { shape: [8, 2], data: new Float32Array(16) });
    assert.throws(() => writePeftAdapter(lora, model, wrong), /has shape \[8,2\], expected \[2,8\]/);
  });
});

describe('parsePeftConfig target resolution', () => {
  test('list entries match by suffix, defaults fill in', () => {
    const c = parsePeftConfig({ peft_type: 'LORA', target_modules: ['self_attn.q_proj', 'up_proj', 'c_attn'] }, model);
    assert.deepEqual(c, { rank: 8, alpha: 8, dropout: 0, targets: ['q_proj', 'up_proj'], useRslora: false, layers: null, baseModelName: null });
  });

  test('regex string must match the whole module name', () => {
    assert.deepEqual(parsePeftConfig(peftJson({ target_modules: '.*\\.(q_proj|v_proj)' }), model).targets, ['q_proj', 'v_proj']);
    assert.deepEqual(parsePeftConfig(peftJson({ target_modules: '.*mlp\\..*_proj' }), model).targets, ['gate_proj', 'up_proj', 'down_proj']);
    const l1 = parsePeftConfig(peftJson({ target_modules: 'model\\.layers\\.1\\.self_attn\\.(k|o)_proj' }), model);
    assert.deepEqual([l1.targets, l1.layers], [['k_proj', 'o_proj'], [1]]);
  });

  test('all-linear, layers_to_transform (list and int), exclude_modules', () => {
    assert.deepEqual(parsePeftConfig(peftJson({ target_modules: 'all-linear' }), model).targets,
      ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
    assert.deepEqual(parsePeftConfig(peftJson({ layers_to_transform: [1] }), model).layers, [1]);
    assert.deepEqual(parsePeftConfig(peftJson({ layers_to_transform: 0 }), model).layers, [0]);
    assert.equal(parsePeftConfig(peftJson({ layers_to_transform: [] }), model).layers, null);
    assert.deepEqual(parsePeftConfig(peftJson({ exclude_modules: ['v_proj'] }), model).targets, ['q_proj']);
  });

  test('unsupported adapters are refused with the field named', () => {
    const f = 'adapter_config.json';
    throwsFormat(() => parsePeftConfig(peftJson({ peft_type: 'PREFIX_TUNING' }), model), f, 'peft_type "PREFIX_TUNING"');
    throwsFormat(() => parsePeftConfig(peftJson({ rank_pattern: { q_proj: 4 } }), model), f, '"rank_pattern" gives model.layers.0.self_attn.q_proj 4 (key "q_proj") but "r" is 2');
    throwsFormat(() => parsePeftConfig(peftJson({ alpha_pattern: { 'layers\\.1\\.self_attn\\.v_proj': 8 } }), model), f, '"alpha_pattern" gives model.layers.1.self_attn.v_proj 8');
    throwsFormat(() => parsePeftConfig(peftJson({ use_dora: true }), model), f, '"use_dora": true is not supported', 'magnitude');
    throwsFormat(() => parsePeftConfig(peftJson({ alora_invocation_tokens: [5, 6] }), model), f, '"alora_invocation_tokens" is not supported');
    for (const init of ['pissa', 'pissa_niter_4', 'olora', 'loftq', 'corda']) {
      throwsFormat(() => parsePeftConfig(peftJson({ init_lora_weights: init }), model), f, `"init_lora_weights": "${init}" is not supported`, 'changes the base model');
    }
    throwsFormat(() => parsePeftConfig(peftJson({ init_lora_weights: 'magic' }), model), f, '"init_lora_weights": "magic"', 'unknown');
    throwsFormat(() => parsePeftConfig(peftJson({ modules_to_save: ['lm_head'] }), model), f, '"modules_to_save"');
    throwsFormat(() => parsePeftConfig(peftJson({ bias: 'some' }), model), f, '"bias" must be "none", "all" or "lora_only"');
    throwsFormat(() => parsePeftConfig(peftJson({ target_modules: ['q_proj', 'lm_head'] }), model), f, 'selects lm_head');
    throwsFormat(() => parsePeftConfig(peftJson({ target_modules: ['embed_tokens'] }), model), f, 'selects model.embed_tokens');
    throwsFormat(() => parsePeftConfig(peftJson({ target_modules: ['c_attn'] }), model), f, 'matches none of the projections');
    throwsFormat(() => parsePeftConfig(peftJson({ target_modules: undefined }), model), f, 'missing "target_modules"');
    throwsFormat(() => parsePeftConfig(peftJson({ target_modules: '(' }), model), f, 'regex');
    throwsFormat(() => parsePeftConfig(peftJson({ layers_to_transform: [5] }), model), f, 'layer 5', '2 layers');
    throwsFormat(() => parsePeftConfig(peftJson({ r: 0 }), model), f, '"r"');
    throwsFormat(() => parsePeftConfig(peftJson({ lora_dropout: 1 }), model), f, '"lora_dropout"');
    throwsFormat(
      () => parsePeftConfig(peftJson({ target_modules: 'model\\.layers\\.0\\.self_attn\\.q_proj|model\\.layers\\.1\\.self_attn\\.v_proj' }), model),
      f, 'same projections');
  });
});

describe('PEFT options that are no-ops for these models are accepted', () => {
  const plain = parsePeftConfig(peftJson(), model);
  test('fan_in_fan_out true (PEFT sets it false for nn.Linear), bias all/lora_only without bias tensors, A/B-only inits, patterns that repeat r and alpha', () => {
    for (const over of [
      { fan_in_fan_out: true }, { bias: 'lora_only' }, { bias: 'all' }, { init_lora_weights: false }, { init_lora_weights: 'gaussian' },
      { init_lora_weights: 'orthogonal' }, { init_lora_weights: 'eva' }, { rank_pattern: { q_proj: 2, k_proj: 16 } }, { alpha_pattern: { '.*': 4 } },
    ]) assert.deepEqual(parsePeftConfig(peftJson(over), model), plain, JSON.stringify(over));
  });

  test('a trained bias in the weights file is refused by name', async () => {
    const { tensors, files } = adapterFiles();
    const withBias = new Map(tensors).set('base_model.model.model.layers.0.self_attn.q_proj.bias', { shape: [8], data: new Float32Array(8) });
    const cfg = { ...JSON.parse(files['adapter_config.json']), bias: 'lora_only' };
    await assert.rejects(readPeftAdapter(memorySource({ 'adapter_config.json': JSON.stringify(cfg), 'adapter_model.safetensors': writeSafetensors(withBias) }), model),
      /adapter_model\.safetensors: tensor base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.bias is a trained bias \(PEFT's bias "all" or "lora_only"\)/);
  });

  test('the base model and its revision are written for AutoPeftModelForCausalLM', () => {
    const tensors = randomTensors(loraTensorShapes(lora, model), 1);
    const cfg = JSON.parse(writePeftAdapter(lora, model, tensors, { name: 'org/base', revision: 'a'.repeat(40) })['adapter_config.json']);
    assert.equal(cfg.base_model_name_or_path, 'org/base');
    assert.equal(cfg.revision, 'a'.repeat(40));
  });
});

describe('readPeftAdapter errors name the file and tensor', () => {
  const W = 'adapter_model.safetensors';
  const withTensors = (tensors: Map<string, HostTensor>) =>
    memorySource({ 'adapter_config.json': adapterFiles().files['adapter_config.json'], [W]: writeSafetensors(tensors) });

  test('missing tensor', async () => {
    const { tensors } = adapterFiles();
    tensors.delete(peftKey(1, 'down_proj', 'A'));
    await rejectsFormat(readPeftAdapter(withTensors(tensors), model), W, 'missing tensor base_model.model.model.layers.1.mlp.down_proj.lora_A.weight');
  });

  test('wrong shape', async () => {
    const { tensors } = adapterFiles();
    tensors.set(peftKey(0, 'v_proj', 'B'), { shape: [4, 3], data: new Float32Array(12) });
    await rejectsFormat(readPeftAdapter(withTensors(tensors), model), W,
      'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight has shape [4,3], expected [4,2]');
  });

  test('tensor outside the config, and unknown keys', async () => {
    const { tensors } = adapterFiles();
    tensors.set(peftKey(0, 'k_proj', 'A'), { shape: [2, 8], data: new Float32Array(16) });
    await rejectsFormat(readPeftAdapter(withTensors(tensors), model), W, 'k_proj.lora_A.weight is not covered by adapter_config.json');
    const { tensors: t2 } = adapterFiles();
    t2.set('base_model.model.lm_head.lora_A.weight', { shape: [2, 8], data: new Float32Array(16) });
    await rejectsFormat(readPeftAdapter(withTensors(t2), model), W, 'unexpected tensor base_model.model.lm_head.lora_A.weight');
    const { tensors: t3 } = adapterFiles();
    t3.set('base_model.model.model.layers.0.mlp.q_proj.lora_A.weight', { shape: [2, 8], data: new Float32Array(16) });
    await rejectsFormat(readPeftAdapter(withTensors(t3), model), W, 'q_proj is not under mlp');
  });

  test('missing files', async () => {
    const { files } = adapterFiles();
    await assert.rejects(readPeftAdapter(memorySource({ [W]: files[W] }, 'my-adapter'), model),
      (e: unknown) => e instanceof MissingFileError && e.message === 'adapter_config.json: not found in my-adapter');
    await assert.rejects(readPeftAdapter(memorySource({ 'adapter_config.json': files['adapter_config.json'], 'adapter_model.bin': new Uint8Array(1) }, 'a'), model),
      /adapter_model\.safetensors: not found in a \(only safetensors adapters are supported/);
  });

  test('adapter for a different model size', async () => {
    const { files } = adapterFiles();
    const other = llamaConfig({ hidden_size: 16, intermediate_size: 24 });
    await rejectsFormat(readPeftAdapter(memorySource({ ...files }), other), W, 'has shape', 'expected');
  });
});

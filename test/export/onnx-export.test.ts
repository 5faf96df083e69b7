// ONNX export run in onnxruntime (onnxruntime-web, wasm backend): logits against the PyTorch oracle fixtures with and
// without the merged adapter, dynamic batch and sequence lengths against the engine's WebGPU forward, the graph's
// structure, the LoRA merge, and the refusals. Tolerance: relative error = max|onnx - ref| / max|ref| <= 1e-4.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { onnx as OnnxMessages } from 'onnx-proto';
import { packSequences } from '../../src/engine/batch.ts';
import { Session } from '../../src/engine/session.ts';
import { buildDecoderModel } from '../../src/export/decoder-graph.ts';
import { exportOnnx } from '../../src/export/export-model.ts';
import { mergeAdapter } from '../../src/export/merge-lora.ts';
import { IR_VERSION, OPSET_VERSION, onnx } from '../../src/export/onnx-proto.ts';
import { checkProtobufLimit, ExportTooLargeError, exportedWeightBytes, PROTOBUF_LIMIT_BYTES } from '../../src/export/size-limit.ts';
import type { Gpu } from '../../src/gpu/context.ts';
import { FormatError } from '../../src/io/errors.ts';
import { memorySource, type FileSource } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { loraScale, loraTensorShapes, modulePath, peftKey, readPeftAdapter, writePeftAdapter, type LoraConfig } from '../../src/model/peft.ts';
import { parseSafetensors, toFloat32, writeSafetensors } from '../../src/model/safetensors.ts';
import { expectedWeightShapes, loadWeights, type HostTensor } from '../../src/model/weights.ts';
import { matmul } from '../../src/ref/ops.ts';
import { assertRelError, relError } from '../helpers/assert.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { onnxLogits, openOnnx } from '../helpers/onnx-runtime.ts';
import { randomInts } from '../helpers/random.ts';
import { llamaJson, randomTensors } from '../model/helpers.ts';

/** Relative error allowed between the exported model's logits and every reference. */
const TOLERANCE = 1e-4;

interface Expected {
  ids: number[][];
  logits_base: number[][][];
  logits: number[][][];
}

const FIXTURES = ['llama-gqa', 'qwen2-mqa-tied', 'llama3-f16', 'qwen3-qknorm', 'smollm3-nope'];
const fixtureRoot = join(import.meta.dirname, '..', 'fixtures', 'oracle');
const fixtureDir = (name: string) => join(fixtureRoot, name);
const readExpected = (name: string) => JSON.parse(readFileSync(join(fixtureDir(name), 'expected.json'), 'utf8')) as Expected;

/** Every file of a folder, in memory, so a test can change one of them. */
function folderFiles(dir: string): Record<string, Uint8Array | string> {
  const files: Record<string, Uint8Array | string> = {};
  for (const name of readdirSync(dir)) files[name] = new Uint8Array(readFileSync(join(dir, name)));
  return files;
}

function readJsonFile(files: Record<string, Uint8Array | string>, name: string): Record<string, unknown> {
  const content = files[name];
  return JSON.parse(typeof content === 'string' ? content : new TextDecoder().decode(content));
}

/** `count` random sequences of `length` tokens below `vocab`, each different. */
function randomSequences(count: number, length: number, vocab: number, seed: number): number[][] {
  const flat = randomInts(count * length, vocab, seed);
  return Array.from({ length: count }, (_, b) => Array.from(flat.subarray(b * length, (b + 1) * length)));
}

describe('exported model against the PyTorch oracle fixtures (onnxruntime)', () => {
  for (const name of FIXTURES) {
    const expected = readExpected(name);
    for (const merged of [false, true]) {
      it(`${name}: ${merged ? 'adapter merged' : 'base model'} logits, relative error <= ${TOLERANCE}`, async (t) => {
        const model = dirSource(join(fixtureDir(name), 'model'));
        const adapter = merged ? dirSource(join(fixtureDir(name), 'adapter')) : undefined;
        const exported = await exportOnnx(model, { adapter });
        const session = await openOnnx(exported.bytes);
        const out = await onnxLogits(session, expected.ids);
        const want = (merged ? expected.logits : expected.logits_base).flat(2);
        assert.deepEqual(out.dims, [expected.ids.length, expected.ids[0].length, exported.config.vocabSize]);
        assertRelError(out.data, want, TOLERANCE, `${name} logits`);
        t.diagnostic(`${name} ${merged ? 'adapter' : 'base'}: relative error ${relError(out.data, want).toExponential(2)}`);
        await session.release();
      });
    }
  }

  it('merging the adapter changes the logits (the merge is not a no-op)', async () => {
    const expected = readExpected('llama-gqa');
    const dir = fixtureDir('llama-gqa');
    const base = await exportOnnx(dirSource(join(dir, 'model')));
    const session = await openOnnx(base.bytes);
    const out = await onnxLogits(session, expected.ids);
    const adapted = expected.logits.flat(2);
    assert.ok(relError(out.data, adapted) > 100 * TOLERANCE, 'the base model already matches the adapted logits');
    await session.release();
  });
});

describe('dynamic batch and sequence length against the engine (WebGPU forward)', () => {
  let gpu: Gpu;
  before(async () => {
    gpu = await testGpu();
  });
  after(releaseTestGpu);

  /** Runs `shapes` ([batch, length] pairs) through one exported session and the engine, comparing every sequence. */
  async function compareWithEngine(model: FileSource, adapter: FileSource, shapes: [number, number][], label: string, t: { diagnostic(m: string): void }) {
    const exported = await exportOnnx(model, { adapter });
    const onnxSession = await openOnnx(exported.bytes);
    const engine = await Session.open(gpu, model, { adapter });
    const V = exported.config.vocabSize;
    try {
      for (const [seed, [batch, length]] of shapes.entries()) {
        const ids = randomSequences(batch, length, V, 101 + seed);
        const out = await onnxLogits(onnxSession, ids);
        assert.deepEqual(out.dims, [batch, length, V]);
        const want = await engine.forward(packSequences(ids));
        for (let b = 0; b < batch; b++) {
          const got = out.data.subarray(b * length * V, (b + 1) * length * V);
          assertRelError(got, want[b], TOLERANCE, `${label} [${batch}x${length}] sequence ${b}`);
          t.diagnostic(`${label} [${batch}x${length}] sequence ${b}: relative error ${relError(got, want[b]).toExponential(2)}`);
        }
        // Different sequences give different logits: the batch rows are not one row repeated.
        if (batch > 1) assert.ok(relError(want[0], want[1]) > 0.01, `${label}: sequences 0 and 1 give the same logits`);
      }
    } finally {
      engine.destroy();
      await onnxSession.release();
    }
  }

  for (const name of FIXTURES) {
    it(`${name}: batches of 2x11, 3x4 and 1x1 through one exported model`, async (t) => {
      const dir = fixtureDir(name);
      await compareWithEngine(dirSource(join(dir, 'model')), dirSource(join(dir, 'adapter')), [[2, 11], [3, 4], [1, 1]], name, t);
    });
  }

  it('a Llama with q/k/v/o and MLP biases and an rsLoRA adapter on layer 1 only', async (t) => {
    const configJson = llamaJson({
      hidden_size: 16, intermediate_size: 24, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 29,
      attention_bias: true, mlp_bias: true, rope_theta: 5000, max_position_embeddings: 64,
    });
    const cfg = parseModelConfig(configJson);
    const weights = randomTensors(expectedWeightShapes(cfg), 17);
    for (const t of weights.values()) for (let i = 0; i < t.data.length; i++) t.data[i] *= 0.3;
    const lora: LoraConfig = {
      rank: 4, alpha: 6, dropout: 0, useRslora: true, layers: [1],
      targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    };
    const loraTensors = randomTensors(loraTensorShapes(lora, cfg), 23);
    for (const t of loraTensors.values()) for (let i = 0; i < t.data.length; i++) t.data[i] *= 0.2;
    const model = memorySource({ 'config.json': JSON.stringify(configJson), 'model.safetensors': writeSafetensors(weights) }, 'random-llama-bias');
    const adapterFiles = writePeftAdapter(lora, cfg, loraTensors);
    const adapter = memorySource({ ...adapterFiles }, 'random-rslora-adapter');
    await compareWithEngine(model, adapter, [[2, 9], [1, 5]], 'llama-bias-rslora', t);
  });
});

describe('graph structure', () => {
  it('opset 17, IR 8, default-domain ops only, symbolic batch and sequence, float32 weights, the tied head stored once', async () => {
    const exported = await exportOnnx(dirSource(join(fixtureDir('qwen2-mqa-tied'), 'model')));
    const model = onnx.ModelProto.decode(exported.bytes);
    assert.equal(Number(model.irVersion), IR_VERSION);
    assert.deepEqual(model.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', OPSET_VERSION]]);
    assert.equal(exported.opset, 17);
    const graph = model.graph as OnnxMessages.GraphProto;
    assert.equal(graph.node.length, exported.nodes);
    assert.equal(graph.initializer.length, exported.initializers);
    assert.ok(graph.node.every((n) => !n.domain), `ops outside the default domain: ${graph.node.filter((n) => n.domain).map((n) => `${n.domain}.${n.opType}`)}`);

    const [input] = graph.input;
    assert.equal(input.name, 'input_ids');
    assert.equal(input.type!.tensorType!.elemType, onnx.TensorProto.DataType.INT64);
    assert.deepEqual(input.type!.tensorType!.shape!.dim!.map((d) => d.dimParam), ['batch', 'sequence']);
    const [output] = graph.output;
    assert.equal(output.name, 'logits');
    assert.equal(output.type!.tensorType!.elemType, onnx.TensorProto.DataType.FLOAT);
    const outDims = output.type!.tensorType!.shape!.dim!;
    assert.deepEqual([outDims[0].dimParam, outDims[1].dimParam, Number(outDims[2].dimValue)], ['batch', 'sequence', 83]);

    const initializers = graph.initializer as OnnxMessages.TensorProto[];
    const floatInits = initializers.filter((i) => i.dataType === onnx.TensorProto.DataType.FLOAT && i.dims.length > 0);
    const names = floatInits.map((i) => i.name);
    assert.ok(names.includes('model.embed_tokens.weight'));
    assert.ok(!names.includes('lm_head.weight'), 'a tied model must not store a second head matrix');
    assert.equal(names.filter((n) => n === 'model.embed_tokens.weight').length, 1);
    // The BF16 checkpoint's weights come out as float32 of the same shape.
    const embed = floatInits.find((i) => i.name === 'model.embed_tokens.weight')!;
    assert.deepEqual(embed.dims.map(Number), [83, 40]);
    assert.equal(embed.rawData.byteLength, 83 * 40 * 4);
    for (const i of initializers) {
      assert.ok([onnx.TensorProto.DataType.FLOAT, onnx.TensorProto.DataType.INT64].includes(i.dataType), `${i.name} has data type ${i.dataType}`);
    }
    // The size check's estimate is exactly the float32 initializer bytes written (weights and RoPE tables).
    const floatBytes = floatInits.reduce((sum, i) => sum + i.rawData.byteLength, 0);
    assert.equal(floatBytes, exportedWeightBytes(exported.config).bytes);
    assert.ok(names.includes('rope.cos_table') && names.includes('rope.sin_table'));
    const ops = new Set(graph.node.map((n) => n.opType));
    for (const contrib of ['SimplifiedLayerNormalization', 'RotaryEmbedding', 'GroupQueryAttention', 'MultiHeadAttention']) assert.ok(!ops.has(contrib));
  });

  it('sequences up to max_position_embeddings run; a longer one is refused by onnxruntime', async () => {
    const exported = await exportOnnx(dirSource(join(fixtureDir('qwen2-mqa-tied'), 'model')));
    const session = await openOnnx(exported.bytes);
    const max = exported.config.maxPositionEmbeddings;
    const ok = await onnxLogits(session, randomSequences(1, max, 83, 4));
    assert.deepEqual(ok.dims, [1, max, 83]);
    assert.ok(ok.data.every(Number.isFinite));
    await assert.rejects(onnxLogits(session, randomSequences(1, max + 1, 83, 4)), /out of data bounds/);
    await session.release();
  });
});

describe('LoRA merge', () => {
  it("W' = W + scale * B A for every adapted projection (rsLoRA scale alpha/sqrt(r)), others untouched", async () => {
    const dir = fixtureDir('llama-gqa');
    const src = dirSource(join(dir, 'model'));
    const cfg = parseModelConfig(JSON.parse(readFileSync(join(dir, 'model', 'config.json'), 'utf8')));
    const base = await loadWeights(src, cfg);
    const adapter = await readPeftAdapter(dirSource(join(dir, 'adapter')), cfg);
    const rs = { ...adapter, config: { ...adapter.config, useRslora: true } };
    const merged = mergeAdapter(base, rs, cfg);
    const scale = loraScale(rs.config);
    assert.equal(scale, 8 / 2);
    const r = rs.config.rank;
    for (const proj of rs.config.targets) {
      const name = `${modulePath(1, proj)}.weight`;
      const w = base.get(name)!;
      const [out, inDim] = w.shape;
      const ba = matmul(adapter.tensors.get(peftKey(1, proj, 'B'))!.data, adapter.tensors.get(peftKey(1, proj, 'A'))!.data, out, inDim, r);
      const want = w.data.map((v, i) => v + scale * ba[i]);
      assertRelError(merged.get(name)!.data, want, 1e-6, name);
      assert.ok(relError(merged.get(name)!.data, w.data) > 1e-3, `${name} is unchanged`);
    }
    assert.equal(merged.get('model.norm.weight'), base.get('model.norm.weight'));
    assert.equal(merged.get('model.embed_tokens.weight'), base.get('model.embed_tokens.weight'));
  });

  it('the graph builder refuses weights that do not match their shapes', () => {
    const cfg = parseModelConfig(llamaJson());
    const weights = randomTensors(expectedWeightShapes(cfg), 5);
    const broken = new Map<string, HostTensor>(weights);
    broken.set('model.norm.weight', { shape: [8], data: new Float32Array(7) });
    assert.throws(() => buildDecoderModel(cfg, broken, 'x'), /model\.norm\.weight: 7 values for shape \[8\]/);
  });
});

describe('refusals', () => {
  const dir = fixtureDir('llama-gqa');

  it('an unsupported architecture: one error naming config.json and the architecture', async () => {
    const files = folderFiles(join(dir, 'model'));
    files['config.json'] = JSON.stringify({ ...readJsonFile(files, 'config.json'), architectures: ['GPT2LMHeadModel'] });
    await assert.rejects(exportOnnx(memorySource(files, '/models/gpt2-like')), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.match(e.message, /^\/models\/gpt2-like\/config\.json: architecture "GPT2LMHeadModel" is not supported \(supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM, SmolLM3ForCausalLM\)$/);
      return true;
    });
  });

  it('an architecture the graph does not cover: an error naming what the graph lacks, before any weight is read', async () => {
    const files = folderFiles(join(dir, 'model'));
    const base = readJsonFile(files, 'config.json') as Record<string, unknown>;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ architectures: ['Gemma3ForCausalLM'], hidden_activation: 'gelu_pytorch_tanh', sliding_window: 4, rope_theta: 1e6, layer_types: ['sliding_attention', 'full_attention'] },
        /^ONNX export does not cover Gemma3ForCausalLM yet: the graph lacks RMSNorm with \(1 \+ w\), the post-attention and pre\/post-feedforward norms, the GELU-tanh gated MLP, the embedding scale, an attention scale other than 1\/sqrt\(head_dim\), sliding-window attention, a RoPE base per layer$/],
    ];
    for (const [over, message] of cases) {
      const model = memorySource({ 'config.json': JSON.stringify({ ...base, ...over }) }, '/models/new');
      await assert.rejects(exportOnnx(model), (e: unknown) => {
        assert.ok(e instanceof Error && !(e instanceof FormatError), String(e));
        assert.match(e.message, message);
        return true;
      });
    }
  });

  it('an adapter tensor with a wrong shape: one error naming adapter_model.safetensors, the tensor and both shapes', async () => {
    const files = folderFiles(join(dir, 'adapter'));
    const parsed = parseSafetensors(files['adapter_model.safetensors'] as Uint8Array);
    const tensors = new Map<string, HostTensor>();
    for (const [name, entry] of parsed.tensors) tensors.set(name, { shape: entry.shape, data: toFloat32(entry) });
    const key = 'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight';
    const [out, r] = tensors.get(key)!.shape;
    tensors.set(key, { shape: [out + 1, r], data: new Float32Array((out + 1) * r) });
    files['adapter_model.safetensors'] = writeSafetensors(tensors);
    await assert.rejects(exportOnnx(dirSource(join(dir, 'model')), { adapter: memorySource(files, '/adapters/broken') }), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.equal(e.message, `/adapters/broken/adapter_model.safetensors: ${key} has shape [${out + 1},${r}], expected [${out},${r}]`);
      return true;
    });
  });

  it('an adapter whose rank disagrees with its tensors', async () => {
    const files = folderFiles(join(dir, 'adapter'));
    files['adapter_config.json'] = JSON.stringify({ ...readJsonFile(files, 'adapter_config.json'), r: 5 });
    await assert.rejects(exportOnnx(dirSource(join(dir, 'model')), { adapter: memorySource(files, '/adapters/r5') }),
      /^FormatError: \/adapters\/r5\/adapter_model\.safetensors: .*lora_A\.weight has shape \[4,\d+\], expected \[5,\d+\]$/);
  });

  it('a model over the 2 GiB protobuf limit: refused before its weights are read, naming the model and its size', async () => {
    // 600,000 x 1,024 embeddings alone are 2.46 GB as float32. The folder has no weights file: the size check comes first.
    const configJson = llamaJson({ vocab_size: 600_000, hidden_size: 1024, intermediate_size: 2048, num_attention_heads: 8, num_key_value_heads: 8, tie_word_embeddings: true });
    await assert.rejects(exportOnnx(memorySource({ 'config.json': JSON.stringify(configJson) }, '/models/huge')), (e: unknown) => {
      assert.ok(e instanceof ExportTooLargeError, String(e));
      assert.ok(e.bytes > PROTOBUF_LIMIT_BYTES);
      assert.match(e.message, /^\/models\/huge: the ONNX model would be about 2\.\d\d GB \([\d,]+ parameters as float32\), over protobuf's 2 GiB/);
      assert.match(e.message, /external data is not supported/);
      return true;
    });
  });

  it('the blocks of a SAPT model count towards the limit', () => {
    // 450,000 x 1,024 tied embeddings: 1.84 GB, under the limit; 100M more float32 values (0.4 GB) pass it.
    const cfg = parseModelConfig(llamaJson({ vocab_size: 450_000, hidden_size: 1024, intermediate_size: 2048, num_attention_heads: 8, num_key_value_heads: 8, tie_word_embeddings: true, num_hidden_layers: 2 }));
    assert.doesNotThrow(() => checkProtobufLimit('/models/big', cfg));
    assert.throws(() => checkProtobufLimit('/models/big', cfg, 100_000_000), (e: unknown) => e instanceof ExportTooLargeError && e.bytes > PROTOBUF_LIMIT_BYTES);
  });
});

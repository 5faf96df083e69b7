// The weights upload reads the checkpoint one tensor at a time, in pieces: never two reads at once, each small tensor in
// one read, no read larger than a piece, F16/BF16 projections uploaded as the file stores them (the GPU buffer holds
// the file's bytes, exactly), F16/BF16/F64 widened exactly as the CPU widens them, and a sharded copy of a model gives
// the same logits as the single file, bit for bit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packSequences } from '../../src/engine/batch.ts';
import { uploadCheckpoint } from '../../src/engine/gpu-weights.ts';
import { TensorUploader } from '../../src/engine/weight-upload.ts';
import { Session } from '../../src/engine/session.ts';
import type { Gpu } from '../../src/gpu/context.ts';
import { memorySource, type FileSource } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import type { RandomAccessFile } from '../../src/io/random-access.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { parseSafetensors, toFloat32, writeSafetensors } from '../../src/model/safetensors.ts';
import { expectedWeightShapes, loadWeights, openWeights, type HostTensor } from '../../src/model/weights.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';

const MODEL = join(import.meta.dirname, '..', 'fixtures', 'oracle', 'llama-gqa', 'model');

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
});
after(releaseTestGpu);

/** Wraps a source so every read through an opened file is logged with how many were in flight. */
function logged(src: FileSource) {
  const log = { reads: [] as number[], inFlight: 0, maxInFlight: 0 };
  const source: FileSource = {
    ...src,
    async open(name) {
      const f = await src.open(name);
      const file: RandomAccessFile = {
        name: f.name,
        size: f.size,
        async read(offset, length, into) {
          log.reads.push(length);
          log.maxInFlight = Math.max(log.maxInFlight, ++log.inFlight);
          try {
            return await f.read(offset, length, into);
          } finally {
            log.inFlight--;
          }
        },
        close: () => f.close(),
      };
      return file;
    },
  };
  return { source, log };
}

describe('streamed weights upload', () => {
  const configText = readFileSync(join(MODEL, 'config.json'), 'utf8');
  const cfg = parseModelConfig(JSON.parse(configText));
  let host: Map<string, HostTensor>;
  before(async () => {
    host = await loadWeights(dirSource(MODEL), cfg);
  });

  it('reads each tensor once, one at a time, and uploads BF16 projections as stored', async () => {
    const file = writeSafetensors(host, undefined, { float32As: 'BF16' });
    const { source, log } = logged(memorySource({ 'config.json': configText, 'model.safetensors': file }));
    const weights = await uploadCheckpoint(gpu, source, cfg, { halfProjections: true });
    try {
      assert.equal(log.maxInFlight, 1);
      assert.equal(log.reads.length, 2 + host.size, 'the header in two reads, then each tensor once');
      const largest = Math.max(...[...host.values()].map((t) => t.data.length * 2));
      assert.ok(log.reads.slice(2).every((n) => n <= largest));
      const proj = weights.layers[1].proj.down_proj;
      assert.equal(proj.format, 'bf16');
      const stored = parseSafetensors(file).tensors.get('model.layers.1.mlp.down_proj.weight')!.bytes;
      const onGpu = new Uint8Array(await gpu.read(proj.weight, stored.byteLength));
      assert.deepEqual(onGpu, stored, 'the buffer holds the file\'s bytes');
    } finally {
      weights.destroy();
    }
  });

  it('a sharded checkpoint gives the single file\'s logits bit for bit', async () => {
    const names = [...host.keys()];
    const half = Math.ceil(names.length / 2);
    const shard = (part: string[]) => writeSafetensors(new Map(part.map((n) => [n, host.get(n)!])), undefined, { float32As: 'BF16' });
    const weightMap = Object.fromEntries(names.map((n, i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
    const sharded = memorySource({
      'config.json': configText,
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: weightMap }),
      'model-00001-of-00002.safetensors': shard(names.slice(0, half)),
      'model-00002-of-00002.safetensors': shard(names.slice(half)),
    });
    const single = memorySource({ 'config.json': configText, 'model.safetensors': writeSafetensors(host, undefined, { float32As: 'BF16' }) });
    const batch = packSequences([[1, 5, 9, 2, 7, 3]]);
    const a = await Session.open(gpu, single, { baseOnly: true });
    const b = await Session.open(gpu, sharded, { baseOnly: true });
    try {
      const [la] = await a.forward(batch);
      const [lb] = await b.forward(batch);
      assert.deepEqual(lb, la);
      assert.equal(b.info.numParams, a.info.numParams);
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});

describe('TensorUploader', () => {
  // A model whose embedding (101 x 24 = 2424 values) spans several pieces of 1000 values.
  const cfg = parseModelConfig({
    architectures: ['LlamaForCausalLM'], hidden_size: 24, intermediate_size: 7, num_hidden_layers: 1, num_attention_heads: 4,
    num_key_value_heads: 1, vocab_size: 101, rms_norm_eps: 1e-5, tie_word_embeddings: true,
  });
  const PIECE = 1000;
  const EMBED = 'model.embed_tokens.weight';

  function tensors(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    let k = 0;
    for (const [name, shape] of expectedWeightShapes(cfg)) {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) data[i] = Math.sin(++k * 0.37) * 3;
      out.set(name, { shape, data });
    }
    return out;
  }

  it('uploads a BF16 tensor as stored and widened across piece boundaries, and a range of it; no read exceeds a piece', async () => {
    const file = writeSafetensors(tensors(), undefined, { float32As: 'BF16' });
    const { source, log } = logged(memorySource({ 'model.safetensors': file }));
    const reader = await openWeights(source, cfg);
    const up = new TensorUploader(gpu, reader, PIECE);
    try {
      const stored = parseSafetensors(file).tensors.get(EMBED)!;
      assert.equal(stored.bytes.byteLength, 4848);
      const asStored = await up.stored(EMBED);
      assert.deepEqual(new Uint8Array(await gpu.read(asStored, 4848)), stored.bytes);
      const wide = await up.widened(EMBED);
      assert.deepEqual(new Float32Array(await gpu.read(wide, 2424 * 4)), toFloat32(stored));
      // Rows 40..43 of the table alone, and an odd count of halves (five), which gets a zero half after it.
      const rows = await up.stored(EMBED, 40 * 24 * 2, 43 * 24 * 2);
      assert.deepEqual(new Uint8Array(await gpu.read(rows, 3 * 24 * 2)), stored.bytes.subarray(40 * 24 * 2, 43 * 24 * 2));
      const odd = new Uint8Array(await gpu.read(await up.stored(EMBED, 2, 12), 12));
      assert.deepEqual(odd, Uint8Array.from([...stored.bytes.subarray(2, 12), 0, 0]));
      const reads = log.reads.slice(2);
      assert.ok(reads.every((n) => n <= PIECE * 4), `reads ${reads.join(' ')}`);
      assert.deepEqual(reads, [4000, 848, 2000, 2000, 848, 144, 10], 'stored in pieces of 1000 words, widened in pieces of 1000 values');
    } finally {
      up.destroy();
      await reader.close();
    }
  });

  it('widens F64 and F32 tensors in pieces', async () => {
    const host = tensors();
    const embed = host.get(EMBED)!;
    const f64 = Float64Array.from(embed.data, (v, i) => v + i * 1e-9);
    const file = writeSafetensors(new Map([...host].map(([n, t]) => [n, n === EMBED ? { shape: t.shape, data: f64 } : t])));
    const reader = await openWeights(memorySource({ 'model.safetensors': file }), cfg);
    const up = new TensorUploader(gpu, reader, PIECE);
    try {
      assert.equal(reader.dtype(EMBED), 'F64');
      assert.deepEqual(new Float32Array(await gpu.read(await up.widened(EMBED), 2424 * 4)), Float32Array.from(f64));
      const norm = 'model.layers.0.input_layernorm.weight';
      assert.deepEqual(new Float32Array(await gpu.read(await up.widened(norm), 24 * 4)), host.get(norm)!.data);
    } finally {
      up.destroy();
      await reader.close();
    }
  });
});

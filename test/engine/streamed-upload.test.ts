// The weights upload reads the checkpoint one tensor at a time: never two reads at once, each tensor once, F16/BF16
// projections uploaded as the file stores them (the GPU buffer holds the file's bytes), and a sharded copy of a model
// gives the same logits as the single file, bit for bit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packSequences } from '../../src/engine/batch.ts';
import { uploadCheckpoint } from '../../src/engine/gpu-weights.ts';
import { Session } from '../../src/engine/session.ts';
import type { Gpu } from '../../src/gpu/context.ts';
import { memorySource, type FileSource } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import type { RandomAccessFile } from '../../src/io/random-access.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { parseSafetensors, writeSafetensors } from '../../src/model/safetensors.ts';
import { loadWeights, type HostTensor } from '../../src/model/weights.ts';
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
        async read(offset, length) {
          log.reads.push(length);
          log.maxInFlight = Math.max(log.maxInFlight, ++log.inFlight);
          try {
            return await f.read(offset, length);
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

// Tests that checkpoints are read tensor by tensor by byte range: a sparse file whose tensors lie past 2 GiB (and 4 GiB),
// no read larger than one tensor and never two at once, each tensor read once, and truncated files named with the tensor.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FormatError } from '../../src/io/errors.ts';
import { memorySource, type FileSource } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import type { RandomAccessFile } from '../../src/io/random-access.ts';
import { packHalf } from '../../src/model/half.ts';
import { writeSafetensors } from '../../src/model/safetensors.ts';
import { expectedWeightShapes, loadWeights, openWeights, widenTensor } from '../../src/model/weights.ts';
import { llamaConfig, randomTensors } from './helpers.ts';

const cfg = llamaConfig({ hidden_size: 16, intermediate_size: 24, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 40 });

/** The model's tensors stored as BF16 (exact in both directions), as a checkpoint would ship them. */
function bf16Tensors() {
  const tensors = randomTensors(expectedWeightShapes(cfg), 3);
  const bytes = new Map<string, Uint8Array>();
  for (const [name, t] of tensors) {
    const packed = packHalf(t.data, 'BF16').subarray(0, t.data.length);
    bytes.set(name, new Uint8Array(packed.buffer, 0, packed.byteLength));
    t.data = widenTensor({ name, file: '', shape: t.shape, dtype: 'BF16', bytes: bytes.get(name)! }).data;
  }
  return { tensors, bytes };
}

/** A source whose opened files record every read: its size, and how many reads were in flight at once. */
function accounting(src: FileSource) {
  const stats = { reads: [] as { file: string; offset: number; length: number }[], inFlight: 0, maxInFlight: 0 };
  const source: FileSource = {
    ...src,
    async open(name) {
      const f = await src.open(name);
      const counted: RandomAccessFile = {
        name: f.name,
        size: f.size,
        async read(offset, length, into) {
          stats.reads.push({ file: name, offset, length });
          stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
          try {
            return await f.read(offset, length, into);
          } finally {
            stats.inFlight--;
          }
        },
        close: () => f.close(),
      };
      return counted;
    },
  };
  return { source, stats };
}

describe('a sparse checkpoint whose tensors lie past 4 GiB', () => {
  // 4.5 GiB no tensor claims first, so every tensor starts past 2^32 bytes; the file is sparse, so this
  // costs no disk and the test stays fast.
  const GAP = 4.5 * 2 ** 30;
  let dir = '';
  const { tensors, bytes } = bf16Tensors();
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'clora-sparse-'));
    // The data section starts with GAP bytes no tensor claims (offsets need not be contiguous), then every tensor.
    const header: Record<string, unknown> = {};
    let off = GAP;
    const at = new Map<string, number>();
    for (const [name, t] of tensors) {
      const n = bytes.get(name)!.byteLength;
      header[name] = { dtype: 'BF16', shape: t.shape, data_offsets: [off, off + n] };
      at.set(name, off);
      off += n;
    }
    const json = new TextEncoder().encode(JSON.stringify(header));
    const first = new Uint8Array(8 + json.byteLength);
    new DataView(first.buffer).setUint32(0, json.byteLength, true);
    first.set(json, 8);
    const path = join(dir, 'model.safetensors');
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, first, 0, first.byteLength, 0);
      for (const [name, b] of bytes) writeSync(fd, b, 0, b.byteLength, first.byteLength + at.get(name)!);
    } finally {
      closeSync(fd);
    }
    truncateSync(path, first.byteLength + off);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('every tensor reads back exactly, through reads at offsets of one tensor each', async () => {
    const size = statSync(join(dir, 'model.safetensors')).size;
    assert.ok(size > 4 * 2 ** 30, `file is ${size} bytes`);
    // What a whole-file read runs into: Node refuses a buffer over 2 GiB.
    await assert.rejects(dirSource(dir).read('model.safetensors'), /greater than 2 GiB|ERR_FS_FILE_TOO_LARGE/i);
    const { source, stats } = accounting(dirSource(dir));
    const reader = await openWeights(source, cfg);
    try {
      for (const [name, want] of bytes) {
        const got = await reader.read(name);
        assert.equal(got.dtype, 'BF16');
        assert.deepEqual(got.bytes, want, name);
      }
    } finally {
      await reader.close();
    }
    const tensorReads = stats.reads.slice(2);
    assert.equal(tensorReads.length, bytes.size);
    assert.ok(tensorReads.every((r) => r.offset > 4 * 2 ** 30), 'all tensor reads past 4 GiB');
    const widened = await loadWeights(dirSource(dir), cfg);
    for (const [name, t] of tensors) assert.deepEqual(widened.get(name)!.data, t.data, name);
  });
});

describe('reading holds about one tensor', () => {
  test('no read exceeds the largest tensor, none overlap in time, each needed tensor is read once, single file and sharded', async () => {
    const { tensors } = bf16Tensors();
    // A buffer older Llama checkpoints saved and the engine recomputes: listed, accounted for, never read.
    const extra = { 'model.layers.0.self_attn.rotary_emb.inv_freq': { shape: [4], data: new Float32Array(4) } };
    const single = { 'model.safetensors': writeSafetensors({ ...Object.fromEntries(tensors), ...extra }, undefined, { float32As: 'BF16' }) };
    const first = new Map([...tensors].filter(([n]) => !n.startsWith('model.layers.1.')));
    const second = new Map([...tensors].filter(([n]) => n.startsWith('model.layers.1.')));
    const weightMap: Record<string, string> = {};
    for (const n of first.keys()) weightMap[n] = 'model-00001-of-00002.safetensors';
    for (const n of second.keys()) weightMap[n] = 'model-00002-of-00002.safetensors';
    const sharded = {
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: weightMap }),
      'model-00001-of-00002.safetensors': writeSafetensors(first, undefined, { float32As: 'BF16' }),
      'model-00002-of-00002.safetensors': writeSafetensors(second, undefined, { float32As: 'BF16' }),
    };
    for (const files of [single, sharded]) {
      const { source, stats } = accounting(memorySource(files));
      const reader = await openWeights(source, cfg);
      const largest = Math.max(...[...tensors.values()].map((t) => t.data.length * 2));
      assert.equal(reader.largestBytes, largest);
      assert.equal(reader.bytes, [...tensors.values()].reduce((s, t) => s + t.data.length * 2, 0));
      const headerReads = stats.reads.length;
      for (const name of reader.shapes.keys()) assert.deepEqual(widenTensor(await reader.read(name)).data, tensors.get(name)!.data, name);
      await reader.close();
      const tensorReads = stats.reads.slice(headerReads);
      assert.equal(tensorReads.length, tensors.size, 'each needed tensor read once, the unneeded one never');
      assert.ok(tensorReads.every((r) => r.length <= largest), 'no read larger than the largest tensor');
      assert.equal(tensorReads.reduce((s, r) => s + r.length, 0), reader.bytes);
      assert.equal(stats.maxInFlight, 1, 'never two reads at once');
      // The headers take two small reads per file: the length, then the JSON.
      assert.equal(headerReads, 2 * Object.keys(files).filter((f) => f.endsWith('.safetensors')).length);
      assert.ok(stats.reads.slice(0, headerReads).every((r) => r.length < 4096));
    }
  });
});

describe('broken checkpoints are named with file and tensor', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'clora-broken-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a truncated file fails when opened, naming the file and the first tensor cut off', async () => {
    const { tensors } = bf16Tensors();
    const full = writeSafetensors(tensors, undefined, { float32As: 'BF16' });
    const cut = full.subarray(0, full.byteLength - 10);
    await assert.rejects(openWeights(memorySource({ 'model.safetensors': cut }), cfg), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.equal(e.file, 'model.safetensors');
      assert.match(e.message, /^model\.safetensors: tensor lm_head\.weight: data_offsets \[\d+,\d+\] out of range: past the end of the data section \(\d+ bytes\); the file is truncated/);
      return true;
    });
  });

  test('a file cut short after it was opened fails at the tensor, naming file and tensor', async () => {
    const { tensors } = bf16Tensors();
    const path = join(dir, 'model.safetensors');
    writeFileSync(path, writeSafetensors(tensors, undefined, { float32As: 'BF16' }));
    const reader = await openWeights(dirSource(dir), cfg);
    try {
      await reader.read('model.embed_tokens.weight');
      truncateSync(path, 200);
      await assert.rejects(reader.read('model.norm.weight'), (e: unknown) => {
        assert.ok(e instanceof FormatError, String(e));
        assert.equal(e.file, 'model.safetensors');
        assert.match(e.message, /^model\.safetensors: tensor model\.norm\.weight: no bytes at offset \d+ while reading bytes \d+\.\.\d+: the file is shorter than when it was opened/);
        return true;
      });
    } finally {
      await reader.close();
    }
  });

  test('a header length past the end, or past the format limit, and a header that is not JSON', async () => {
    const len = (n: number, rest: Uint8Array = new Uint8Array(0)) => {
      const out = new Uint8Array(8 + rest.byteLength);
      new DataView(out.buffer).setUint32(0, n % 2 ** 32, true);
      new DataView(out.buffer).setUint32(4, Math.floor(n / 2 ** 32), true);
      out.set(rest, 8);
      return out;
    };
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(5), /^shard\.safetensors: too short for a safetensors file \(5 bytes\)/],
      [len(1000, new Uint8Array(10)), /^shard\.safetensors: header length 1000 runs past the end of the file \(18 bytes\)/],
      [len(2 ** 40), /header length 1099511627776 runs past the end/],
      [len(3, new TextEncoder().encode('{"a')), /^shard\.safetensors: header is not valid JSON/],
    ];
    for (const [bytes, message] of cases) {
      const files = { 'model.safetensors.index.json': JSON.stringify({ weight_map: Object.fromEntries([...expectedWeightShapes(cfg).keys()].map((n) => [n, 'shard.safetensors'])) }), 'shard.safetensors': bytes };
      await assert.rejects(openWeights(memorySource(files), cfg), (e: unknown) => e instanceof FormatError && e.file === 'shard.safetensors' && message.test(e.message));
    }
  });
});

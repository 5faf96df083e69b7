// Tests safetensors parsing, validation messages, f16/bf16 widening and the writer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FormatError } from '../../src/io/errors.ts';
import { parseSafetensors, toFloat32, writeSafetensors } from '../../src/model/safetensors.ts';
import { rawSafetensors, u16Bytes } from './helpers.ts';

const FILE = 'shard-3.safetensors';

/** Asserts a FormatError whose message names the file and every given fragment. */
function throwsFormat(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.equal(e.file, FILE);
    assert.ok(e.message.startsWith(`${FILE}: `), e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" lacks "${f}"`);
    return true;
  });
}

describe('writeSafetensors / parseSafetensors', () => {
  test('round trip keeps names, order, shapes, values and metadata', () => {
    const a = { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, -0, 1e-30]) };
    const b = { shape: [], data: new Float32Array([42]) };
    const c = { shape: [0, 4], data: new Float32Array(0) };
    const d = { shape: [5], data: new Float32Array([Infinity, -Infinity, NaN, 65504, 1 / 3]) };
    const bytes = writeSafetensors({ 'w.a': a, scalar: b, empty: c, 'x.d': d }, { format: 'pt', note: 'hi' });
    const f = parseSafetensors(bytes, FILE);
    assert.deepEqual(f.metadata, { format: 'pt', note: 'hi' });
    assert.deepEqual([...f.tensors.keys()], ['w.a', 'scalar', 'empty', 'x.d']);
    for (const [name, t] of Object.entries({ 'w.a': a, scalar: b, empty: c, 'x.d': d })) {
      const e = f.tensors.get(name)!;
      assert.equal(e.dtype, 'F32');
      assert.deepEqual(e.shape, t.shape);
      const got = toFloat32(e);
      assert.equal(got.length, t.data.length);
      for (let i = 0; i < got.length; i++) assert.ok(Object.is(got[i], t.data[i]), `${name}[${i}]`);
    }
  });

  test('header is padded with spaces to a multiple of 8 bytes', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'abcdefghijk']) {
      const bytes = writeSafetensors({ [name]: { shape: [1], data: new Float32Array([1]) } });
      const len = new DataView(bytes.buffer).getUint32(0, true);
      assert.equal(len % 8, 0);
      assert.equal(new DataView(bytes.buffer).getUint32(4, true), 0);
      const header = new TextDecoder().decode(bytes.subarray(8, 8 + len));
      assert.match(header, /^\{.*\} *$/);
      assert.equal(bytes.byteLength, 8 + len + 4);
    }
  });

  test('toFloat32 returns a copy, not a view of the file', () => {
    const bytes = writeSafetensors({ t: { shape: [2], data: new Float32Array([1, 2]) } });
    const out = toFloat32(parseSafetensors(bytes, FILE).tensors.get('t')!);
    bytes.fill(0);
    assert.deepEqual([...out], [1, 2]);
  });

  test('tensors at unaligned offsets still decode', () => {
    // A 5-byte F16 tensor region start and a header length that is not a multiple of 4 force unaligned views.
    const f32 = new Uint8Array(new Float32Array([1.5, -2.25]).buffer);
    const data = new Uint8Array(1 + 8 + 4);
    data.set([7], 0);
    data.set(f32, 1);
    data.set(u16Bytes([0x3c00, 0xc000]), 9);
    const header = { pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, f: { dtype: 'F32', shape: [2], data_offsets: [1, 9] }, h: { dtype: 'F16', shape: [2], data_offsets: [9, 13] } };
    const f = parseSafetensors(rawSafetensors(header, data), FILE);
    assert.deepEqual([...toFloat32(f.tensors.get('f')!)], [1.5, -2.25]);
    assert.deepEqual([...toFloat32(f.tensors.get('h')!)], [1, -2]);
  });

  test('writer rejects a data length that does not match the shape', () => {
    assert.throws(() => writeSafetensors({ t: { shape: [2, 2], data: new Float32Array(3) } }), /t has 3 values but shape \[2,2\]/);
  });
});

describe('widening', () => {
  const widen = (dtype: string, bits: number[]) =>
    toFloat32(parseSafetensors(rawSafetensors({ t: { dtype, shape: [bits.length], data_offsets: [0, bits.length * 2] } }, u16Bytes(bits)), FILE).tensors.get('t')!);
  const f32Bits = (a: Float32Array) => [...new Uint32Array(a.buffer)];

  test('F16 known bit patterns (normals, subnormals, zeros, inf, nan)', () => {
    // Expected f32 bit patterns from numpy's float16 -> float32 conversion.
    const cases: [number, number][] = [
      [0x3c00, 0x3f800000], [0xc000, 0xc0000000], [0x7bff, 0x477fe000], [0x0400, 0x38800000],
      [0x0001, 0x33800000], [0x03ff, 0x387fc000], [0x8001, 0xb3800000], [0x7c00, 0x7f800000],
      [0xfc00, 0xff800000], [0x7e00, 0x7fc00000], [0x8000, 0x80000000], [0x3555, 0x3eaaa000],
      [0x7c01, 0x7f802000], [0x0000, 0x00000000],
    ];
    assert.deepEqual(f32Bits(widen('F16', cases.map((c) => c[0]))), cases.map((c) => c[1]));
    const v = widen('F16', [0x0001, 0x03ff, 0x7bff, 0x3555]);
    assert.deepEqual([...v], [5.960464477539063e-8, 6.097555160522461e-5, 65504, 0.333251953125]);
  });

  test('F16 matches the IEEE formula for all 65536 values', () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const got = widen('F16', all);
    for (const h of all) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const want = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
      if (Number.isNaN(want)) assert.ok(Number.isNaN(got[h]), `0x${h.toString(16)}`);
      else assert.ok(Object.is(got[h], want), `0x${h.toString(16)}: ${got[h]} != ${want}`);
    }
  });

  test('BF16 known bit patterns', () => {
    const cases = [0x3f80, 0xc049, 0x7f80, 0xff80, 0x7fc0, 0x0001, 0x8000, 0x4049];
    assert.deepEqual(f32Bits(widen('BF16', cases)), cases.map((c) => (c << 16) >>> 0));
    const v = widen('BF16', [0x3f80, 0xc049, 0x0001, 0x4049]);
    assert.deepEqual([...v], [1, -3.140625, 9.183549615799121e-41, 3.140625]);
  });

  test('F64 is rounded to f32', () => {
    const data = new Uint8Array(new Float64Array([0.1, -1e300]).buffer);
    const f = parseSafetensors(rawSafetensors({ t: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, data), FILE);
    assert.deepEqual([...toFloat32(f.tensors.get('t')!)], [Math.fround(0.1), -Infinity]);
  });
});

describe('validation errors name the file and tensor', () => {
  test('file shorter than the length prefix', () => {
    throwsFormat(() => parseSafetensors(new Uint8Array(5), FILE), 'too short');
  });

  test('header length beyond the file', () => {
    throwsFormat(() => parseSafetensors(rawSafetensors({}, new Uint8Array(0), 1000), FILE), 'header length 1000', 'past the end');
    throwsFormat(() => parseSafetensors(rawSafetensors({}, new Uint8Array(0), 2 ** 40), FILE), 'header length');
  });

  test('bad JSON header', () => {
    throwsFormat(() => parseSafetensors(rawSafetensors('{"t": {"dtype": '), FILE), 'not valid JSON');
    throwsFormat(() => parseSafetensors(rawSafetensors('[1,2]'), FILE), 'not a JSON object');
  });

  test('bad __metadata__', () => {
    throwsFormat(() => parseSafetensors(rawSafetensors({ __metadata__: { a: 1 } }), FILE), '__metadata__', '"a"');
  });

  test('data_offsets out of range', () => {
    const h = { 'model.w': { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    throwsFormat(() => parseSafetensors(rawSafetensors(h, new Uint8Array(4)), FILE), 'model.w', 'out of range', '4 bytes');
    const back = { 'model.w': { dtype: 'F32', shape: [0], data_offsets: [4, 0] } };
    throwsFormat(() => parseSafetensors(rawSafetensors(back, new Uint8Array(4)), FILE), 'model.w', 'out of range');
    const neg = { 'model.w': { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } };
    throwsFormat(() => parseSafetensors(rawSafetensors(neg, new Uint8Array(4)), FILE), 'model.w', 'data_offsets');
  });

  test('overlapping tensors', () => {
    const h = {
      'layer.a': { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      'layer.b': { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    throwsFormat(() => parseSafetensors(rawSafetensors(h, new Uint8Array(12)), FILE), 'layer.b', 'overlap', 'layer.a');
  });

  test('shape does not match the byte size', () => {
    const h = { 'model.embed_tokens.weight': { dtype: 'BF16', shape: [3, 2], data_offsets: [0, 8] } };
    throwsFormat(() => parseSafetensors(rawSafetensors(h, new Uint8Array(8)), FILE), 'model.embed_tokens.weight', 'shape [3,2]', 'needs 12 bytes', 'hold 8');
    const bad = { t: { dtype: 'F32', shape: [2.5], data_offsets: [0, 8] } };
    throwsFormat(() => parseSafetensors(rawSafetensors(bad, new Uint8Array(8)), FILE), 'tensor t', 'shape');
  });

  test('unknown dtype at parse time', () => {
    const h = { 'q.weight': { dtype: 'Q4_K', shape: [2], data_offsets: [0, 1] } };
    throwsFormat(() => parseSafetensors(rawSafetensors(h, new Uint8Array(1)), FILE), 'q.weight', 'unsupported dtype "Q4_K"');
  });

  test('non-float dtype when converting, not when parsing', () => {
    const h = {
      'model.rotary.idx': { dtype: 'I64', shape: [1], data_offsets: [0, 8] },
      ok: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    };
    const f = parseSafetensors(rawSafetensors(h, new Uint8Array(12)), FILE);
    assert.deepEqual([...toFloat32(f.tensors.get('ok')!)], [0]);
    throwsFormat(() => toFloat32(f.tensors.get('model.rotary.idx')!), 'model.rotary.idx', 'dtype I64');
  });
});

// KV-cache write and single-query decode attention on real WebGPU, against the full causal attention reference and the f64 decode reference.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Gpu } from '../../src/gpu/context.ts';
import { Plan } from '../../src/gpu/plan.ts';
import { recordAttentionDecode, recordKvCacheWrite } from '../../src/gpu/kernels/attention-decode.ts';
import { attentionForward } from '../../src/ref/ops.ts';
import * as dec from '../../src/ref/decode.ts';
import { assertClose } from '../helpers/assert.ts';
import { randomArray } from '../helpers/random.ts';
import { kernelHarness, releaseTestGpu, testGpu } from '../helpers/gpu.ts';

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
  assert.ok(gpu.adapter.vendor !== undefined, 'a WebGPU adapter is required');
});
after(releaseTestGpu);

const { up, zeros, run } = kernelHarness(() => gpu);

// Softmax of O(1) scores and sums over <= a few hundred positions in f32 (online rescaling adds a
// few roundings per chunk): rtol 1e-5, atol 1e-5, as for the training attention kernels.
const TOL = { rtol: 1e-5, atol: 1e-5 };

describe('KV-cache decoding kernels', () => {
  it('kv cache write places each sequence row at its own position, and skips pos >= maxSeq', async () => {
    const s = { batch: 4, maxSeq: 9, dim: 70 };
    const cache0 = randomArray(s.batch * s.maxSeq * s.dim, 1);
    const src = randomArray(s.batch * s.dim, 2);
    const pos = new Uint32Array([3, 0, 8, 9]);
    const cache = up(cache0);
    await run((plan) => recordKvCacheWrite(gpu, plan, s, { src: up(src), cache, pos: up(pos) }));
    assertClose(await gpu.readF32(cache), dec.kvCacheWrite(cache0, src, pos, s), { rtol: 0, atol: 0 }, 'cache');
  });

  // [heads, kvHeads, headDim, seq]; seq 150 crosses the 128-position chunk of the online softmax.
  // Head dims past the 128-wide workgroup take two columns per invocation: 130 (two past it) and 256 (Gemma 3).
  const shapes: [number, number, number, number][] = [[6, 2, 8, 150], [6, 2, 64, 21], [4, 1, 8, 23], [4, 1, 64, 133], [2, 1, 130, 9], [4, 1, 256, 140]];
  for (const [heads, kvHeads, headDim, seq] of shapes) {
    it(`decode equals row p of full causal attention: heads=${heads} kv=${kvHeads} D=${headDim} seq=${seq}`, async () => {
      const batch = 3;
      const maxSeq = seq + 5; // slots past the sequence hold NaN: reading one would poison the output
      const kvDim = kvHeads * headDim;
      const qDim = heads * headDim;
      const shape = { batch, seq, heads, kvHeads, headDim };
      const q = randomArray(batch * seq * qDim, seq + headDim, 1.5);
      const k = randomArray(batch * seq * kvDim, seq + headDim + 1, 1.5);
      const v = randomArray(batch * seq * kvDim, seq + headDim + 2);
      const full = attentionForward(q, k, v, shape).out;

      // Fill both caches through the cache-write kernel, one position per dispatch; sequence b is
      // written in a rotated order so the rows of one dispatch land at different positions.
      const kCache = up(new Float32Array(batch * maxSeq * kvDim).fill(NaN), 'kCache');
      const vCache = up(new Float32Array(batch * maxSeq * kvDim).fill(NaN), 'vCache');
      await run((plan) => {
        for (let i = 0; i < seq; i++) {
          const pos = Uint32Array.from({ length: batch }, (_, b) => (i + 7 * b) % seq);
          const kRow = new Float32Array(batch * kvDim), vRow = new Float32Array(batch * kvDim);
          for (let b = 0; b < batch; b++) {
            const t = pos[b];
            kRow.set(k.subarray((b * seq + t) * kvDim, (b * seq + t + 1) * kvDim), b * kvDim);
            vRow.set(v.subarray((b * seq + t) * kvDim, (b * seq + t + 1) * kvDim), b * kvDim);
          }
          const bpos = up(pos, 'pos');
          recordKvCacheWrite(gpu, plan, { batch, maxSeq, dim: kvDim }, { src: up(kRow, 'kRow'), cache: kCache, pos: bpos }, `k.write${i}`);
          recordKvCacheWrite(gpu, plan, { batch, maxSeq, dim: kvDim }, { src: up(vRow, 'vRow'), cache: vCache, pos: bpos }, `v.write${i}`);
        }
      });

      // Several query positions per sequence: the first, the last, one in between, and one in each
      // chunk when the sequence spans two.
      const posSets = [[0, seq - 1, Math.floor(seq / 2)], [seq - 1, 1, 0], [Math.min(seq - 1, 128), Math.min(seq - 1, 127), seq - 2]];
      for (const ps of posSets) {
        const qDec = new Float32Array(batch * qDim);
        const expected = new Float64Array(batch * qDim);
        for (let b = 0; b < batch; b++) {
          qDec.set(q.subarray((b * seq + ps[b]) * qDim, (b * seq + ps[b] + 1) * qDim), b * qDim);
          expected.set(full.subarray((b * seq + ps[b]) * qDim, (b * seq + ps[b] + 1) * qDim), b * qDim);
        }
        const out = zeros(batch * qDim);
        await run((plan) => recordAttentionDecode(gpu, plan, { batch, maxSeq, heads, kvHeads, headDim },
          { q: up(qDec), kCache, vCache, pos: up(Uint32Array.from(ps)), out }));
        assertClose(await gpu.readF32(out), expected, TOL, `decode at positions ${ps.join(',')}`);
      }
    });
  }

  // Sliding window W: the query at position L sees L - W < j <= L. Cache slots before the window hold NaN, so a
  // kernel that read one (rather than starting at the window) would return NaN. rtol/atol as above.
  for (const [window, pos] of [[5, [40, 4]], [130, [140, 129]], [1, [7, 0]]] as const) {
    it(`decode with a sliding window of ${window} reads only the window (positions ${pos.join(',')})`, async () => {
      const [batch, maxSeq, heads, kvHeads, headDim] = [2, 150, 4, 2, 8];
      const kvDim = kvHeads * headDim;
      const s = { batch, maxSeq, heads, kvHeads, headDim, window, scale: 0.27 };
      const kc = randomArray(batch * maxSeq * kvDim, 36, 1.5), vc = randomArray(batch * maxSeq * kvDim, 37);
      const poisoned = (c: Float32Array) => {
        const out = Float32Array.from(c);
        for (let b = 0; b < batch; b++) out.fill(NaN, b * maxSeq * kvDim, (b * maxSeq + Math.max(0, pos[b] - window + 1)) * kvDim);
        return out;
      };
      const q = randomArray(batch * heads * headDim, 38, 1.5);
      const out = zeros(batch * heads * headDim);
      await run((plan) => recordAttentionDecode(gpu, plan, s, { q: up(q), kCache: up(poisoned(kc)), vCache: up(poisoned(vc)), pos: up(Uint32Array.from(pos)), out }));
      assertClose(await gpu.readF32(out), dec.attentionDecode(q, kc, vc, pos, s), TOL, 'windowed decode');
    });
  }

  it('windowed decode reference equals row p of the windowed attention reference (f64)', () => {
    const [batch, seq, heads, kvHeads, headDim, window] = [2, 9, 6, 2, 4, 3];
    const kvDim = kvHeads * headDim, qDim = heads * headDim;
    const q = randomArray(batch * seq * qDim, 39), k = randomArray(batch * seq * kvDim, 40), v = randomArray(batch * seq * kvDim, 41);
    const full = attentionForward(q, k, v, { batch, seq, heads, kvHeads, headDim, window, scale: 0.5 }).out;
    for (let p = 0; p < seq; p++) {
      const qDec = new Float64Array(batch * qDim);
      for (let b = 0; b < batch; b++) qDec.set(q.subarray((b * seq + p) * qDim, (b * seq + p + 1) * qDim), b * qDim);
      const got = dec.attentionDecode(qDec, k, v, [p, p], { batch, maxSeq: seq, heads, kvHeads, headDim, window, scale: 0.5 });
      const want = new Float64Array(batch * qDim);
      for (let b = 0; b < batch; b++) want.set(full.subarray((b * seq + p) * qDim, (b * seq + p + 1) * qDim), b * qDim);
      assertClose(got, want, { rtol: 1e-12, atol: 1e-14 }, `f64 windowed decode at ${p}`);
    }
  });

  it('decode reference equals row p of the full causal attention reference (f64)', () => {
    const [batch, seq, heads, kvHeads, headDim] = [2, 9, 6, 2, 4];
    const kvDim = kvHeads * headDim, qDim = heads * headDim;
    const q = randomArray(batch * seq * qDim, 30), k = randomArray(batch * seq * kvDim, 31), v = randomArray(batch * seq * kvDim, 32);
    const full = attentionForward(q, k, v, { batch, seq, heads, kvHeads, headDim }).out;
    for (let p = 0; p < seq; p++) {
      const qDec = new Float64Array(batch * qDim);
      for (let b = 0; b < batch; b++) qDec.set(q.subarray((b * seq + p) * qDim, (b * seq + p + 1) * qDim), b * qDim);
      const got = dec.attentionDecode(qDec, k, v, [p, p], { batch, maxSeq: seq, heads, kvHeads, headDim });
      const want = new Float64Array(batch * qDim);
      for (let b = 0; b < batch; b++) want.set(full.subarray((b * seq + p) * qDim, (b * seq + p + 1) * qDim), b * qDim);
      assertClose(got, want, { rtol: 1e-12, atol: 1e-14 }, `f64 decode at ${p}`);
    }
  });

  it('decode at positions up to 4095 of a 4096-slot cache (GQA 4/2, D=128)', async () => {
    const [batch, maxSeq, heads, kvHeads, headDim] = [2, 4096, 4, 2, 128];
    const s = { batch, maxSeq, heads, kvHeads, headDim };
    const kvLen = batch * maxSeq * kvHeads * headDim;
    // Keys scaled so scores spread over several units: the running max changes between chunks.
    const kc = randomArray(kvLen, 33, 0.6), vc = randomArray(kvLen, 34);
    const q = randomArray(batch * heads * headDim, 35, 1.5);
    const bk = up(kc), bv = up(vc);
    for (const pos of [[4095, 2500], [129, 4095]]) {
      const out = zeros(batch * heads * headDim);
      await run((plan) => recordAttentionDecode(gpu, plan, s, { q: up(q), kCache: bk, vCache: bv, pos: up(Uint32Array.from(pos)), out }));
      // Averages over up to 4096 positions in 32 chunks: rtol 1e-4, atol 2e-6 on outputs of ~1/sqrt(4096).
      assertClose(await gpu.readF32(out), dec.attentionDecode(q, kc, vc, pos, s), { rtol: 1e-4, atol: 2e-6 }, `positions ${pos.join(',')}`);
    }
  });

  it('rejects head counts that are not a multiple of the key/value heads, and head dims over 256', () => {
    const plan = new Plan('bad');
    const b = zeros(4);
    const io = { q: b, kCache: b, vCache: b, pos: b, out: b };
    assert.throws(() => recordAttentionDecode(gpu, plan, { batch: 1, maxSeq: 4, heads: 6, kvHeads: 4, headDim: 8 }, io), /multiple/);
    assert.throws(() => recordAttentionDecode(gpu, plan, { batch: 1, maxSeq: 4, heads: 2, kvHeads: 1, headDim: 258 }, io), /head dim 258/);
  });
});

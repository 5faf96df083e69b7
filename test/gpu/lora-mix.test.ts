// The multi-block LoRA mix against the f64 reference (src/ref/lora-mix.ts) on odd shapes, on real WebGPU: the forward mix fused into
// a matmul's epilogue (shaders/matmul_epilogue.wgsl), the backward kernels (shaders/lora_mix.wgsl).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Gpu } from '../../src/gpu/context.ts';
import { Plan } from '../../src/gpu/plan.ts';
import { LORA_MIX_MAX_COLUMNS, recordLoraMixBackward, type LoraMixShape } from '../../src/gpu/kernels/lora-mix.ts';
import { recordMatmul, type MatmulKernel } from '../../src/gpu/kernels/matmul.ts';
import type { BufferRef } from '../../src/gpu/context.ts';
import { loraMixBackward, loraMixForward, mixBatch } from '../../src/ref/lora-mix.ts';
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

/**
 * y += the mixed blocks' output, as the engine records it: a projection matmul whose own product is zero (alpha 0,
 * beta 1 keeps y) with the mix in its epilogue. One block takes no mixture (the engine has none then), so the
 * reference gets weights of 1.
 */
function recordMixForward(plan: Plan, s: LoraMixShape, io: { u: BufferRef; B: BufferRef; mix: BufferRef; y: BufferRef }, kernel: MatmulKernel = 'auto'): void {
  const lora = s.blocks === 1
    ? { layout: 'out-major' as const, u: io.u, l: io.B, rank: s.rank, blocks: 1, scale: s.scale }
    : { layout: 'out-major' as const, u: io.u, l: io.B, rank: s.rank, blocks: s.blocks, scale: s.scale, mix: io.mix, seq: s.seq };
  recordMatmul(gpu, plan, { a: zeros(s.tokens * 4), b: zeros(s.outDim * 4), c: io.y, M: s.tokens, N: s.outDim, K: 4, transB: true, alpha: 0, beta: 1, lora, kernel }, 'mix_forward');
}

/** The reference's mixture for the forward check: one block has none (weights of 1). */
const forwardMix = (s: LoraMixShape, mix: Float32Array) => (s.blocks === 1 ? new Float32Array(mix.length).fill(1) : mix);

// f32 sums of at most J*r (forward) or d_out (backward) products of O(1) values against f64:
// rtol 1e-5 with atol 1e-5; dmix sums seq*r more such terms: atol 1e-4.
const TOL = { rtol: 1e-5, atol: 1e-5 };
const DMIX_TOL = { rtol: 1e-5, atol: 1e-4 };

interface Case { tokens: number; seq: number; blocks: number; rank: number; outDim: number }
const cases: Case[] = [
  { tokens: 37, seq: 37, blocks: 3, rank: 4, outDim: 33 },
  { tokens: 36, seq: 12, blocks: 5, rank: 8, outDim: 70 },
  { tokens: 36, seq: 12, blocks: 1, rank: 1, outDim: 33 },
  { tokens: 37, seq: 12, blocks: 5, rank: 1, outDim: 70 },  // a short last example
  { tokens: 20, seq: 5, blocks: 3, rank: 24, outDim: 33 },  // a block straddles two 64-column tiles
];

describe('LoRA mix kernels vs CPU reference', () => {
  for (const c of cases) {
    for (const active of new Set([-1, 0, c.blocks - 1])) {
      const name = `N=${c.tokens} seq=${c.seq} J=${c.blocks} r=${c.rank} d_out=${c.outDim} active=${active}`;
      it(`forward and backward ${name}`, async () => {
        const s = { ...c, scale: 32 / c.rank / 8 };
        const jr = c.blocks * c.rank;
        const batch = mixBatch(s);
        const seed = c.tokens + 7 * c.blocks + 13 * c.rank + active;
        const u = randomArray(c.tokens * jr, seed + 1);
        const B = randomArray(c.blocks * c.outDim * c.rank, seed + 2);
        const mix = randomArray(batch * c.blocks, seed + 3);
        const dy = randomArray(c.tokens * c.outDim, seed + 4);
        const y0 = randomArray(c.tokens * c.outDim, seed + 5);
        const dmix0 = randomArray(batch * c.blocks, seed + 6);
        const bu = up(u), bB = up(B), bmix = up(mix), bdy = up(dy), by = up(y0), bdmix = up(dmix0);
        // Output buffers start with garbage to check that du, duActive and uActive are overwritten.
        const bdu = up(randomArray(c.tokens * jr, 90)), bduA = up(randomArray(c.tokens * c.rank, 91)), buA = up(randomArray(c.tokens * c.rank, 92));
        const plan = await run((plan) => {
          recordMixForward(plan, s, { u: bu, B: bB, mix: bmix, y: by });
          recordLoraMixBackward(gpu, plan, { ...s, active }, { u: bu, B: bB, mix: bmix, dy: bdy, du: bdu, duActive: bduA, uActive: buA, dmix: bdmix });
        });
        assert.equal(plan.dispatchCount, 3, 'forward 1 + backward 2 dispatches');
        const r = loraMixBackward(u, B, mix, dy, { ...s, active });
        assertClose(await gpu.readF32(by), loraMixForward(u, B, forwardMix(s, mix), s, y0), TOL, 'y += mix');
        assertClose(await gpu.readF32(bdu), r.du, TOL, 'du');
        assertClose(await gpu.readF32(bdmix), r.dmix.map((v, i) => v + dmix0[i]), DMIX_TOL, 'dmix accumulated');
        if (active >= 0) {
          assertClose(await gpu.readF32(bduA), r.duActive!, TOL, 'duActive');
          assertClose(await gpu.readF32(buA), r.uActive!, TOL, 'uActive');
        }
      });
    }
  }

  it('the forward mix on each matmul kernel (the engine uses the tiled one on GPUs)', async () => {
    for (const c of [cases[0], cases[4]]) {
      const s = { ...c, scale: 0.75 };
      const jr = c.blocks * c.rank;
      const u = randomArray(c.tokens * jr, 71), B = randomArray(c.blocks * c.outDim * c.rank, 72);
      const mix = randomArray(mixBatch(s) * c.blocks, 73), y0 = randomArray(c.tokens * c.outDim, 74);
      for (const kernel of ['tiled', 'vec4'] as MatmulKernel[]) {
        const by = up(y0);
        await run((plan) => recordMixForward(plan, s, { u: up(u), B: up(B), mix: up(mix), y: by }, kernel));
        assertClose(await gpu.readF32(by), loraMixForward(u, B, mix, s, y0), TOL, `${kernel} J=${c.blocks} r=${c.rank}`);
      }
    }
  });

  it('backward without optional outputs is one dispatch; two calls accumulate into one dmix', async () => {
    const s = { tokens: 36, seq: 12, blocks: 3, rank: 4, outDim: 33, scale: 2 };
    const jr = s.blocks * s.rank;
    const batch = mixBatch(s);
    const u = randomArray(s.tokens * jr, 41), B = randomArray(s.blocks * s.outDim * s.rank, 42);
    const mix = randomArray(batch * s.blocks, 43), dy = randomArray(s.tokens * s.outDim, 44), dy2 = randomArray(s.tokens * s.outDim, 45);
    const dmix0 = randomArray(batch * s.blocks, 46);
    const bu = up(u), bB = up(B), bmix = up(mix), bdy = up(dy), bdy2 = up(dy2), bdu = zeros(s.tokens * jr), bdu2 = zeros(s.tokens * jr), bdmix = up(dmix0);
    const lone = await run((plan) => {
      // active >= 0 with duActive and uActive absent: nothing else is written.
      recordLoraMixBackward(gpu, plan, { ...s, active: 1 }, { u: bu, B: bB, mix: bmix, dy: bdy, du: bdu });
    });
    assert.equal(lone.dispatchCount, 1);
    await run((plan) => {
      recordLoraMixBackward(gpu, plan, { ...s, active: -1 }, { u: bu, B: bB, mix: bmix, dy: bdy, du: bdu2, dmix: bdmix });
      recordLoraMixBackward(gpu, plan, { ...s, active: 2 }, { u: bu, B: bB, mix: bmix, dy: bdy2, du: bdu2, dmix: bdmix });
    });
    const r1 = loraMixBackward(u, B, mix, dy, { ...s, active: 1 });
    const r2 = loraMixBackward(u, B, mix, dy2, { ...s, active: 2 });
    assertClose(await gpu.readF32(bdu), r1.du, TOL, 'du (no optional outputs)');
    assertClose(await gpu.readF32(bdu2), r2.du, TOL, 'du overwritten by the second call');
    assertClose(await gpu.readF32(bdmix), r1.dmix.map((v, i) => v + r2.dmix[i] + dmix0[i]), DMIX_TOL, 'dmix after two calls');
  });

  it('mix entries of zero still get their dmix gradient', async () => {
    const s = { tokens: 16, seq: 8, blocks: 2, rank: 3, outDim: 9, scale: 1 };
    const jr = s.blocks * s.rank;
    const u = randomArray(s.tokens * jr, 51), B = randomArray(s.blocks * s.outDim * s.rank, 52), dy = randomArray(s.tokens * s.outDim, 53);
    const mix = new Float32Array([1, 0, 0, 1]);
    const bdu = zeros(s.tokens * jr), bdmix = zeros(4);
    await run((plan) => recordLoraMixBackward(gpu, plan, { ...s, active: 0 }, { u: up(u), B: up(B), mix: up(mix), dy: up(dy), du: bdu, dmix: bdmix }));
    const r = loraMixBackward(u, B, mix, dy, { ...s, active: 0 });
    assertClose(await gpu.readF32(bdu), r.du, TOL, 'du');
    assertClose(await gpu.readF32(bdmix), r.dmix, DMIX_TOL, 'dmix');
  });

  it('more than 65535 workgroups use the 2-D grid (N = 65537 * 8 tokens)', async () => {
    // Backward: N / seq examples; dmix: N / seq * J workgroups (the forward is a matmul over N rows).
    const s = { tokens: 65537 * 8, seq: 8, blocks: 1, rank: 2, outDim: 3, scale: 0.5 };
    const jr = s.blocks * s.rank;
    const batch = mixBatch(s);
    const u = randomArray(s.tokens * jr, 61), B = randomArray(s.blocks * s.outDim * s.rank, 62);
    const mix = randomArray(batch * s.blocks, 63), dy = randomArray(s.tokens * s.outDim, 64);
    const by = zeros(s.tokens * s.outDim), bdu = zeros(s.tokens * jr), bdmix = zeros(batch * s.blocks);
    const bu = up(u), bB = up(B), bmix = up(mix);
    // The forward reads the same u and B as two blocks of rank 1, so the mixture matters.
    const mix2 = randomArray(batch * 2, 65), bmix2 = up(mix2);
    await run((plan) => {
      recordMixForward(plan, { ...s, blocks: 2, rank: 1 }, { u: bu, B: bB, mix: bmix2, y: by });
      recordLoraMixBackward(gpu, plan, { ...s, active: 0 }, { u: bu, B: bB, mix: bmix, dy: up(dy), du: bdu, dmix: bdmix });
    });
    const r = loraMixBackward(u, B, mix, dy, { ...s, active: 0 });
    assertClose(await gpu.readF32(by), loraMixForward(u, B, mix2, { ...s, blocks: 2, rank: 1 }), TOL, 'y');
    assertClose(await gpu.readF32(bdu), r.du, TOL, 'du');
    assertClose(await gpu.readF32(bdmix), r.dmix, DMIX_TOL, 'dmix');
  });

  it('rejects J * r above the supported maximum and out-of-range active blocks', () => {
    const plan = new Plan('reject');
    const b = gpu.dummy;
    assert.throws(() => recordLoraMixBackward(gpu, plan, { tokens: 4, seq: 4, blocks: 65, rank: 8, outDim: 4, scale: 1, active: 0 }, { u: b, B: b, mix: b, dy: b, du: b }),
      new RegExp(`blocks \\* rank = 65 \\* 8 = 520 exceeds ${LORA_MIX_MAX_COLUMNS}`));
    assert.throws(() => recordMatmul(gpu, plan, { a: b, b, c: b, M: 4, N: 4, K: 4, lora: { layout: 'out-major', u: b, l: b, rank: 2, blocks: 3, scale: 1 } }),
      /a LoRA update of 3 blocks needs a mixture/);
    assert.throws(() => recordLoraMixBackward(gpu, plan, { tokens: 4, seq: 4, blocks: 2, rank: 8, outDim: 4, scale: 1, active: 2 },
      { u: b, B: b, mix: b, dy: b, du: b }), /active block 2/);
    assert.equal(plan.dispatchCount, 0);
  });
});

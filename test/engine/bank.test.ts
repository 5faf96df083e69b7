// Checks adapter banks on real WebGPU: block mixing, SAPT router gradients, the extra loss terms of a training step (ARM, EWC, O-LoRA, LwF), KV-cache decoding and the classification head.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/context.ts';
import { dirSource } from '../../src/io/node-files.ts';
import type { LoraConfig } from '../../src/model/peft.ts';
import { loadWeights, type HostTensor } from '../../src/model/weights.ts';
import { HEAD_KEY, ROUTER_KEYS, type Bank, type BankSpec } from '../../src/engine/bank.ts';
import { Session, type EngineBatch, type TrainHyper } from '../../src/engine/session.ts';
import { assertClose, assertRelError } from '../helpers/assert.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { randomArray, randomInts } from '../helpers/random.ts';

const MODEL = dirSource(join(import.meta.dirname, '..', 'fixtures', 'oracle', 'llama-gqa', 'model'));
// Attention and MLP sites of several widths; rank 2 puts blocks after the first at offsets that are not 256-byte aligned.
const LORA: LoraConfig = { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'down_proj'], useRslora: false, layers: null };
/** Adam's first step is p -= lr * g / (|g| + eps): with eps this large it is smooth in g and checkable on the CPU. */
const SMOOTH_ADAM: TrainHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-2, weightDecay: 0, maxGradNorm: 0 };
const SEQ = 8;
const PROMPT = 4;

let gpu: Gpu;
let session: Session;
let vocab: number;

before(async () => {
  gpu = await testGpu();
  session = await Session.open(gpu, MODEL, { baseOnly: true, seed: 3 });
  vocab = session.config.vocabSize;
});
after(async () => {
  session?.destroy();
  await releaseTestGpu();
});

/** Two sequences: a prompt of PROMPT tokens (masked in the labels, marked in promptMask), then the answer. */
function makeBatch(seed: number, extra: Partial<EngineBatch> = {}): EngineBatch {
  const ids = randomInts(2 * SEQ, vocab, seed);
  const labels = Int32Array.from(ids, (id, i) => (i % SEQ < PROMPT ? -100 : id));
  const promptMask = Uint8Array.from(ids, (_, i) => (i % SEQ < PROMPT ? 1 : 0));
  return { ids, labels, batchSize: 2, seqLen: SEQ, promptMask, ...extra };
}

async function newBank(spec: Partial<BankSpec>, seed: number, scale = 0.3): Promise<Bank> {
  const bank = await session.createBank({ lora: LORA, blocks: 1, router: null, head: null, ...spec });
  await randomizeLora(bank, seed, scale);
  return bank;
}

/** Every LoRA A and B entry (all blocks) uniform in ±scale; router and head keep their init. */
async function randomizeLora(bank: Bank, seed: number, scale: number): Promise<void> {
  const all = await bank.params.download();
  let s = seed;
  for (const [key, t] of all) if (key.includes('.lora_')) t.data.set(randomArray(t.data.length, s++, scale));
  bank.params.upload(all);
}

/** Element range [start, end) of block j inside the stacked tensor `key`. */
function blockRange(bank: Bank, key: string, j: number): [number, number] {
  const per = bank.params.slot(key).count / bank.blocks;
  return [j * per, (j + 1) * per];
}

/** The k indices in [start, end) with the largest |g|. */
function topIndices(g: Float32Array, k: number, start = 0, end = g.length): number[] {
  const idx = Array.from({ length: end - start }, (_, i) => start + i);
  idx.sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
  return idx.slice(0, k);
}

/**
 * Central differences of session.loss in tensor `key` at `indices` (step h, f32 on the GPU) against the
 * analytic gradient: |fd - g| <= rtol |g| + atol.
 */
async function checkFiniteDifferences(bank: Bank, batch: EngineBatch, grads: Map<string, HostTensor>, key: string,
  indices: number[], tol: { h: number; rtol: number; atol: number }): Promise<void> {
  const params = await bank.params.download();
  const data = params.get(key)!.data;
  const fd: number[] = [];
  const an: number[] = [];
  for (const i of indices) {
    const v = data[i];
    data[i] = v + tol.h;
    bank.params.upload(params);
    const up = await session.loss(batch);
    data[i] = v - tol.h;
    bank.params.upload(params);
    const down = await session.loss(batch);
    data[i] = v;
    fd.push((up - down) / (2 * tol.h));
    an.push(grads.get(key)!.data[i]);
  }
  bank.params.upload(params);
  assert.ok(an.some((g) => Math.abs(g) > 10 * tol.atol), `${key}: gradients too small to check (${an.join(', ')})`);
  assertClose(an, fd, { rtol: tol.rtol, atol: tol.atol }, `d loss / d ${key}[${indices.join(',')}]`);
}

/** Parameters after one Adam step from p0 with gradient g on the trainable elements (step 1, no weight decay). */
function adamFirstStep(p0: Float32Array, g: Float32Array, trainable: (i: number) => boolean, t: TrainHyper): Float32Array {
  return Float32Array.from(p0, (p, i) => (trainable(i) ? p - (t.lr * g[i]) / (Math.abs(g[i]) + t.eps) : p));
}

/** Flat-buffer element ranges of block j in every LoRA tensor. */
function blockFlatRanges(bank: Bank, j: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [key, slot] of bank.params.slots) {
    if (!key.includes('.lora_')) continue;
    const [a, b] = blockRange(bank, key, j);
    out.push([slot.offset + a, slot.offset + b]);
  }
  return out;
}

function inRanges(ranges: [number, number][]): (i: number) => boolean {
  return (i) => ranges.some(([a, b]) => i >= a && i < b);
}

function assertBitEqual(actual: Float32Array, expected: Float32Array, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]} bit for bit`);
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs `step` from the same parameters and fresh optimizer state, and returns the parameters after it. */
async function stepFrom(bank: Bank, p0: Map<string, HostTensor>, step: () => Promise<number>): Promise<{ loss: number; params: Float32Array }> {
  bank.params.upload(p0);
  session.resetOptimizer();
  const loss = await step();
  return { loss, params: await bank.params.readFlat() };
}

describe('adapter bank on WebGPU', () => {
  it('multi-block mixtures match single-block and merged adapters; finite differences of the active block; frozen blocks stay put', async () => {
    // Tolerances: logits relative error (max |diff| / max |ref|) 1e-4; gradients vs central differences
    // (h = 1e-2) rtol 2e-2 with atol 2e-4.
    const bank3 = await newBank({ blocks: 3 }, 10);
    const banks: Bank[] = [bank3];
    try {
      const batch = makeBatch(1);
      const oneHot = (j: number) => Float32Array.from({ length: 6 }, (_, i) => (i % 3 === j ? 1 : 0));
      const single = await newBank({ blocks: 1 }, 99);
      banks.push(single);
      for (let j = 0; j < 3; j++) {
        session.useBank(bank3);
        const mixed = await session.forward({ ...batch, mix: oneHot(j) });
        await single.setBlockTensors(0, await bank3.blockTensors(j));
        session.useBank(single);
        const ref = await session.forward(batch);
        for (let b = 0; b < 2; b++) assertRelError(mixed[b], ref[b], 1e-4, `one-hot block ${j}, row ${b}`);
      }

      // All ones: the sum of the blocks, i.e. the merged rank-3r adapter.
      const merged = await bank3.mergedTensors();
      assert.equal(merged.config.rank, 3 * LORA.rank);
      const mergedBank = await session.createBank({ lora: merged.config, blocks: 1, router: null, head: null });
      banks.push(mergedBank);
      mergedBank.params.upload(merged.tensors);
      session.useBank(mergedBank);
      const mergedLogits = await session.forward(batch);
      session.useBank(bank3);
      const allOnes = await session.forward({ ...batch, mix: new Float32Array(6).fill(1) });
      for (let b = 0; b < 2; b++) assertRelError(allOnes[b], mergedLogits[b], 1e-4, `all-ones mixture, row ${b}`);

      // All zeros: the base model alone, exactly (the oracle answers a task it has no block for yet this way).
      const allZeros = await session.forward({ ...batch, mix: new Float32Array(6) });
      session.useBank(null);
      const baseLogits = await session.forward(batch);
      session.useBank(bank3);
      for (let b = 0; b < 2; b++) assert.deepEqual(allZeros[b], baseLogits[b], `all-zeros mixture = base model, row ${b}`);

      // A fractional mixture per row: the merged adapter with block j's B columns scaled by w_j.
      const w = [[0.2, 0.5, 0.3], [0.6, 0.1, 0.9]];
      const mix = Float32Array.from(w.flat());
      const fractional = await session.forward({ ...batch, mix });
      for (let b = 0; b < 2; b++) {
        const scaled = new Map<string, HostTensor>();
        for (const [key, t] of merged.tensors) {
          const data = t.data.slice();
          if (key.includes('lora_B')) {
            const cols = t.shape[1];
            for (let i = 0; i < data.length; i++) data[i] *= w[b][Math.floor((i % cols) / LORA.rank)];
          }
          scaled.set(key, { shape: t.shape, data });
        }
        mergedBank.params.upload(scaled);
        session.useBank(mergedBank);
        const ref = await session.forward(batch);
        assertRelError(fractional[b], ref[b], 1e-4, `mixture ${w[b]} (row ${b})`);
      }

      // Gradients of the active block under the fractional mixture, against finite differences.
      session.useBank(bank3);
      const mb = { ...batch, mix };
      const fdTol = { h: 1e-2, rtol: 2e-2, atol: 2e-4 };
      for (const active of [1, 2]) {
        // Switching the active block on the same bank must move the gradients with it.
        bank3.setTrainable({ block: active, router: false, head: false });
        const { grads } = await session.gradients(mb);
        for (const key of bank3.params.slots.keys()) {
          const g = grads.get(key)!.data;
          for (let j = 0; j < 3; j++) {
            const [a, b] = blockRange(bank3, key, j);
            const norm = maxAbsDiff(g.subarray(a, b), new Float32Array(b - a));
            if (j === active) assert.ok(norm > 0, `${key}: active block ${j} has a zero gradient`);
            else assert.equal(norm, 0, `${key}: frozen block ${j} has a gradient while block ${active} is active`);
          }
        }
        const aKey = bank3.sites.find((s) => s.layer === 0 && s.proj === 'q_proj')!.aKey;
        const bKey = bank3.sites.find((s) => s.layer === 1 && s.proj === 'down_proj')!.bKey;
        for (const key of active === 1 ? [aKey, bKey] : [bank3.sites[1].bKey]) {
          const [a, b] = blockRange(bank3, key, active);
          await checkFiniteDifferences(bank3, mb, grads, key, topIndices(grads.get(key)!.data, 2, a, b), fdTol);
        }
      }

      // Training block 2 leaves blocks 0 and 1 bit-for-bit unchanged.
      session.train = { ...SMOOTH_ADAM, lr: 1e-3, maxGradNorm: 1 };
      session.resetOptimizer();
      const before = await bank3.params.readFlat();
      for (let s = 0; s < 3; s++) await session.trainStep(mb);
      const afterSteps = await bank3.params.readFlat();
      for (const j of [0, 1]) for (const [a, b] of blockFlatRanges(bank3, j)) assertBitEqual(afterSteps.subarray(a, b), before.subarray(a, b), `frozen block ${j}`);
      let moved = 0;
      for (const [a, b] of blockFlatRanges(bank3, 2)) moved = Math.max(moved, maxAbsDiff(afterSteps.subarray(a, b), before.subarray(a, b)));
      assert.ok(moved > 1e-4, `active block 2 moved by only ${moved}`);
    } finally {
      for (const b of banks) session.releaseBank(b);
    }
  });

  it('SAPT router gradients through the whole model match finite differences; routing is a softmax over the (mean-pooled) prompt', async () => {
    // Tolerances: central differences (h = 1e-2) rtol 2e-2 with atol 2e-4; routing rows sum to 1 within 1e-6.
    const bank = await newBank({ blocks: 3, router: { bottleneck: 5, pool: 'mean' } }, 20, 0.4);
    try {
      session.useBank(bank);
      bank.setTrainable({ block: 2, router: true, head: false });
      const batch = makeBatch(2);
      const { grads } = await session.gradients(batch);
      const H = session.config.hiddenSize;
      const tol = { h: 1e-2, rtol: 2e-2, atol: 2e-4 };
      for (const key of [ROUTER_KEYS.down, ROUTER_KEYS.up, ROUTER_KEYS.normWeight, ROUTER_KEYS.normBias]) {
        await checkFiniteDifferences(bank, batch, grads, key, topIndices(grads.get(key)!.data, 2), tol);
      }
      await checkFiniteDifferences(bank, batch, grads, ROUTER_KEYS.keys, topIndices(grads.get(ROUTER_KEYS.keys)!.data, 2, 2 * H, 3 * H), tol);
      // The active block's LoRA under the routed mixture.
      const bKey = bank.sites[bank.sites.length - 1].bKey;
      const [a, b] = blockRange(bank, bKey, 2);
      await checkFiniteDifferences(bank, batch, grads, bKey, topIndices(grads.get(bKey)!.data, 1, a, b), tol);

      const w = await session.routing(batch);
      assert.equal(w.length, 2 * 3);
      for (let r = 0; r < 2; r++) assertClose([w[3 * r] + w[3 * r + 1] + w[3 * r + 2]], [1], { rtol: 0, atol: 1e-6 }, `routing row ${r} sum`);
      // Answer tokens do not route; prompt tokens do.
      const answerChanged = { ...batch, ids: batch.ids.map((id, i) => (i % SEQ < PROMPT ? id : (id + 7) % vocab)) };
      assertClose(await session.routing(answerChanged), w, { rtol: 0, atol: 1e-7 }, 'routing with other answer tokens');
      const promptChanged = { ...batch, ids: batch.ids.map((id, i) => (i % SEQ < PROMPT ? (id + 13) % vocab : id)) };
      const w2 = await session.routing(promptChanged);
      for (let r = 0; r < 2; r++) {
        assert.ok(maxAbsDiff(w2.subarray(3 * r, 3 * r + 3), w.subarray(3 * r, 3 * r + 3)) > 1e-4, `routing row ${r} ignores its prompt`);
      }
    } finally {
      session.releaseBank(bank);
    }
  });

  it('ARM moves only the router and the active key; frozen blocks and keys stay bit-for-bit', async () => {
    // Exact comparisons (clipping off, so the ARM term cannot rescale the LoRA update).
    const bank = await newBank({ blocks: 3, router: { bottleneck: 5, pool: 'max' } }, 30, 0.4);
    try {
      session.useBank(bank);
      bank.setTrainable({ block: 2, router: true, head: false });
      session.train = { ...SMOOTH_ADAM };
      const batch = makeBatch(3);
      const replay = makeBatch(4);
      const arm = {
        batch: { ids: replay.ids, promptMask: replay.promptMask!, batchSize: 2, seqLen: SEQ },
        targets: Float32Array.from([0.7, 0.3, 0, 0.2, 0.8, 0]),
        klScale: 1,
      };
      const p0 = await bank.params.download();
      const flat0 = await bank.params.readFlat();
      const withArm = await stepFrom(bank, p0, () => session.trainStep(batch, { arm }));
      const without = await stepFrom(bank, p0, () => session.trainStep(batch));
      assert.equal(withArm.loss, without.loss, 'ARM does not change the reported LM loss');
      const H = session.config.hiddenSize;
      for (const [key, slot] of bank.params.slots) {
        const at = (p: Float32Array, a = 0, b = slot.count) => p.subarray(slot.offset + a, slot.offset + b);
        if (key.includes('.lora_')) {
          for (const j of [0, 1]) {
            const [a, b] = blockRange(bank, key, j);
            assertBitEqual(at(withArm.params, a, b), at(flat0, a, b), `${key} frozen block ${j}`);
          }
          assertBitEqual(at(withArm.params), at(without.params), `${key} with vs without ARM`);
        } else if (key === ROUTER_KEYS.keys) {
          assertBitEqual(at(withArm.params, 0, 2 * H), at(flat0, 0, 2 * H), 'keys of frozen blocks');
          assert.ok(maxAbsDiff(at(withArm.params, 2 * H, 3 * H), at(without.params, 2 * H, 3 * H)) > 1e-6, 'ARM does not move the active key');
        } else {
          assert.ok(maxAbsDiff(at(withArm.params), at(without.params)) > 1e-6, `ARM does not move ${key}`);
        }
      }
    } finally {
      session.releaseBank(bank);
    }
  });

  it('a separate router learning rate scales only the projector step (SAPT routerLr)', async () => {
    // The first Adam step is linear in the rate: the projector's two linears move 3x as far (atol 1e-6);
    // the norm, the active key and the block move exactly as at scale 1.
    const bank = await newBank({ blocks: 2, router: { bottleneck: 5, pool: 'max' } }, 35, 0.4);
    try {
      session.useBank(bank);
      session.train = { ...SMOOTH_ADAM };
      const batch = makeBatch(3);
      const p0 = await bank.params.download();
      const flat0 = await bank.params.readFlat();
      bank.setTrainable({ block: 1, router: true, head: false });
      const base = await stepFrom(bank, p0, () => session.trainStep(batch));
      bank.setTrainable({ block: 1, router: true, head: false, routerLrScale: 3 });
      const fast = await stepFrom(bank, p0, () => session.trainStep(batch));
      for (const [key, slot] of bank.params.slots) {
        const delta = (p: Float32Array) => Float64Array.from(p.subarray(slot.offset, slot.offset + slot.count), (v, i) => v - flat0[slot.offset + i]);
        const scaled = key === ROUTER_KEYS.down || key === ROUTER_KEYS.up;
        const expected = delta(base.params).map((d) => (scaled ? 3 * d : d));
        assertClose(delta(fast.params), expected, { rtol: 0, atol: 1e-6 }, `${key} step`);
        if (scaled) assert.ok(maxAbsDiff(fast.params.subarray(slot.offset, slot.offset + slot.count), base.params.subarray(slot.offset, slot.offset + slot.count)) > 1e-4, `${key} moved further`);
      }
    } finally {
      session.releaseBank(bank);
    }
  });

  it('EWC, O-LoRA (orthogonality and L2) and LwF terms change the Adam step exactly as their gradients say', async () => {
    // Parameters are compared with the CPU's first Adam step (eps = 1e-2, so the step is smooth in
    // the gradient) within atol 1e-6 (EWC, O-LoRA); LwF with teacher == student within 1e-6.
    const bank = await newBank({ blocks: 2 }, 40);
    const teachers: Bank[] = [];
    const buffers: GPUBuffer[] = [];
    try {
      session.useBank(bank);
      bank.setTrainable({ block: 1, router: false, head: false });
      session.train = { ...SMOOTH_ADAM };
      const t = session.train;
      const batch = makeBatch(5, { mix: new Float32Array(4).fill(1) });
      const p0 = await bank.params.download();
      const flat0 = await bank.params.readFlat();
      const n = bank.params.totalFloats;
      const { grads: g } = await session.flatGradients(batch);
      const trainable = inRanges(blockFlatRanges(bank, 1));
      const plain = await stepFrom(bank, p0, () => session.trainStep(batch));
      assertClose(plain.params, adamFirstStep(flat0, g, trainable, t), { rtol: 0, atol: 1e-6 }, 'plain Adam step');

      // EWC at its anchor adds nothing; a shifted anchor adds lambda F (theta - anchor).
      const fisher = Float32Array.from(randomArray(n, 41), (v) => Math.abs(v));
      const fisherBuf = gpu.upload('test.fisher', fisher);
      const anchorBuf = gpu.upload('test.anchor', flat0);
      const shift = randomArray(n, 42, 0.05);
      const shiftedBuf = gpu.upload('test.anchor2', Float32Array.from(flat0, (v, i) => v + shift[i]));
      buffers.push(fisherBuf, anchorBuf, shiftedBuf);
      const lambda = 0.5;
      const atAnchor = await stepFrom(bank, p0, () => session.trainStep(batch, { ewc: { lambda, anchor: anchorBuf, fisher: fisherBuf } }));
      assertBitEqual(atAnchor.params, plain.params, 'EWC at its anchor');
      const shifted = await stepFrom(bank, p0, () => session.trainStep(batch, { ewc: { lambda, anchor: shiftedBuf, fisher: fisherBuf } }));
      const gEwc = Float32Array.from(g, (v, i) => v - lambda * fisher[i] * shift[i]);
      assertClose(shifted.params, adamFirstStep(flat0, gEwc, trainable, t), { rtol: 0, atol: 1e-6 }, 'EWC with a shifted anchor');
      assert.ok(maxAbsDiff(shifted.params, plain.params) > 1e-4, 'a shifted EWC anchor changes nothing');

      // O-LoRA: grads(A_1) += lambda sign(A_0 A_1ᵀ)ᵀ A_0 at every site; nothing else changes.
      const olambda = 0.3;
      const ortho = await stepFrom(bank, p0, () => session.trainStep(batch, { orthoLambda: olambda }));
      const gOrtho = g.slice();
      const r = LORA.rank;
      for (const s of bank.sites) {
        const off = bank.params.slot(s.aKey).offset;
        const A0 = flat0.subarray(off, off + r * s.in);
        const A1 = flat0.subarray(off + r * s.in, off + 2 * r * s.in);
        for (let i = 0; i < r; i++) {
          for (let k = 0; k < r; k++) {
            let m = 0;
            for (let c = 0; c < s.in; c++) m += A0[k * s.in + c] * A1[i * s.in + c];
            const sign = Math.sign(m);
            for (let c = 0; c < s.in; c++) gOrtho[off + r * s.in + i * s.in + c] += olambda * sign * A0[k * s.in + c];
          }
        }
      }
      assertClose(ortho.params, adamFirstStep(flat0, gOrtho, trainable, t), { rtol: 0, atol: 1e-6 }, 'O-LoRA step');
      for (const [key, slot] of bank.params.slots) {
        const p = (x: Float32Array) => x.subarray(slot.offset, slot.offset + slot.count);
        if (key.includes('lora_B')) assertBitEqual(p(ortho.params), p(plain.params), `${key} with vs without O-LoRA`);
        else {
          const [a, b] = blockRange(bank, key, 0);
          assertBitEqual(p(ortho.params).subarray(a, b), p(flat0).subarray(a, b), `${key} frozen block 0 under O-LoRA`);
          assert.ok(maxAbsDiff(p(ortho.params), p(plain.params)) > 1e-5, `O-LoRA does not move ${key}`);
        }
      }

      // O-LoRA's L2 term: grads += lambda2 θ/||θ||₂ for each of the active block's tensors (A and B of every site).
      const l2 = 0.2;
      const withL2 = await stepFrom(bank, p0, () => session.trainStep(batch, { l2Lambda: l2 }));
      const gL2 = g.slice();
      for (const s of bank.sites) {
        for (const key of [s.aKey, s.bKey]) {
          const [a, b] = blockRange(bank, key, 1);
          const off = bank.params.slot(key).offset;
          let ss = 0;
          for (let i = off + a; i < off + b; i++) ss += flat0[i] ** 2;
          for (let i = off + a; i < off + b; i++) gL2[i] += (l2 * flat0[i]) / Math.sqrt(ss);
        }
      }
      assertClose(withL2.params, adamFirstStep(flat0, gL2, trainable, t), { rtol: 0, atol: 1e-6 }, 'O-LoRA L2 step');
      assert.ok(maxAbsDiff(withL2.params, plain.params) > 1e-5, 'the L2 term changes nothing');

      // LwF: a teacher equal to the student adds a zero gradient; the reported loss is the CE alone.
      bank.params.upload(p0);
      const same = await bank.clone(gpu);
      teachers.push(same);
      const distilled = await stepFrom(bank, p0, () => session.trainStep(batch, { distill: { teacher: same, temperature: 2, weight: 1 } }));
      assertRelError([distilled.loss], [plain.loss], 1e-6, 'loss with a distillation term');
      assertClose(distilled.params, plain.params, { rtol: 0, atol: 1e-6 }, 'LwF with teacher == student');
      const other = await newBank({ blocks: 2 }, 43);
      teachers.push(other);
      const pulled = await stepFrom(bank, p0, () => session.trainStep(batch, { distill: { teacher: other, temperature: 2, weight: 1 } }));
      assertRelError([pulled.loss], [plain.loss], 1e-6, 'loss with another teacher');
      assert.ok(maxAbsDiff(pulled.params, plain.params) > 1e-5, 'a different teacher does not change the step');
    } finally {
      for (const b of teachers) session.releaseBank(b);
      for (const b of buffers) gpu.destroyBuffer(b);
      session.releaseBank(bank);
    }
  });

  it('KV-cache decoding equals greedy decoding by repeated full forward passes', async () => {
    // Exact token equality.
    const prompts = [3, 5, 9].map((n, i) => Array.from(randomInts(n, vocab, 60 + i)));
    const T = 16;
    const maxNew = 6;
    const reference = async (mix?: Float32Array[]) => {
      const seqs = prompts.map((p) => p.slice());
      const promptMask = new Uint8Array(prompts.length * T);
      prompts.forEach((p, b) => promptMask.fill(1, b * T, b * T + p.length));
      for (let s = 0; s < maxNew; s++) {
        const ids = new Int32Array(prompts.length * T);
        seqs.forEach((q, b) => ids.set(q, b * T));
        const logits = await session.forward({ ids, batchSize: prompts.length, seqLen: T, promptMask, ...(mix ? { mix: Float32Array.from(mix.flatMap((m) => [...m])) } : {}) });
        seqs.forEach((q, b) => {
          const row = logits[b].subarray((q.length - 1) * vocab, q.length * vocab);
          let best = 0;
          for (let v = 1; v < vocab; v++) if (row[v] > row[best]) best = v;
          q.push(best);
        });
      }
      return seqs.map((q, b) => q.slice(prompts[b].length));
    };
    const cases: { name: string; spec: Partial<BankSpec>; mix?: Float32Array[] }[] = [
      { name: 'one block', spec: { blocks: 1 } },
      { name: 'SAPT router', spec: { blocks: 2, router: { bottleneck: 5, pool: 'mean' } } },
      { name: 'explicit mixtures', spec: { blocks: 2 }, mix: [[1, 0], [0.3, 0.7], [0.5, 1.2]].map((m) => Float32Array.from(m)) },
    ];
    for (const [i, c] of cases.entries()) {
      const bank = await newBank(c.spec, 70 + i, 0.4);
      try {
        session.useBank(bank);
        const expected = await reference(c.mix);
        const got = await session.generate(prompts, { maxNewTokens: maxNew, stopIds: [], mix: c.mix });
        assert.deepEqual(got, expected, `${c.name}: KV-cache decoding`);
        if (c.mix) {
          // Chunks of 2 and 1 prompts: mixtures follow their prompts into the right chunk and row.
          const chunked = await session.generate(prompts, { maxNewTokens: maxNew, stopIds: [], mix: c.mix, batchSize: 2 });
          assert.deepEqual(chunked, expected, `${c.name}: KV-cache decoding in batches of 2`);
        }
      } finally {
        session.releaseBank(bank);
      }
    }
  });

  it('a classification head gives per-position class logits, correct head gradients, and rejects out-of-range labels', async () => {
    // Tolerances: head logits vs LM-head columns relative error 1e-4; central differences (h = 1e-2) rtol 2e-2, atol 2e-4.
    const bank = await newBank({ blocks: 1, head: { classes: 3 } }, 80, 0.3);
    const lm = await newBank({ blocks: 1 }, 81);
    try {
      await lm.setBlockTensors(0, await bank.blockTensors(0));
      const batch = makeBatch(8);
      // With the head set to three rows of the LM head, its logits are those columns of the LM logits.
      const cols = [5, 17, 42];
      const lmHead = (await loadWeights(MODEL, session.config)).get('lm_head.weight')!;
      const H = session.config.hiddenSize;
      const params = await bank.params.download();
      const headData = params.get(HEAD_KEY)!.data;
      cols.forEach((c, k) => headData.set(lmHead.data.subarray(c * H, (c + 1) * H), k * H));
      bank.params.upload(params);
      session.useBank(bank);
      await assert.rejects(session.generate([[1, 2, 3]], { maxNewTokens: 2, stopIds: [] }), /active adapter has a classification head of 3 classes/);
      const logits = await session.forward(batch);
      assert.equal(logits.length, 2);
      for (const l of logits) assert.equal(l.length, SEQ * 3);
      session.useBank(lm);
      const full = await session.forward(batch);
      for (let b = 0; b < 2; b++) {
        const picked = Float32Array.from({ length: SEQ * 3 }, (_, i) => full[b][Math.floor(i / 3) * vocab + cols[i % 3]]);
        assertRelError(logits[b], picked, 1e-4, `head logits row ${b}`);
      }

      await randomizeLora(bank, 82, 0.3);
      bank.params.upload(new Map([...(await bank.params.download())].map(([k, v]) => [k, k === HEAD_KEY ? { ...v, data: randomArray(v.data.length, 83, 0.5) } : v])));
      session.useBank(bank);
      bank.setTrainable({ block: 0, router: false, head: true });
      const labels = Int32Array.from({ length: 2 * SEQ }, (_, i) => (i % SEQ < PROMPT ? -100 : (i * 7) % 3));
      const cls = { ...batch, labels };
      const { grads } = await session.gradients(cls);
      const tol = { h: 1e-2, rtol: 2e-2, atol: 2e-4 };
      await checkFiniteDifferences(bank, cls, grads, HEAD_KEY, topIndices(grads.get(HEAD_KEY)!.data, 3), tol);
      const aKey = bank.sites[0].aKey;
      await checkFiniteDifferences(bank, cls, grads, aKey, topIndices(grads.get(aKey)!.data, 1), tol);

      const bad = { ...cls, labels: labels.map((v, i) => (i === SEQ + PROMPT ? 3 : v)) };
      await assert.rejects(session.loss(bad), /label 3 at position \d+ is neither -100 nor a class below 3/);
      await assert.rejects(session.gradients(bad), /a class below 3/);
    } finally {
      session.releaseBank(lm);
      session.releaseBank(bank);
    }
  });
});

// Layer recomputation and the chunked loss against the plain plan on real WebGPU: the same losses, gradients (with
// LoRA dropout active, so recomputed layers must draw the forward's masks) and ten AdamW step losses, on the oracle
// fixtures (chunks that need staging copies), the demo model (chunks bound in place), SAPT routing, a multi-block bank
// with explicit mixtures and a classification head; and the GPU memory each option saves.
// Tolerances: losses relative 1e-6 (the chunks sum their means in another order); gradients relative error
// (max |diff| / max |ref| per tensor) 1e-6; step losses relative 1e-5.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/context.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { PROJ_NAMES, type LoraConfig } from '../../src/model/peft.ts';
import type { HostTensor } from '../../src/model/weights.ts';
import { estimateTrainingMemory, type MemoryPolicy, type MemorySavings } from '../../src/model/memory-estimate.ts';
import { StepParams } from '../../src/gpu/step-params.ts';
import { packSequences } from '../../src/engine/batch.ts';
import type { Bank, BankSpec, TrainSelection } from '../../src/engine/bank.ts';
import { buildModelPlan } from '../../src/engine/graph.ts';
import { uploadCheckpoint } from '../../src/engine/gpu-weights.ts';
import { Session, type EngineBatch } from '../../src/engine/session.ts';
import { assertRelError, relError } from '../helpers/assert.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { randomArray, randomInts } from '../helpers/random.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'oracle');
const DEMO = join(import.meta.dirname, '..', '..', 'public', 'models', 'demo');
const LORA: LoraConfig = { rank: 2, alpha: 4, dropout: 0.1, targets: [...PROJ_NAMES], useRslora: false, layers: null };
const PLAIN: Partial<MemoryPolicy> = { recompute: false, lossChunkRows: 0 };
const STEPS = 10;

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
});
after(releaseTestGpu);

interface Outcome {
  loss: number;
  /** Grad mode (no dropout). */
  grads: Map<string, HostTensor>;
  /** One training step's loss and gradients (dropout active). */
  trainLoss: number;
  trainGrads: Map<string, HostTensor>;
  stepLosses: number[];
}

/** Every LoRA A and B entry (all blocks) uniform in ±scale, so that every gradient is non-zero. */
async function randomizeLora(bank: Bank, seed: number, scale: number): Promise<void> {
  const all = await bank.params.download();
  let s = seed;
  for (const [key, t] of all) if (key.includes('.lora_')) t.data.set(randomArray(t.data.length, s++, scale));
  bank.params.upload(all);
}

/** Loss, gradients, one training step's gradients and ten step losses under `memory`, each from the parameters p0. */
async function outcome(session: Session, bank: Bank, p0: Map<string, HostTensor>, batch: EngineBatch, memory: Partial<MemoryPolicy>, steps = STEPS): Promise<Outcome> {
  session.memory = { ...session.memory, ...memory };
  bank.params.upload(p0);
  session.resetOptimizer();
  const loss = await session.loss(batch);
  const { grads } = await session.gradients(batch);
  const trainLoss = await session.trainStep(batch);
  const trainGrads = await bank.params.download('grads');
  bank.params.upload(p0);
  session.resetOptimizer();
  const stepLosses: number[] = [];
  for (let i = 0; i < steps; i++) stepLosses.push(await session.trainStep(batch));
  return { loss, grads, trainLoss, trainGrads, stepLosses };
}

function assertSameOutcome(got: Outcome, ref: Outcome, label: string): void {
  assertRelError([got.loss], [ref.loss], 1e-6, `${label}: loss`);
  assertRelError([got.trainLoss], [ref.trainLoss], 1e-6, `${label}: training step loss`);
  assert.deepEqual([...got.grads.keys()].sort(), [...ref.grads.keys()].sort(), `${label}: gradient keys`);
  for (const [key, g] of ref.grads) assertRelError(got.grads.get(key)!.data, g.data, 1e-6, `${label}: grad ${key}`);
  for (const [key, g] of ref.trainGrads) assertRelError(got.trainGrads.get(key)!.data, g.data, 1e-6, `${label}: training grad ${key}`);
  assertRelError(got.stepLosses, ref.stepLosses, 1e-5, `${label}: step losses`);
}

/** The dropout masks must matter, or the comparison would not test that recomputation redraws them. */
function assertDropoutActive(o: Outcome, label: string): void {
  let moved = 0;
  for (const [key, g] of o.grads) moved = Math.max(moved, relError(o.trainGrads.get(key)!.data, g.data));
  assert.ok(moved > 1e-3, `${label}: training gradients equal the dropout-free ones (relative ${moved})`);
}

/** Opens `model` with a fresh random bank of `spec` (LoRA dropout 0.1 on every projection) trained with `sel`. */
async function openWithBank(model: string, spec: Partial<BankSpec>, sel: TrainSelection, seed: number) {
  const session = await Session.open(gpu, dirSource(model), { baseOnly: true, seed, train: { lr: 1e-2, maxGradNorm: 1 } });
  const bank = await session.createBank({ lora: LORA, blocks: 1, router: null, head: null, ...spec });
  await randomizeLora(bank, seed, 0.3);
  session.useBank(bank);
  bank.setTrainable(sel);
  return { session, bank, p0: await bank.params.download() };
}

describe('recomputation and the chunked loss leave training unchanged', () => {
  for (const name of ['llama-gqa', 'qwen2-mqa-tied', 'llama3-f16']) {
    it(`oracle ${name}: chunks of 4 of 14 rows (staged), recomputation, and both`, async () => {
      const expected = JSON.parse(readFileSync(join(FIXTURES, name, 'expected.json'), 'utf8')) as { ids: number[][]; labels: number[][] };
      const batch = packSequences(expected.ids, expected.labels);
      assert.equal(batch.batchSize * batch.seqLen % 4, 2, 'the chunk does not divide the rows');
      const { session, bank, p0 } = await openWithBank(join(FIXTURES, name, 'model'), {}, { block: 0, router: false, head: false }, 5);
      try {
        const ref = await outcome(session, bank, p0, batch, PLAIN);
        assertDropoutActive(ref, name);
        assertSameOutcome(await outcome(session, bank, p0, batch, { recompute: false, lossChunkRows: 4 }, 2), { ...ref, stepLosses: ref.stepLosses.slice(0, 2) }, `${name} chunked`);
        assertSameOutcome(await outcome(session, bank, p0, batch, { recompute: true, lossChunkRows: 0 }, 2), { ...ref, stepLosses: ref.stepLosses.slice(0, 2) }, `${name} recomputed`);
        assertSameOutcome(await outcome(session, bank, p0, batch, { recompute: true, lossChunkRows: 4 }), ref, `${name} both`);
      } finally {
        session.destroy();
      }
    });
  }

  it('demo model, 4 layers, 2 x 80 tokens: chunks of 64 rows bound in place (64 + 64 + 32) with recomputation', async () => {
    const { session, bank, p0 } = await openWithBank(DEMO, {}, { block: 0, router: false, head: false }, 6);
    try {
      const ids = randomInts(160, session.config.vocabSize, 7);
      const batch: EngineBatch = { ids, labels: Int32Array.from(ids, (id, i) => (i % 80 < 20 ? -100 : id)), batchSize: 2, seqLen: 80 };
      const ref = await outcome(session, bank, p0, batch, PLAIN, 3);
      assertDropoutActive(ref, 'demo');
      assertSameOutcome(await outcome(session, bank, p0, batch, { recompute: true, lossChunkRows: 64 }, 3), ref, 'demo both');
    } finally {
      session.destroy();
    }
  });

  describe('adapter banks (llama-gqa, 2 x 8 tokens, chunks of 5 rows)', () => {
    const SEQ = 8;
    const PROMPT = 4;
    const makeBatch = (vocab: number, extra: Partial<EngineBatch> = {}): EngineBatch => {
      const ids = randomInts(2 * SEQ, vocab, 11);
      return {
        ids, labels: Int32Array.from(ids, (id, i) => (i % SEQ < PROMPT ? -100 : id)), batchSize: 2, seqLen: SEQ,
        promptMask: Uint8Array.from(ids, (_, i) => (i % SEQ < PROMPT ? 1 : 0)), ...extra,
      };
    };
    const model = join(FIXTURES, 'llama-gqa', 'model');
    const cases: { name: string; spec: Partial<BankSpec>; sel: TrainSelection; extra?: Partial<EngineBatch>; classes?: number }[] = [
      { name: 'SAPT router over 3 blocks, training block 2 and the router', spec: { blocks: 3, router: { bottleneck: 5, pool: 'mean' } }, sel: { block: 2, router: true, head: false } },
      { name: 'explicit mixture of 2 blocks, training block 1', spec: { blocks: 2 }, sel: { block: 1, router: false, head: false }, extra: { mix: Float32Array.from([0.3, 0.7, 1, 0.5]) } },
      { name: 'classification head (the loss stays whole), training block 0 and the head', spec: { blocks: 1, head: { classes: 3 } }, sel: { block: 0, router: false, head: true }, classes: 3 },
    ];
    it('LwF distillation (the loss stays whole) with recomputation', async () => {
      const { session, bank, p0 } = await openWithBank(model, {}, { block: 0, router: false, head: false }, 30);
      const teacher = await session.createBank({ lora: LORA, blocks: 1, router: null, head: null });
      try {
        await randomizeLora(teacher, 31, 0.3);
        const batch = makeBatch(session.config.vocabSize);
        const distilled = async (memory: Partial<MemoryPolicy>) => {
          session.memory = { ...session.memory, ...memory };
          bank.params.upload(p0);
          session.resetOptimizer();
          const loss = await session.trainStep(batch, { distill: { teacher, temperature: 2, weight: 1 } });
          return { loss, grads: await bank.params.download('grads') };
        };
        const ref = await distilled(PLAIN);
        const got = await distilled({ recompute: true, lossChunkRows: 5 });
        assertRelError([got.loss], [ref.loss], 1e-6, 'LwF loss');
        for (const [key, g] of ref.grads) assertRelError(got.grads.get(key)!.data, g.data, 1e-6, `LwF grad ${key}`);
      } finally {
        session.releaseBank(teacher);
        session.destroy();
      }
    });

    for (const [i, c] of cases.entries()) {
      it(c.name, async () => {
        const { session, bank, p0 } = await openWithBank(model, c.spec, c.sel, 20 + i);
        try {
          let batch = makeBatch(session.config.vocabSize, c.extra);
          if (c.classes) batch = { ...batch, labels: batch.labels.map((v, n) => (v < 0 ? v : n % c.classes!)) };
          const ref = await outcome(session, bank, p0, batch, PLAIN, 3);
          assertDropoutActive(ref, c.name);
          assertSameOutcome(await outcome(session, bank, p0, batch, { recompute: true, lossChunkRows: 5 }, 3), ref, c.name);
        } finally {
          session.destroy();
        }
      });
    }
  });
});

describe('memory the options save', () => {
  it('the demo model at 4 x 64: session.gpuBytes drops by the layer activations and the logits each option removes', async () => {
    // Expected drops from the buffer shapes (to within 1% of the drop: the plans also differ in their dispatches' small
    // uniform buffers, and the chunked loss adds a few [chunk] buffers).
    const batch = 4, seq = 64, chunk = 64;
    const N = batch * seq;
    const sizes: Record<string, number> = {};
    let cfg: Session['config'] | null = null;
    for (const [label, memory] of [
      ['plain', PLAIN], ['recompute', { recompute: true, lossChunkRows: 0 }], ['chunked', { recompute: false, lossChunkRows: chunk }], ['both', { recompute: true, lossChunkRows: chunk }],
    ] as const) {
      const before = gpu.bytesAllocated;
      const { session, bank, p0 } = await openWithBank(DEMO, { lora: { ...LORA, rank: 8, targets: ['q_proj', 'v_proj'] } }, { block: 0, router: false, head: false }, 9);
      try {
        cfg = session.config;
        session.memory = { ...session.memory, ...memory };
        bank.params.upload(p0);
        const ids = randomInts(N, session.config.vocabSize, 3);
        await session.trainStep({ ids, labels: ids, batchSize: batch, seqLen: seq });
        sizes[label] = session.gpuBytes - before;
      } finally {
        session.destroy();
      }
    }
    const c = cfg!;
    const H = c.hiddenSize, I = c.intermediateSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
    // Per layer and token: h1, mid, h2 (o and down go into the residual in their matmul's epilogue); q, ctx; k, v;
    // gate, up, act; two rstd; lse per head; drop(x)·Aᵀ (rank 8) of q_proj and v_proj (dropout keeps no dropped-out
    // input: its mask is applied as the thin matmuls load x).
    const layerFloats = N * (3 * H + 2 * q + 2 * kv + 3 * I + 2 + c.numHeads + 2 * 8);
    const recomputeSaves = (c.numLayers - 1) * layerFloats * 4;
    const chunkSaves = (N - chunk) * c.vocabSize * 4 + (N - chunk) * 4;
    const near = (got: number, want: number, label: string) =>
      assert.ok(Math.abs(got - want) <= 0.01 * want, `${label}: saved ${got} bytes, expected ${want} within 1%`);
    near(sizes.plain - sizes.recompute, recomputeSaves, 'recomputation');
    near(sizes.plain - sizes.chunked, chunkSaves, 'chunked loss');
    near(sizes.plain - sizes.both, recomputeSaves + chunkSaves, 'both');
  });

  it('the training plan allocates what estimateTrainingMemory counts as activations (demo model, 4 x 64, each option)', async () => {
    // Within 1 KiB (buffers are rounded up to 16 bytes).
    const { session, bank } = await openWithBank(DEMO, { lora: { ...LORA, rank: 8, targets: ['q_proj', 'v_proj', 'down_proj'] } }, { block: 0, router: false, head: false }, 9);
    const weights = await uploadCheckpoint(gpu, dirSource(DEMO), session.config);
    const step = new StepParams(gpu);
    try {
      const cases: MemorySavings[] = [
        { recompute: false, lossChunkRows: 0 }, { recompute: true, lossChunkRows: 0 }, { recompute: false, lossChunkRows: 64 }, { recompute: true, lossChunkRows: 64 },
      ];
      for (const savings of cases) {
        const plan = buildModelPlan(gpu, { cfg: session.config, weights, bank, step }, 'train', 4, 64, savings);
        plan.destroy();
        assert.deepEqual(plan.savings, savings);
        const estimate = estimateTrainingMemory(session.config, {
          batchSize: 4, seqLen: 64, rank: 8, targets: ['q_proj', 'v_proj', 'down_proj'], blocks: 1, dropout: LORA.dropout, memory: savings,
        });
        assert.deepEqual(estimate.savings, savings);
        assert.ok(Math.abs(plan.bytes - estimate.activationBytes) <= 1024,
          `${JSON.stringify(savings)}: the plan allocates ${plan.bytes} bytes, the estimate counts ${estimate.activationBytes}`);
      }
    } finally {
      weights.destroy();
      step.buffer.destroy();
      session.destroy();
    }
  });
});

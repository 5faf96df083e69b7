// q/k/v and gate/up fused into one matmul each (weights stacked at load, gpu-weights.ts) against the same projections
// run apart (Session.open's fuseProjections: false), on real WebGPU: the same logits, loss, LoRA gradients (with and
// without LoRA dropout, whose per-site masks the fused input gradient must draw) and training-step loss, on fixtures
// with q/k norms and BF16 weights (qwen3), biases and one KV head (qwen2) and plain GQA (llama), with and without layer
// recomputation; and the dispatches the fusion saves.
// Tolerances: the fused input gradient sums dy_q Wq + dy_k Wk + dy_v Wv as one K-long sum instead of three, so results
// differ by f32 rounding only: logits and losses relative 1e-6, gradients relative error (max |diff| / max |ref| per
// tensor) 1e-5.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/context.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { PROJ_NAMES, type LoraConfig, type ProjName } from '../../src/model/peft.ts';
import type { HostTensor } from '../../src/model/weights.ts';
import { Session, type EngineBatch } from '../../src/engine/session.ts';
import { assertRelError, relError } from '../helpers/assert.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { randomArray, randomInts } from '../helpers/random.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'oracle');

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
});
after(releaseTestGpu);

interface Outcome {
  logits: Float32Array;
  loss: number;
  grads: Map<string, HostTensor>;
  trainLoss: number;
  trainGrads: Map<string, HostTensor>;
  dispatches: number;
}

async function outcome(model: string, fuse: boolean, targets: ProjName[], recompute: boolean): Promise<Outcome> {
  const lora: LoraConfig = { rank: 3, alpha: 6, dropout: 0.2, targets, useRslora: false, layers: null };
  const session = await Session.open(gpu, dirSource(join(FIXTURES, model, 'model')), {
    baseOnly: true, seed: 5, fuseProjections: fuse, memory: { recompute, lossChunkRows: 0 },
  });
  try {
    const bank = await session.createBank({ lora, blocks: 1, router: null, head: null });
    // Every A and B entry non-zero, so that every gradient and every LoRA term is.
    const p0 = await bank.params.download();
    let seed = 31;
    for (const [key, t] of p0) if (key.includes('.lora_')) t.data.set(randomArray(t.data.length, seed++, 0.3));
    bank.params.upload(p0);
    session.useBank(bank);
    bank.setTrainable({ block: 0, router: false, head: false });
    const [B, T] = [2, 7];
    const ids = randomInts(B * T, session.config.vocabSize, 9);
    const batch: EngineBatch = { ids, labels: ids, batchSize: B, seqLen: T };
    const rows = await session.forward(batch);
    const logits = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
    rows.reduce((at, r) => (logits.set(r, at), at + r.length), 0);
    const { loss, grads } = await session.gradients(batch);
    const trainLoss = await session.trainStep(batch);
    const trainGrads = await bank.params.download('grads');
    return { logits, loss, grads, trainLoss, trainGrads, dispatches: session.dispatchCount('train', B, T) };
  } finally {
    session.destroy();
  }
}

function assertSame(got: Outcome, want: Outcome, label: string): void {
  assertRelError(got.logits, want.logits, 1e-6, `${label}: logits`);
  assertRelError([got.loss], [want.loss], 1e-6, `${label}: loss`);
  assertRelError([got.trainLoss], [want.trainLoss], 1e-6, `${label}: training step loss`);
  assert.deepEqual([...got.grads.keys()].sort(), [...want.grads.keys()].sort());
  for (const [key, g] of want.grads) assert.ok(g.data.some((v) => v !== 0), `${label}: grad ${key} is not all zeros`);
  for (const [key, g] of want.grads) assertRelError(got.grads.get(key)!.data, g.data, 1e-5, `${label}: grad ${key}`);
  for (const [key, g] of want.trainGrads) if (key.includes('.lora_')) assertRelError(got.trainGrads.get(key)!.data, g.data, 1e-5, `${label}: training grad ${key}`);
  // Dropout must change the gradients, or the comparison would not test the fused gradient's per-site masks.
  let moved = 0;
  for (const [key, g] of want.grads) moved = Math.max(moved, relError(want.trainGrads.get(key)!.data, g.data));
  assert.ok(moved > 1e-3, `${label}: the training gradients equal the dropout-free ones (relative ${moved})`);
}

describe('fused q/k/v and gate/up projections', () => {
  // Two layers each. With all seven targets and no recomputation, a layer's forward loses two base matmuls and two
  // u = drop(x) · Aᵀ dispatches for q/k/v and one of each for gate/up; its backward one input-gradient matmul for
  // gate/up and two for q/k/v (none in the lowest layer, whose input needs no gradient): 9 L - 2 in all.
  // qwen2-mqa-tied's weights (BF16 k: 8 x 40, 640 bytes; gate: 72 x 40, 5760 bytes) cannot each be bound alone at a
  // 256-byte offset of a stacked buffer, so its projections stay apart: the fallback, with the same plan.
  const L = 2;
  for (const [model, fewer] of [['qwen3-qknorm', 9 * L - 2], ['llama-gqa', 9 * L - 2], ['qwen2-mqa-tied', 0]] as const) {
    it(`${model}: all seven targets, the same results in ${fewer} fewer dispatches`, async () => {
      const fused = await outcome(model, true, [...PROJ_NAMES], false);
      const apart = await outcome(model, false, [...PROJ_NAMES], false);
      assert.equal(apart.dispatches - fused.dispatches, fewer);
      assertSame(fused, apart, model);
    });
  }

  it('llama-gqa: q and v adapted (k not), gate only, with recomputation', async () => {
    const targets: ProjName[] = ['q_proj', 'v_proj', 'gate_proj'];
    const fused = await outcome('llama-gqa', true, targets, true);
    const apart = await outcome('llama-gqa', false, targets, true);
    assert.ok(fused.dispatches < apart.dispatches, `${fused.dispatches} dispatches fused, ${apart.dispatches} apart`);
    assertSame(fused, apart, 'llama-gqa q,v,gate');
  });
});

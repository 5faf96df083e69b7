// Parameter counts, the training-memory estimate and the memory policy (layer recomputation, the chunked loss), on
// SmolLM2-135M's published config; and the estimate against what a real Session allocates for a training step,
// recorded on the plan profiler's recording device under three devices' limits and policies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelConfig } from '../../src/model/config.ts';
import { PROJ_NAMES } from '../../src/model/peft.ts';
import { Session } from '../../src/engine/session.ts';
import { deviceMemoryOf } from '../../src/gpu/device-memory.ts';
import { deviceProfile } from '../../src/gpu/device-profiles.ts';
import { createRecordingGpu } from '../../src/gpu/recording-device.ts';
import { shapedModel } from '../../bench/model-shapes.ts';
import {
  autoLossChunkRows, countParams, DEFAULT_MEMORY_BUDGET_BYTES, deviceMemoryBudget, estimateTrainingMemory, LOSS_CHUNK_BYTES, loraParamsPerBlock,
  MAX_AUTO_BUDGET_BYTES, resolveMemorySavings, type DeviceMemory, type TrainingShape,
} from '../../src/model/memory-estimate.ts';

const smol = parseModelConfig({
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30,
  num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true,
  max_position_embeddings: 8192,
});

describe('memory estimate', () => {
  it('counts SmolLM2-135M at its published 134,515,008 parameters', () => {
    assert.equal(countParams(smol), 134_515_008);
  });

  it('counts LoRA parameters as r × (in + out) per target and layer', () => {
    // q: 576→576, v: 576→192 (3 kv heads of 64).
    assert.equal(loraParamsPerBlock(smol, 8, ['q_proj', 'v_proj']), 30 * 8 * (576 + 576 + 576 + 192));
  });

  const base: TrainingShape = { batchSize: 8, seqLen: 256, rank: 8, targets: ['q_proj', 'v_proj'], blocks: 1 };
  const plain = { recompute: false, lossChunkRows: 0 } as const;
  const tokens = 8 * 256;
  const H = 576, I = 1536, L = 30, V = 49152;
  // Floats per token of one layer's saved activations (q is 576 wide, k and v 192, 9 query heads; o and down join the
  // residual in their matmul's epilogue and are not kept) and the x·Aᵀ of its two sites.
  const layerFloats = 3 * H + 2 * 576 + 2 * 192 + 3 * I + 2 + 9 + 2 * 8;

  it('adds weights, LoRA state and activations, growing with batch, sequence and blocks', () => {
    const m = estimateTrainingMemory(smol, { ...base, memory: plain });
    assert.equal(m.weightsBytes, 134_515_008 * 4);
    assert.equal(m.loraBytes, loraParamsPerBlock(smol, 8, ['q_proj', 'v_proj']) * 20, 'parameters, gradients, two moments and the trainable mask');
    assert.equal(m.totalBytes, m.weightsBytes + m.loraBytes + m.activationBytes + m.scratchBytes);
    assert.ok(m.activationBytes > L * tokens * layerFloats * 4 + tokens * V * 4, 'at least every layer\'s activations and the logits');
    assert.ok(estimateTrainingMemory(smol, { ...base, batchSize: 16, memory: plain }).activationBytes > m.activationBytes);
    // The fused attention keeps no [T, T] probabilities: activations are linear in the tokens, but for RoPE's
    // [seq, 64] tables and the loss.
    const perStep = (256 * 64 + 1) * 4;
    assert.equal(estimateTrainingMemory(smol, { ...base, seqLen: 512, memory: plain }).activationBytes - perStep - 256 * 64 * 4, 2 * (m.activationBytes - perStep));
    assert.equal(estimateTrainingMemory(smol, { ...base, batchSize: 4, seqLen: 512, memory: plain }).activationBytes, m.activationBytes + 256 * 64 * 4);
    assert.equal(estimateTrainingMemory(smol, { ...base, blocks: 5, memory: plain }).loraBytes, 5 * m.loraBytes);
    // Dropout keeps no dropped-out input: the thin matmuls apply its mask as they load a site's input.
    assert.equal(estimateTrainingMemory(smol, { ...base, dropout: 0.05, memory: plain }).activationBytes, m.activationBytes);
    assert.equal(m.largestBufferBytes, tokens * V * 4, 'the logits are the largest buffer here');
    assert.deepEqual(m.savings, plain);
  });

  it('recomputation keeps one layer\'s activations instead of 30; the chunked loss 320 rows of logits instead of 2048', () => {
    const m = estimateTrainingMemory(smol, { ...base, memory: plain });
    const recomputed = estimateTrainingMemory(smol, { ...base, memory: { recompute: true, lossChunkRows: 0 } });
    const chunked = estimateTrainingMemory(smol, { ...base, memory: { recompute: false, lossChunkRows: 'auto' } });
    const both = estimateTrainingMemory(smol, { ...base, memory: { recompute: true, lossChunkRows: 'auto' } });
    assert.equal(autoLossChunkRows(V, tokens), 320, 'the most multiples of 64 rows within 64 MiB of logits');
    assert.ok(320 * V * 4 <= LOSS_CHUNK_BYTES && 384 * V * 4 > LOSS_CHUNK_BYTES);
    assert.equal(m.activationBytes - recomputed.activationBytes, (L - 1) * tokens * layerFloats * 4);
    assert.equal(m.activationBytes - chunked.activationBytes, (tokens - 320) * (V + 1) * 4);
    assert.equal(m.activationBytes - both.activationBytes, (L - 1) * tokens * layerFloats * 4 + (tokens - 320) * (V + 1) * 4);
    assert.deepEqual(both.savings, { recompute: true, lossChunkRows: 320 });
    assert.equal(both.largestBufferBytes, V * H * 4, 'the embedding is the largest buffer once the logits are chunked');
    // Under a third of the memory: 2.9 GiB becomes 0.8 GiB.
    assert.ok(m.totalBytes > 2.85 * 2 ** 30 && both.totalBytes < 0.85 * 2 ** 30, `${m.totalBytes} -> ${both.totalBytes}`);
  });

  it('the default policy recomputes only above the budget and chunks only when the logits exceed one chunk', () => {
    assert.deepEqual(resolveMemorySavings(smol, base), { recompute: true, lossChunkRows: 320 }, 'SmolLM2 at 8 x 256 exceeds 2 GiB');
    assert.equal(DEFAULT_MEMORY_BUDGET_BYTES, 2 * 2 ** 30);
    assert.deepEqual(resolveMemorySavings(smol, { ...base, memory: { budgetBytes: 4 * 2 ** 30 } }), { recompute: false, lossChunkRows: 320 });
    // The budget is compared with the estimate without recomputation (and with the chunked loss).
    const without = estimateTrainingMemory(smol, { ...base, memory: { recompute: false } }).totalBytes;
    assert.equal(resolveMemorySavings(smol, { ...base, memory: { budgetBytes: without } }).recompute, false);
    assert.equal(resolveMemorySavings(smol, { ...base, memory: { budgetBytes: without - 1 } }).recompute, true);
    // One short sequence: 32 rows of logits are below one chunk, and the step fits.
    assert.deepEqual(resolveMemorySavings(smol, { ...base, batchSize: 1, seqLen: 32 }), { recompute: false, lossChunkRows: 0 });
    // Explicit settings win; a chunk of at least the whole batch is no chunk.
    assert.deepEqual(resolveMemorySavings(smol, { ...base, batchSize: 1, seqLen: 32, memory: { recompute: true, lossChunkRows: 8 } }), { recompute: true, lossChunkRows: 8 });
    assert.deepEqual(resolveMemorySavings(smol, { ...base, memory: { lossChunkRows: tokens } }).lossChunkRows, 0);
  });
});

describe('memory policy from the device', () => {
  const GiB = 2 ** 30;
  const gpu = (maxBufferSize: number, binding: number): DeviceMemory => ({ maxBufferSize, maxStorageBufferBindingSize: binding, isSoftware: false, hostMemoryBytes: null });
  const all = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
  const shape: TrainingShape = { batchSize: 8, seqLen: 256, rank: 8, targets: [...all], blocks: 1, dropout: 0.05, weightsBytes: 269_030_016 };

  it('derives a budget of 2 to 8 GiB: a GPU\'s largest buffer, a quarter of the host for a software adapter', () => {
    assert.equal(deviceMemoryBudget(gpu(4 * GiB, GiB)), 4 * GiB);
    assert.equal(deviceMemoryBudget(gpu(256 * 2 ** 20, 128 * 2 ** 20)), DEFAULT_MEMORY_BUDGET_BYTES, 'WebGPU\'s default limits: the old 2 GiB');
    assert.equal(deviceMemoryBudget(gpu(2 ** 40, 4 * GiB - 4)), MAX_AUTO_BUDGET_BYTES, 'capped at 8 GiB');
    assert.equal(deviceMemoryBudget({ ...gpu(GiB, GiB), isSoftware: true, hostMemoryBytes: 24 * GiB }), 6 * GiB);
    assert.equal(deviceMemoryBudget({ ...gpu(4 * GiB, GiB), isSoftware: true, hostMemoryBytes: null }), 4 * GiB, 'host unknown: the GPU rule');
  });

  it('on a device with room, SmolLM2-135M at 8 x 256 (LoRA on all seven) neither recomputes nor chunks the loss', () => {
    const device = gpu(8 * GiB, 4 * GiB - 4);
    assert.deepEqual(resolveMemorySavings(smol, { ...shape, device }), { recompute: false, lossChunkRows: 0 });
    const m = estimateTrainingMemory(smol, { ...shape, device });
    assert.equal(m.budgetBytes, 8 * GiB);
    assert.ok(m.totalBytes <= 8 * GiB && m.totalBytes > DEFAULT_MEMORY_BUDGET_BYTES, `${m.totalBytes}: more than the old fixed budget`);
    // Without a device the old fixed 2 GiB budget applies.
    assert.deepEqual(resolveMemorySavings(smol, shape), { recompute: true, lossChunkRows: 320 });
  });

  it('prefers chunking the loss to recomputing, and recomputes only when that does not fit either', () => {
    // 2048 x 49152 logits (384 MiB) cannot bind at 128 MiB: chunks, whatever the budget.
    const narrow = gpu(8 * GiB, 128 * 2 ** 20);
    assert.deepEqual(resolveMemorySavings(smol, { ...shape, device: narrow }), { recompute: false, lossChunkRows: 320 });
    // A budget between the chunked and the whole-loss step's size: chunks, no recomputation.
    const whole = estimateTrainingMemory(smol, { ...shape, memory: { recompute: false, lossChunkRows: 0 } }).totalBytes;
    const chunked = estimateTrainingMemory(smol, { ...shape, memory: { recompute: false, lossChunkRows: 320 } }).totalBytes;
    assert.ok(chunked < whole);
    const wide = gpu(8 * GiB, 4 * GiB - 4);
    assert.deepEqual(resolveMemorySavings(smol, { ...shape, device: wide, memory: { budgetBytes: whole - 1 } }), { recompute: false, lossChunkRows: 320 });
    assert.deepEqual(resolveMemorySavings(smol, { ...shape, device: wide, memory: { budgetBytes: whole } }), { recompute: false, lossChunkRows: 0 });
    // Below the chunked step: recomputation, with the whole loss when that then fits.
    const recomputedWhole = estimateTrainingMemory(smol, { ...shape, memory: { recompute: true, lossChunkRows: 0 } }).totalBytes;
    assert.deepEqual(resolveMemorySavings(smol, { ...shape, device: wide, memory: { budgetBytes: Math.max(recomputedWhole, chunked - 1) } }),
      recomputedWhole <= chunked - 1 ? { recompute: true, lossChunkRows: 0 } : { recompute: true, lossChunkRows: 320 });
    // A run's own budget and settings win over the device's.
    assert.deepEqual(resolveMemorySavings(smol, { ...shape, device: wide, memory: { budgetBytes: recomputedWhole - 1 } }), { recompute: true, lossChunkRows: 320 });
    assert.deepEqual(resolveMemorySavings(smol, { ...shape, device: wide, memory: { recompute: true, lossChunkRows: 64 } }), { recompute: true, lossChunkRows: 64 });
  });
});

describe('the estimate against a recorded training step', () => {
  // SmolLM2-135M shapes (zero BF16 weights), 8 x 256, LoRA r 8 on all seven projections: everything the Session holds
  // once it has built the training step's plans (weights, LoRA state, activations, the device scratch the kernels share),
  // counted by the recording device. The estimate leaves out only the dispatches' small uniform buffers and a few
  // bookkeeping buffers: within 1 MiB of 2.7 to 3.0 GB, against the 18 to 28 MB of scratch it once left out.
  const cases: [string, 'h100' | 'igpu', number | null, number][] = [
    ['H100 limits, neither saving', 'h100', null, 9_437_184],
    ['H100 limits, a 2 GiB budget (recomputation)', 'h100', 2048, 9_437_184],
    ['integrated-GPU limits (recomputation, 320-row loss chunks, split-K in the head\'s backward)', 'igpu', null, 9_437_184 + 8_847_360],
  ];
  for (const [name, as, budgetMiB, scratch] of cases) {
    it(name, async () => {
      const rec = createRecordingGpu(deviceProfile(as).limits, { description: `recording device with ${as}'s limits` });
      const memory = budgetMiB ? { budgetBytes: budgetMiB * 2 ** 20 } : {};
      const session = await Session.open(rec.gpu, shapedModel('smollm2-135m').source, { lora: { rank: 8, alpha: 16, dropout: 0.05, targets: [...PROJ_NAMES] }, memory });
      try {
        const { savings } = session.stepPlans('train', 8, 256);
        const e = estimateTrainingMemory(session.config, {
          batchSize: 8, seqLen: 256, rank: 8, targets: [...PROJ_NAMES], blocks: 1, dropout: 0.05, memory, weightsBytes: session.info.weightBytes, device: deviceMemoryOf(rec.gpu),
        });
        assert.deepEqual(e.savings, savings);
        assert.equal(e.scratchBytes, scratch);
        const recorded = rec.stats.bytes;
        assert.ok(recorded >= e.totalBytes && recorded - e.totalBytes <= 2 ** 20,
          `recorded ${recorded} bytes, estimated ${e.totalBytes} (${recorded - e.totalBytes} apart)`);
      } finally {
        session.destroy();
      }
    });
  }
});

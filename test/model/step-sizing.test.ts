// Sizing before training (src/model/step-sizing.ts) on the published configs of SmolLM2-135M and Qwen2.5-0.5B against
// the limits of a large GPU and of WebGPU's defaults: what fits, the largest binding, and the advice when it does not.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelConfig } from '../../src/model/config.ts';
import { estimateTrainingMemory, type DeviceMemory } from '../../src/model/memory-estimate.ts';
import { formatSizing, sizeTrainingStep } from '../../src/model/step-sizing.ts';
import { MODEL_SHAPES } from '../../bench/model-shapes.ts';

const GiB = 2 ** 30;
const smol = parseModelConfig(MODEL_SHAPES['smollm2-135m']);
const qwen = parseModelConfig(MODEL_SHAPES['qwen2.5-0.5b']);
const big: DeviceMemory = { maxBufferSize: 8 * GiB, maxStorageBufferBindingSize: 4 * GiB - 4, isSoftware: false, hostMemoryBytes: null };
const small: DeviceMemory = { maxBufferSize: 2 * GiB, maxStorageBufferBindingSize: 128 * 2 ** 20, isSoftware: false, hostMemoryBytes: null };
const all = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
const shape = { batchSize: 8, seqLen: 256, rank: 8, targets: [...all], blocks: 1, dropout: 0.05 };

describe('sizing a training step', () => {
  it('SmolLM2-135M 8 x 256 fits a large GPU whole: the logits are its largest binding', () => {
    const s = sizeTrainingStep(smol, { ...shape, device: big });
    assert.deepEqual(s.fits, { memory: true, binding: true });
    assert.deepEqual(s.estimate.savings, { recompute: false, lossChunkRows: 0 });
    assert.deepEqual(s.largestBinding, { what: 'the logits (2048 rows x 49152)', bytes: 2048 * 49152 * 4 });
    assert.equal(s.budgetBytes, 8 * GiB);
    assert.deepEqual(s.advice, []);
    assert.equal(s.estimate.totalBytes, estimateTrainingMemory(smol, { ...shape, memory: { recompute: false, lossChunkRows: 0 } }).totalBytes);
  });

  it('under WebGPU\'s default 128 MiB binding it chunks the loss, and the embedding (113 MiB) becomes the largest binding', () => {
    const s = sizeTrainingStep(smol, { ...shape, device: small });
    assert.deepEqual(s.fits, { memory: true, binding: true });
    assert.ok(s.estimate.savings.lossChunkRows > 0);
    assert.deepEqual(s.largestBinding, { what: 'the embedding table (49152 x 576, f32)', bytes: 49152 * 576 * 4 });
  });

  it('Qwen2.5-0.5B\'s embedding (519 MiB) cannot bind at 128 MiB: the advice says no batch or length helps', () => {
    const s = sizeTrainingStep(qwen, { ...shape, targets: ['q_proj', 'v_proj'], device: small });
    assert.equal(s.fits.binding, false);
    assert.equal(s.largestBinding.bytes, 151936 * 896 * 4);
    assert.equal(s.advice.length, 1 + (s.fits.memory ? 0 : 1));
    assert.match(s.advice[0], /^the embedding table \(151936 x 896, f32\) takes 519 MiB, more than this device binds at once \(128 MiB\); no batch or length helps/);
  });

  // 2.75 GiB: the step without savings needs 2.9 GiB (o and down join the residual in their matmul's epilogue and are
  // not kept, so it no longer exceeds 3 GiB).
  it('a step over the budget gets recomputation, a chunked loss, a batch and a length that fit, fewer targets', () => {
    const s = sizeTrainingStep(smol, { ...shape, device: big, memory: { budgetBytes: 2.75 * GiB, recompute: false, lossChunkRows: 0 } });
    assert.equal(s.fits.memory, false);
    assert.match(s.advice[0], /over the budget of 2.8 GiB: turn on layer recomputation \(about [\d.]+ [GM]iB, .*\); chunk the loss \(about .* in chunks of 64 rows\); a batch of (\d+); sequences of at most (\d+) tokens; LoRA on q_proj and v_proj only/);
    const [, batch, seq] = /a batch of (\d+); sequences of at most (\d+)/.exec(s.advice[0])!;
    const fits = (b: number, t: number) => estimateTrainingMemory(smol, { ...shape, batchSize: b, seqLen: t, memory: { recompute: false, lossChunkRows: 0 } }).totalBytes <= 2.75 * GiB;
    assert.ok(fits(Number(batch), 256) && fits(8, Number(seq)));
    const text = formatSizing(s, shape);
    assert.match(text[2], /budget 2.8 GiB \(the run's setting\): does not fit/);
    assert.match(text.at(-1)!, /^ {2}to fit: the step needs about/);
  });
});

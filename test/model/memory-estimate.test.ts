// Parameter counts and the training-memory estimate, on SmolLM2-135M's published config.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelConfig } from '../../src/model/config.ts';
import { countParams, estimateTrainingMemory, loraParamsPerBlock } from '../../src/model/memory-estimate.ts';

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

  it('adds weights, LoRA state and activations, growing with batch, sequence and blocks', () => {
    const base = { batchSize: 8, seqLen: 256, rank: 8, targets: ['q_proj', 'v_proj'] as const, blocks: 1 };
    const m = estimateTrainingMemory(smol, base);
    assert.equal(m.weightsBytes, 134_515_008 * 4);
    assert.equal(m.loraBytes, loraParamsPerBlock(smol, 8, ['q_proj', 'v_proj']) * 16);
    assert.equal(m.totalBytes, m.weightsBytes + m.loraBytes + m.activationBytes);
    assert.ok(m.activationBytes > 2 * 8 * 256 * 49152 * 4, 'at least the logits and their gradient');
    assert.ok(estimateTrainingMemory(smol, { ...base, batchSize: 16 }).activationBytes > m.activationBytes);
    assert.ok(estimateTrainingMemory(smol, { ...base, seqLen: 512 }).activationBytes > m.activationBytes);
    // The fused attention keeps no [T, T] probabilities: activations are linear in the tokens.
    assert.equal(estimateTrainingMemory(smol, { ...base, seqLen: 512 }).activationBytes, 2 * m.activationBytes);
    assert.equal(estimateTrainingMemory(smol, { ...base, batchSize: 4, seqLen: 512 }).activationBytes, m.activationBytes);
    assert.equal(estimateTrainingMemory(smol, { ...base, blocks: 5 }).loraBytes, 5 * m.loraBytes);
    assert.equal(m.largestBufferBytes, 8 * 256 * 49152 * 4, 'the logits are the largest buffer here');
  });
});

// Per-step hygiene: once a batch shape's plans exist, a training step or a forward pass creates no GPU buffer, bind
// group, shader module or pipeline (they write inputs, replay recorded plans and read back through pooled staging).
// Counted by wrapping the test device's create* methods around real Sessions on the test adapter.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Session } from '../../src/engine/session.ts';
import type { Gpu } from '../../src/gpu/context.ts';
import { dirSource } from '../../src/io/node-files.ts';
import type { LoraConfig } from '../../src/model/peft.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';

const MODEL = dirSource(join(import.meta.dirname, '..', '..', 'public', 'models', 'tiny-random'));
const LORA: Partial<LoraConfig> = { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] };
const CREATORS = ['createBuffer', 'createBindGroup', 'createComputePipeline', 'createComputePipelineAsync', 'createShaderModule'] as const;

let gpu: Gpu;
const counts: Record<string, number> = {};
before(async () => {
  gpu = await testGpu();
  const device = gpu.device as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of CREATORS) {
    const original = device[name].bind(gpu.device);
    counts[name] = 0;
    device[name] = (...args: unknown[]) => {
      counts[name]++;
      return original(...args);
    };
  }
});
after(releaseTestGpu);

describe('per-step hygiene', () => {
  it('after its first call, a training step and a forward pass create no buffer, bind group, module or pipeline', async () => {
    const session = await Session.open(gpu, MODEL, { lora: LORA });
    try {
      const B = 2, T = 12;
      const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % session.config.vocabSize);
      const batch = { ids, labels: ids.slice(), batchSize: B, seqLen: T };
      await session.trainStep(batch);
      await session.forward(batch);
      const warm = { ...counts };
      assert.ok(warm.createBuffer > 0 && warm.createBindGroup > 0, 'the wrapped creators are the ones the session calls');
      const losses = [await session.trainStep(batch), await session.trainStep(batch)];
      const logits = [await session.forward(batch), await session.forward(batch)];
      assert.deepEqual(counts, warm);
      assert.ok(losses.every((l) => Number.isFinite(typeof l === 'number' ? l : (l as { loss: number }).loss)));
      assert.equal(logits[1][0].length, T * session.config.vocabSize);
    } finally {
      session.destroy();
    }
  });
});

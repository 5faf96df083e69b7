// Every dispatch a real Session records carries its cost annotation (kernel class, FLOPs, bytes); the recording
// device the plan profiler uses builds the very same plans as a real device with the same limits and features; and
// timestamp queries time each dispatch of a training step (SwiftShader has timestamp-query).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Session } from '../../src/engine/session.ts';
import type { Gpu } from '../../src/gpu/context.ts';
import { Plan } from '../../src/gpu/plan.ts';
import { planDispatches } from '../../src/gpu/plan-profile.ts';
import { hasTimestamps, timeDispatches } from '../../src/gpu/plan-timing.ts';
import { createRecordingGpu } from '../../src/gpu/recording-device.ts';
import { record, type DispatchSpec } from '../../src/gpu/kernels/record.ts';
import { dirSource } from '../../src/io/node-files.ts';
import type { LoraConfig } from '../../src/model/peft.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';

const MODEL = dirSource(join(import.meta.dirname, '..', '..', 'public', 'models', 'tiny-random'));
const LORA: Partial<LoraConfig> = { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] };
const B = 2, T = 16;

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
});
after(async () => {
  await releaseTestGpu();
});

function assertAnnotated(plans: Plan[], what: string): void {
  let n = 0;
  for (const plan of plans) {
    for (const op of plan.ops) {
      if (op.kind !== 'dispatch') continue;
      n++;
      const c = op.cost;
      assert.ok(c && typeof c.kernel === 'string' && c.kernel.length > 0, `${what}: ${op.label} has no kernel class`);
      assert.ok(Number.isFinite(c.flops) && c.flops >= 0 && Number.isFinite(c.bytes) && c.bytes > 0, `${what}: ${op.label} cost ${JSON.stringify(c)}`);
    }
  }
  assert.ok(n > 0, what);
}

describe('dispatch cost annotations', () => {
  it('every dispatch of a training step and a forward pass has one, with one block and with three (the mixing kernels)', async () => {
    const session = await Session.open(gpu, MODEL, { lora: LORA });
    try {
      for (const mode of ['train', 'forward'] as const) assertAnnotated(session.stepPlans(mode, B, T).plans, `1 block ${mode}`);
      const bank = await session.createBank({ lora: { ...LORA, useRslora: false, layers: null } as LoraConfig, blocks: 3, router: null, head: null });
      bank.setTrainable({ block: 2, router: false, head: false });
      session.useBank(bank);
      const kernels = new Set<string>();
      for (const mode of ['train', 'forward'] as const) {
        const { plans } = session.stepPlans(mode, B, T);
        assertAnnotated(plans, `3 blocks ${mode}`);
        for (const r of planDispatches(plans)) kernels.add(r.kernel);
      }
      assert.ok(kernels.has('lora_mix.bwd'), [...kernels].join(', '));
    } finally {
      session.destroy();
    }
  });

  it('record() refuses a dispatch without one, naming it', () => {
    const spec = { shader: { name: 'x', code: '' }, entry: 'main', bindings: {}, workgroups: [1], label: 'unannotated' } as unknown as DispatchSpec;
    assert.throws(() => record(gpu, new Plan('t'), spec), /unannotated: the dispatch has no cost annotation/);
    assert.throws(() => record(gpu, new Plan('t'), { ...spec, cost: { kernel: 'k', flops: NaN, bytes: 1 } }), /unannotated: cost.flops must be a finite/);
  });
});

describe('the recording device', () => {
  it('builds the same plans as this device with the same limits and features, and counts the same dispatches', async () => {
    const real = await Session.open(gpu, MODEL, { lora: LORA });
    const rec = createRecordingGpu(
      { maxBufferSize: gpu.device.limits.maxBufferSize, maxStorageBufferBindingSize: gpu.device.limits.maxStorageBufferBindingSize },
      { features: [...gpu.device.features].map(String), software: gpu.adapter.isSoftware });
    const recorded = await Session.open(rec.gpu, MODEL, { lora: LORA });
    try {
      for (const mode of ['train', 'forward'] as const) {
        const a = planDispatches(real.stepPlans(mode, B, T).plans);
        const b = planDispatches(recorded.stepPlans(mode, B, T).plans);
        assert.deepEqual(b, a, mode);
        assert.equal(recorded.dispatchCount(mode, B, T), real.dispatchCount(mode, B, T));
      }
      assert.ok(rec.stats.bindGroups > 0 && rec.stats.pipelines > 0);
    } finally {
      real.destroy();
      recorded.destroy();
    }
  });
});

describe('timestamp timings', () => {
  it('times every dispatch of a training step', async () => {
    assert.ok(hasTimestamps(gpu), 'this suite\'s adapter (SwiftShader or lavapipe) has timestamp-query');
    const session = await Session.open(gpu, MODEL, { lora: LORA });
    try {
      const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % session.config.vocabSize);
      await session.trainStep({ ids, labels: ids.slice(), batchSize: B, seqLen: T });
      const { plans } = session.stepPlans('train', B, T);
      const ms = await timeDispatches(gpu, plans, 1);
      assert.equal(ms.length, session.dispatchCount('train', B, T));
      assert.ok(ms.every((t) => Number.isFinite(t) && t >= 0));
      assert.ok(ms.reduce((s, t) => s + t, 0) > 0);
    } finally {
      session.destroy();
    }
  });
});

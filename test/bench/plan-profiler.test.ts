// The plan profiler without a GPU: plans recorded on the recording device (src/gpu/recording-device.ts) from real
// Sessions; their annotated FLOPs against the analytic count of the step (src/model/step-flops.ts) for several model
// shapes, LoRA targets and memory policies; the occupancy model that makes thin dispatches visible; the --json shape.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Session } from '../../src/engine/session.ts';
import { DEVICE_PROFILES, modelledDispatchMs } from '../../src/gpu/device-profiles.ts';
import { planDispatches, profilePass } from '../../src/gpu/plan-profile.ts';
import { createRecordingGpu } from '../../src/gpu/recording-device.ts';
import type { MemoryPolicy } from '../../src/model/memory-estimate.ts';
import { PROJ_NAMES, type ProjName } from '../../src/model/peft.ts';
import { analyticFlops } from '../../src/model/step-flops.ts';
import { zeroWeightsSource } from '../../bench/model-shapes.ts';
import { parseTargets, planProfile, pytorchStepMs } from '../../bench/plan-profiler.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const ROOT = join(import.meta.dirname, '..', '..');
const LIMITS = DEVICE_PROFILES.h100.limits;

/** Odd small shapes: GQA with 3 query heads per key/value head, an intermediate size that is no multiple of a tile. */
const LLAMA = {
  architectures: ['LlamaForCausalLM'], hidden_size: 48, intermediate_size: 100, num_hidden_layers: 3, num_attention_heads: 6,
  num_key_value_heads: 2, vocab_size: 301, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, max_position_embeddings: 256,
};
/** Qwen2: q/k/v biases, untied head, head dim 24. */
const QWEN2 = {
  architectures: ['Qwen2ForCausalLM'], hidden_size: 72, intermediate_size: 130, num_hidden_layers: 4, num_attention_heads: 3,
  num_key_value_heads: 1, vocab_size: 257, rms_norm_eps: 1e-6, rope_theta: 1e6, tie_word_embeddings: false, max_position_embeddings: 256,
};

interface Case {
  config: Record<string, unknown>;
  batch: number;
  seq: number;
  rank: number;
  targets: ProjName[];
  layers?: number[] | null;
  memory: Partial<MemoryPolicy>;
}

/** Records a training step and a forward pass of `c` and compares their FLOPs with the analytic count. */
async function checkAgainstAnalytic(c: Case): Promise<void> {
  const { gpu } = createRecordingGpu(LIMITS);
  const session = await Session.open(gpu, zeroWeightsSource(c.config, 'case'), {
    lora: { rank: c.rank, alpha: 2 * c.rank, dropout: 0.05, targets: c.targets, layers: c.layers ?? null }, memory: c.memory,
  });
  const what = `${c.config.architectures} ${c.batch}x${c.seq} r${c.rank} ${c.targets.join(',')} layers ${c.layers ?? 'all'} ${JSON.stringify(c.memory)}`;
  for (const mode of ['train', 'forward'] as const) {
    const { plans, savings } = session.stepPlans(mode, c.batch, c.seq);
    const records = planDispatches(plans);
    const shape = { batchSize: c.batch, seqLen: c.seq, rank: c.rank, targets: c.targets, layers: c.layers, recompute: savings.recompute };
    const analytic = analyticFlops(session.config, shape, mode);
    // Matrix products and attention: exactly the analytic count (split-K reduction adds may later add up to 1e-3).
    const products = records.filter((r) => r.kernel === 'matmul' || r.kernel.startsWith('attention')).reduce((s, r) => s + r.flops, 0);
    assert.ok(Math.abs(products - analytic) <= 1e-3 * analytic, `${what} ${mode}: matmul + attention ${products} vs analytic ${analytic}`);
    // Everything else (norms, activations, the loss, AdamW) is a few per cent at most.
    const total = records.reduce((s, r) => s + r.flops, 0);
    assert.ok(total >= products && total - analytic <= 0.05 * analytic, `${what} ${mode}: total ${total} vs analytic ${analytic}`);
  }
  session.destroy();
}

describe('plan profiler: recorded FLOPs against the analytic count', () => {
  const all = [...PROJ_NAMES];
  const cases: Case[] = [
    { config: LLAMA, batch: 2, seq: 19, rank: 4, targets: all, memory: { recompute: false } },
    { config: LLAMA, batch: 2, seq: 19, rank: 4, targets: all, memory: { recompute: true } },
    { config: LLAMA, batch: 3, seq: 33, rank: 8, targets: ['q_proj', 'v_proj'], memory: { recompute: true, lossChunkRows: 64 } },
    { config: LLAMA, batch: 1, seq: 40, rank: 2, targets: ['down_proj'], layers: [1], memory: { recompute: false } },
    { config: QWEN2, batch: 2, seq: 17, rank: 8, targets: ['o_proj', 'gate_proj', 'up_proj'], memory: { recompute: true } },
    { config: QWEN2, batch: 2, seq: 24, rank: 3, targets: all, layers: [2, 3], memory: { recompute: false, lossChunkRows: 0 } },
  ];
  for (const c of cases) {
    it(`${c.config.architectures} ${c.batch}x${c.seq}, r ${c.rank} on ${c.targets.length === 7 ? 'all' : c.targets.join(',')}` +
      `${c.layers ? ` of layers ${c.layers}` : ''}, ${JSON.stringify(c.memory)}`, () => checkAgainstAnalytic(c));
  }

  it('SmolLM2-135M shapes, 8 x 256, r 8 on all seven projections, as the profiler records them (no GPU buffers allocated)', async () => {
    const r = await planProfile({ model: 'smollm2-135m', batch: 8, seq: 256, rank: 8, targets: all });
    for (const pass of [r.train, r.forward]) {
      const products = pass.classes.filter((g) => g.name === 'matmul' || g.name.startsWith('attention')).reduce((s, g) => s + g.flops, 0);
      assert.ok(Math.abs(products - pass.analytic_flops) <= 1e-3 * pass.analytic_flops, `${products} vs ${pass.analytic_flops}`);
    }
    // The analytic forward: 2 · tokens · (every projection and the head) plus causal attention, here by hand.
    const N = 2048, H = 576, I = 1536, kv = 192, L = 30, V = 49152, r8 = 8;
    const proj = 2 * N * (H * H * 2 + 2 * H * kv + 3 * H * I) + 2 * N * r8 * (9 * H + 2 * kv + 3 * I);
    const attn = 4 * 64 * 8 * 9 * (256 * 257) / 2;
    assert.equal(r.forward.analytic_flops, L * (proj + attn) + 2 * N * V * H);
    assert.ok(r.train.dispatches > r.forward.dispatches);
    // Issue 20's targets for this step: at most 1800 dispatches, none of more than 1 MFLOP in fewer than 132
    // workgroups, modelled at most 70 ms on an H100 and 1.2 s on an M2 (3154, 1199, 130 ms and 782 ms before).
    assert.ok(r.train.dispatches <= 1800, `${r.train.dispatches} dispatches`);
    assert.equal(r.train.thin.dispatches, 0);
    assert.ok(r.train.modelled_ms.h100 <= 70 && r.train.modelled_ms.m2 <= 1200, JSON.stringify(r.train.modelled_ms));
    // A recording allocates no memory for its buffers, though it counts them.
    assert.ok(r.recording.peakBytes > 2 ** 30, `counted ${r.recording.peakBytes} bytes`);
    // The default memory policy reads the device: with an H100's limits the step keeps every layer's activations and
    // the whole loss (8 GiB budget, 4 GiB bindings) ...
    assert.deepEqual(r.savings, { recompute: false, lossChunkRows: 0 });
    // ... and under an integrated GPU's (2 GiB, 128 MiB bindings) it chunks the loss and recomputes.
    const small = await planProfile({ model: 'smollm2-135m', batch: 8, seq: 256, rank: 8, targets: all, recordAs: 'igpu' });
    assert.equal(small.savings.recompute, true);
    assert.ok(small.savings.lossChunkRows > 0 && small.savings.lossChunkRows * 49152 * 4 <= 128 * 2 ** 20);
    assert.ok(small.train.dispatches > r.train.dispatches);
    // Recomputation runs the layers' forward again (but the top layer's and the down projections' outputs).
    assert.ok(small.train.analytic_flops > r.train.analytic_flops * 1.2);
  });
});

describe('plan profiler: the model', () => {
  it('charges a thin dispatch for the compute units it leaves idle', () => {
    const h100 = DEVICE_PROFILES.h100;
    const work = { flops: 1e9, bytes: 1e6 };
    const full = modelledDispatchMs(h100, { ...work, workgroups: 132 * h100.workgroupsPerUnit });
    const thin = modelledDispatchMs(h100, { ...work, workgroups: 14 });
    const fixed = h100.dispatchUs / 1000;
    assert.ok(Math.abs((thin - fixed) / (full - fixed) - (132 * h100.workgroupsPerUnit) / 14) < 1e-9);
    // Beyond a full device more workgroups do not help; an empty dispatch still costs its launch.
    assert.equal(modelledDispatchMs(h100, { ...work, workgroups: 10_000 }), full);
    assert.equal(modelledDispatchMs(h100, { flops: 0, bytes: 0, workgroups: 1 }), fixed);
    // Bandwidth-bound work is charged at the profile's bandwidth.
    const m2 = DEVICE_PROFILES.m2;
    assert.ok(Math.abs(modelledDispatchMs(m2, { flops: 0, bytes: 1e9, workgroups: 1000 }) - (m2.dispatchUs / 1000 + 1e9 / (m2.bandwidthGBs * 1e6))) < 1e-9);
  });

  it('groups by class and role, counts thin dispatches above 1 MFLOP only', () => {
    const records = [
      { label: 'l0.q_proj', kernel: 'matmul', role: 'l*.q_proj', workgroups: 300, flops: 5e8, bytes: 1e6 },
      { label: 'l1.q_proj', kernel: 'matmul', role: 'l*.q_proj', workgroups: 300, flops: 5e8, bytes: 1e6 },
      { label: 'l0.q_proj.bwd.dA', kernel: 'matmul', role: 'l*.q_proj.bwd.dA', workgroups: 9, flops: 2e7, bytes: 1e6 },
      { label: 'loss.mean', kernel: 'cross_entropy', role: 'loss.mean', workgroups: 1, flops: 1e3, bytes: 1e3 },
    ];
    const p = profilePass(records, Object.values(DEVICE_PROFILES));
    assert.equal(p.dispatches, 4);
    assert.deepEqual(p.classes.map((g) => [g.name, g.dispatches, g.workgroups, g.minWorkgroups, g.maxWorkgroups]),
      [['matmul', 3, 609, 9, 300], ['cross_entropy', 1, 1, 1, 1]]);
    assert.equal(p.roles.find((g) => g.name === 'l*.q_proj')!.dispatches, 2);
    assert.equal(p.thin.below, 132);
    assert.equal(p.thin.dispatches, 1);
    assert.equal(p.thin.flops, 2e7);
    assert.equal(p.flops, 1.02e9 + 1e3);
  });

  it('reads PyTorch\'s step time from peft_train_step.py\'s JSON for the GPU kit\'s ratio', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-pt-'));
    writeFileSync(join(dir, 'pytorch.json'), JSON.stringify({ impl: 'hf', step_ms: 123.5, tokens_per_s: 16580 }));
    writeFileSync(join(dir, 'broken.json'), '{"step_ms": "fast"}');
    assert.equal(pytorchStepMs(join(dir, 'pytorch.json')), 123.5);
    assert.equal(pytorchStepMs(join(dir, 'broken.json')), null);
    assert.equal(pytorchStepMs(join(dir, 'missing.json')), null);
  });

  it('reads LoRA targets as "all" or a list', () => {
    assert.deepEqual(parseTargets('all'), PROJ_NAMES);
    assert.deepEqual(parseTargets('q,v_proj'), ['q_proj', 'v_proj']);
    assert.throws(() => parseTargets('q,x'), /--lora-targets q,x: expected "all" or a list of q_proj/);
  });
});

describe('npm run bench -- --plan --json', () => {
  it('prints one JSON object of the issue\'s shape', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/wgsl-loader.mjs', 'bench/engine.bench.ts',
      '--plan', '--model', 'tiny-random', '--batch', '2', '--seq', '16', '--lora-targets', 'q,v', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout) as Record<string, Record<string, unknown>>;
    for (const pass of ['train', 'forward']) {
      const p = out[pass] as { dispatches: number; flops: number; bytes: number; classes: Record<string, unknown>[]; modelled_ms: Record<string, number> };
      assert.ok(p.dispatches > 0 && p.flops > 0 && p.bytes > 0, pass);
      for (const c of p.classes) for (const k of ['name', 'dispatches', 'workgroups', 'flops', 'bytes']) assert.ok(k in c, `${pass} class lacks ${k}`);
      assert.equal(p.classes.reduce((s, c) => s + (c.dispatches as number), 0), p.dispatches);
      for (const d of ['h100', 'm2', 'igpu']) assert.ok(p.modelled_ms[d] > 0, `${pass} modelled ${d}`);
    }
    assert.deepEqual((out.lora as unknown as { targets: string[] }).targets, ['q_proj', 'v_proj']);
  });
});

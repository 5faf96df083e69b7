// `clora info` sizes a training step before any training: what it needs against the device's limits and budget
// (JSON on stdout, the same as text on stderr), and what to change when it does not fit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseModelConfig } from '../../src/model/config.ts';
import { estimateTrainingMemory } from '../../src/model/memory-estimate.ts';
import { readFileSync } from 'node:fs';

const MODEL = join(import.meta.dirname, '..', '..', 'public', 'models', 'tiny-random');
const clora = (...args: string[]) => spawnSync(process.execPath, ['bin/clora.js', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });

interface Sizing {
  shape: { batchSize: number; seqLen: number; rank: number; targets: string[] };
  estimate: { totalBytes: number; weightsBytes: number; loraBytes: number; activationBytes: number; savings: { recompute: boolean; lossChunkRows: number } };
  budgetBytes: number;
  budgetFrom: string;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  largestBinding: { what: string; bytes: number };
  fits: { memory: boolean; binding: boolean };
  advice: string[];
}

describe('clora info: sizing', () => {
  it('reports the step against the device: the estimate of memory-estimate.ts, the budget from the device, the limits', () => {
    const res = clora('info', '--model', MODEL, '--batch', '4', '--seq', '64', '--targets', 'q,v,down', '--rank', '4');
    assert.equal(res.status, 0, res.stderr);
    const s = (JSON.parse(res.stdout) as { sizing: Sizing }).sizing;
    assert.deepEqual(s.shape, { batchSize: 4, seqLen: 64, rank: 4, targets: ['q_proj', 'v_proj', 'down_proj'] });
    const cfg = parseModelConfig(JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8')));
    const want = estimateTrainingMemory(cfg, { batchSize: 4, seqLen: 64, rank: 4, targets: ['q_proj', 'v_proj', 'down_proj'], blocks: 1, dropout: 0.05, weightsBytes: s.estimate.weightsBytes, memory: { recompute: false, lossChunkRows: 0 } });
    // The kernels' shared scratch depends on the adapter the CLI ran on (none on a software adapter); the rest is the same.
    const e = s.estimate as Sizing['estimate'] & { scratchBytes: number };
    assert.equal(e.totalBytes - e.scratchBytes, want.totalBytes - want.scratchBytes);
    assert.equal(s.budgetFrom, 'device');
    assert.ok(s.budgetBytes >= 2 * 2 ** 30 && s.budgetBytes <= 8 * 2 ** 30);
    assert.ok(s.limits.maxStorageBufferBindingSize > 0 && s.limits.maxBufferSize >= s.limits.maxStorageBufferBindingSize);
    assert.deepEqual(s.fits, { memory: true, binding: true });
    assert.deepEqual(s.advice, []);
    assert.match(res.stderr, /clora info: training step at batch 4 x 64 tokens, LoRA r 4 on q_proj, v_proj, down_proj:/);
    assert.match(res.stderr, /budget .* \(from the device\): fits/);
  });

  it('says what to change when the step exceeds the budget, and each suggested batch fits', () => {
    const res = clora('info', '--model', MODEL, '--batch', '16', '--seq', '64', '--targets', 'all', '--memory-budget', '3');
    assert.equal(res.status, 0, res.stderr);
    const s = (JSON.parse(res.stdout) as { sizing: Sizing }).sizing;
    assert.equal(s.budgetBytes, 3 * 2 ** 20);
    assert.equal(s.budgetFrom, 'setting');
    assert.equal(s.fits.memory, false);
    assert.equal(s.estimate.savings.recompute, true, 'the automatic policy already recomputes');
    assert.equal(s.advice.length, 1);
    assert.match(s.advice[0], /over the budget of 3 MiB: .*a batch of \d+; sequences of at most \d+ tokens; LoRA on q_proj and v_proj only/);
    const batch = Number(/a batch of (\d+)/.exec(s.advice[0])![1]);
    const again = (JSON.parse(clora('info', '--model', MODEL, '--batch', String(batch), '--seq', '64', '--targets', 'all', '--memory-budget', '3').stdout) as { sizing: Sizing }).sizing;
    assert.equal(again.fits.memory, true, `batch ${batch} fits`);
    assert.match(res.stderr, /clora info: {3}to fit: the step needs about/);
  });

  it('refuses bad sizing flags with a usage error', () => {
    const res = clora('info', '--model', MODEL, '--targets', 'q,x');
    assert.equal(res.status, 2);
    assert.match(res.stderr, /--targets: "q,x" is not "all" or a list of q_proj/);
    assert.equal(clora('info', '--model', MODEL, '--batch', '0').status, 2);
  });
});

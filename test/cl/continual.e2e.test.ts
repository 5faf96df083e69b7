// End to end on WebGPU through the built `clora run`: a synthetic stream of conflicting tasks (the
// same inputs, different answers under different instructions), generated here and never stored
// in the repository, trained on the bundled tiny model. SeqLoRA must measurably forget; Replay and
// SAPT (which is given no task ids) must measurably not. SAPT's router needs more steps than a
// single LoRA to separate the tasks' prompts (its selection is learnt from scratch on a random
// model), so its comparison runs two tasks at 90 steps each.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MethodResult } from '../../src/cl/runner.ts';
import { runClora, TINY_MODEL } from '../helpers/clora-run.ts';
import { conflictingStream } from '../helpers/streams.ts';

const SETTINGS = {
  seed: 3,
  batchSize: 8,
  lr: 0.005,
  maxLength: 48,
  testFraction: 0.25,
  lora: { rank: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'] },
};

function report(methods: Record<string, MethodResult>): string {
  return Object.entries(methods)
    .map(([k, v]) => `${k}: AP ${v.metrics!.ap.toFixed(1)} F.Ra ${(v.metrics!.fra ?? NaN).toFixed(1)} ${JSON.stringify(v.matrix)}${v.routing ? ` routing ${JSON.stringify(v.routing)}` : ''}`)
    .join('\n');
}

describe('continual learning end to end (clora run, WebGPU)', () => {
  it('SeqLoRA forgets a conflicting stream; Replay keeps it', { timeout: 40 * 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-cl-'));
    const tasks = conflictingStream(dir, 7);
    const { results, out, stdout, stderr } = runClora(dir, { ...SETTINGS, model: TINY_MODEL, tasks, methods: ['seqlora', 'replay'], steps: 36, maxNewTokens: 3 });
    assert.match(stderr, /\[[#.]+\]\s+\d+\.\d% /, 'a progress bar on stderr');
    assert.deepEqual(Object.keys((JSON.parse(stdout) as { methods: Record<string, unknown> }).methods), ['seqlora', 'replay']);

    const m = results.methods;
    const text = report(m);
    for (const name of ['seqlora', 'replay']) {
      // Each of the earlier tasks is learnt when it is trained (the diagonal; a model that has not
      // learnt a task's answers scores 0, one that knows them but guesses scores about 50).
      for (let t = 0; t < 2; t++) assert.ok(m[name].matrix![t][t]! >= 40, `${name} learns task ${t + 1}\n${text}`);
    }
    // Margins: SeqLoRA loses at least 30 points on average; Replay loses at most 35 and at least 25
    // fewer than SeqLoRA, and ends at least 15 points higher.
    assert.ok(m.seqlora.metrics!.fra! >= 30, `SeqLoRA forgets\n${text}`);
    assert.ok(m.replay.metrics!.fra! <= 35 && m.replay.metrics!.fra! <= m.seqlora.metrics!.fra! - 25, `Replay keeps earlier tasks\n${text}`);
    assert.ok(m.replay.metrics!.ap >= m.seqlora.metrics!.ap + 15, `Replay ends above SeqLoRA\n${text}`);

    // Artifacts: adapters in PEFT format after every task, replay samples.
    for (const t of ['alpha', 'beta', 'gamma']) {
      assert.ok(existsSync(join(out, 'seqlora', 'adapters', `after-${t}`, 'adapter_config.json')), `seqlora adapter after ${t}`);
      assert.ok(existsSync(join(out, 'replay', 'adapters', `after-${t}`, 'adapter_model.safetensors')), `replay adapter after ${t}`);
    }
    assert.ok(readFileSync(join(out, 'replay', 'replay', 'alpha.jsonl'), 'utf8').trim().split('\n').length >= 8, 'replay samples of alpha');
  });

  it('SAPT keeps the earlier task without task ids; SeqLoRA forgets it', { timeout: 60 * 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-sapt-'));
    const tasks = conflictingStream(dir, 7).slice(0, 2);
    const { results } = runClora(dir, { ...SETTINGS, model: TINY_MODEL, tasks, methods: ['seqlora', { method: 'sapt', klRatio: 1 }], steps: 90, maxNewTokens: 4 });
    const m = results.methods;
    const text = report(m);
    for (const name of ['seqlora', 'sapt']) {
      for (let t = 0; t < 2; t++) assert.ok(m[name].matrix![t][t]! >= 60, `${name} learns task ${t + 1}\n${text}`);
    }
    // Margins: SeqLoRA loses at least 40 points of task 1; SAPT at most 25, and at least 30 fewer
    // than SeqLoRA, ending at least 20 points higher on average.
    assert.ok(m.seqlora.metrics!.fra! >= 40, `SeqLoRA forgets\n${text}`);
    assert.ok(m.sapt.metrics!.fra! <= 25 && m.sapt.metrics!.fra! <= m.seqlora.metrics!.fra! - 30, `SAPT keeps task 1\n${text}`);
    assert.ok(m.sapt.metrics!.ap >= m.seqlora.metrics!.ap + 20, `SAPT ends above SeqLoRA\n${text}`);
    // The selector sends task 1's prompts mostly to task 1's block after task 2.
    assert.ok(m.sapt.routing![1][0]![0] > 0.5, `task 1 routed to its block\n${text}`);
  });
});

// End to end on WebGPU through the built `clora run`: a synthetic stream of conflicting tasks (the
// same inputs, different answers under different instructions), generated here and never stored
// in the repository, trained with SeqLoRA and Replay on the bundled tiny model. SeqLoRA must
// measurably forget; Replay must measurably not. (SAPT on this stream kept task 1 after task 2 but
// lost tasks 1 and 2 after task 3 in the last measurement, so it is not asserted here yet.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRng } from '../../src/model/rng.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Three tasks over one set of inputs; each maps every input to one of its own two answers by a seeded rule. */
function conflictingStream(dir: string, seed: number): string[] {
  const rng = createRng(seed);
  const inputs = ['zap', 'mog', 'kiv', 'tud', 'rel', 'bax', 'nop', 'wix'];
  const tasks = [
    { name: 'alpha', instruction: 'Alpha: yes or no?', labels: ['yes', 'no'] },
    { name: 'beta', instruction: 'Beta: cat or dog?', labels: ['cat', 'dog'] },
    { name: 'gamma', instruction: 'Gamma: red or blue?', labels: ['red', 'blue'] },
  ];
  mkdirSync(join(dir, 'data'), { recursive: true });
  return tasks.map((t) => {
    const rule = new Map(inputs.map((w) => [w, t.labels[rng.nextU32() % 2]]));
    const lines = Array.from({ length: 64 }, (_, i) => {
      const input = inputs[i % inputs.length];
      return JSON.stringify({ instruction: t.instruction, input, output: rule.get(input) });
    });
    const file = join(dir, 'data', `${t.name}.jsonl`);
    writeFileSync(file, lines.join('\n') + '\n');
    return `data/${t.name}.jsonl`;
  });
}

interface Results {
  methods: Record<string, { matrix: (number | null)[][]; metrics: { ap: number; fra: number; bwt: number } }>;
}

describe('continual learning end to end (clora run, WebGPU)', () => {
  it('SeqLoRA forgets a conflicting stream; Replay keeps it', { timeout: 40 * 60_000 }, () => {
    assert.ok(existsSync(join(ROOT, 'dist', 'cli.js')), 'build the CLI first (npm run build:cli)');
    const dir = mkdtempSync(join(tmpdir(), 'clora-cl-'));
    const tasks = conflictingStream(dir, 7);
    const experiment = {
      model: join(ROOT, 'public', 'models', 'tiny-random'),
      tasks,
      methods: ['seqlora', 'replay'],
      seed: 3,
      steps: 36,
      batchSize: 8,
      lr: 0.005,
      maxLength: 48,
      maxNewTokens: 3,
      testFraction: 0.25,
      lora: { rank: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'] },
    };
    const file = join(dir, 'experiment.json');
    writeFileSync(file, JSON.stringify(experiment, null, 2));
    const out = join(dir, 'out');
    const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', file, '--out', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /\[[#.]+\]\s+\d+\.\d% /, 'a progress bar on stderr');
    const summary = JSON.parse(res.stdout) as { methods: Record<string, unknown> };
    assert.deepEqual(Object.keys(summary.methods), ['seqlora', 'replay']);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    const m = results.methods;
    const report = Object.entries(m).map(([k, v]) => `${k}: AP ${v.metrics.ap.toFixed(1)} F.Ra ${v.metrics.fra.toFixed(1)} ${JSON.stringify(v.matrix)}`).join('\n');
    for (const name of ['seqlora', 'replay']) {
      // Each of the earlier tasks is learnt when it is trained (the diagonal; a model that has not
      // learnt a task's answers scores 0, one that knows them but guesses scores about 50).
      for (let t = 0; t < 2; t++) assert.ok(m[name].matrix[t][t]! >= 40, `${name} learns task ${t + 1}\n${report}`);
    }
    // Margins: SeqLoRA loses at least 30 points on average; Replay loses at most 35 and at least 25
    // fewer than SeqLoRA, and ends at least 15 points higher.
    assert.ok(m.seqlora.metrics.fra >= 30, `SeqLoRA forgets\n${report}`);
    for (const name of ['replay']) {
      assert.ok(m[name].metrics.fra <= 35 && m[name].metrics.fra <= m.seqlora.metrics.fra - 25, `${name} keeps earlier tasks\n${report}`);
      assert.ok(m[name].metrics.ap >= m.seqlora.metrics.ap + 15, `${name} ends above SeqLoRA\n${report}`);
    }

    // Artifacts: adapters in PEFT format after every task, replay samples.
    for (const t of ['alpha', 'beta', 'gamma']) {
      assert.ok(existsSync(join(out, 'seqlora', 'adapters', `after-${t}`, 'adapter_config.json')), `seqlora adapter after ${t}`);
      assert.ok(existsSync(join(out, 'replay', 'adapters', `after-${t}`, 'adapter_model.safetensors')), `replay adapter after ${t}`);
    }
    assert.ok(readFileSync(join(out, 'replay', 'replay', 'alpha.jsonl'), 'utf8').trim().split('\n').length >= 8, 'replay samples of alpha');
  });
});

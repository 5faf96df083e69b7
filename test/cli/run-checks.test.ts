// `clora run` checks a run before it starts (src/cl/run-checks.ts), and the oracle with unseen-task
// evaluation runs to the end with FWT (the built CLI on WebGPU, the bundled tiny model).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runClora, TINY_MODEL } from '../helpers/clora-run.ts';
import { conflictingStream } from '../helpers/streams.ts';

describe('clora run: checks before a run, oracle with unseen tasks', () => {
  it('refuses a combination that cannot run before opening the GPU, naming the field and what to change', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-checks-'));
    const tasks = conflictingStream(dir, 1, undefined, 16);
    const file = join(dir, 'exp.json');
    writeFileSync(file, JSON.stringify({ model: TINY_MODEL, tasks, methods: ['replay'], steps: 1, batchSize: 1 }));
    const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', file, '--out', join(dir, 'out')], { encoding: 'utf8' });
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /the run cannot start:\n\s+- batchSize: replay mixes stored samples .* set the batch size to 2 or more/);
    assert.doesNotMatch(res.stderr, /WebGPU adapter/, 'refused before the GPU was opened');
    assert.ok(!existsSync(join(dir, 'out', 'results.json')), 'nothing written');
  });

  it('the oracle evaluates tasks it has not trained yet on the base model and the run ends with FWT', { timeout: 10 * 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-oracle-unseen-'));
    const tasks = conflictingStream(dir, 5, undefined, 16);
    const { results, stderr } = runClora(dir, {
      model: TINY_MODEL, tasks, methods: ['seqlora', 'oracle'], steps: 2, batchSize: 4, maxLength: 32, maxNewTokens: 2, maxTest: 4, evaluateUnseen: true,
    });
    const oracle = results.methods.oracle;
    assert.ok(oracle.matrix!.every((row) => row.every((v) => typeof v === 'number')), `every cell evaluated: ${JSON.stringify(oracle.matrix)}`);
    // Unseen cells are the base model's score: the same in every row above the task's own.
    for (let t = 0; t < 3; t++) for (let k = 0; k < t; k++) assert.equal(oracle.matrix![k][t], oracle.matrix![0][t], `a[${k}][${t}]`);
    assert.deepEqual(results.singleTask, oracle.matrix!.map((row, t) => row[t]));
    for (const m of Object.values(results.methods)) assert.equal(typeof m.metrics!.fwt, 'number', `${m.method} has FWT`);
    // maxLength 32 is below most of these examples with the tiny model's ChatML template: results count the cut ones.
    for (const t of results.tasks) {
      const cut = t.truncated!.input + t.truncated!.prompt;
      assert.ok(cut > 0 && cut <= t.train + t.test, `${t.name}: ${JSON.stringify(t.truncated)}`);
    }
    // Every task has two labels: chance 50, and the most common one holds at least half of the test split.
    for (const t of results.tasks) {
      assert.equal(t.baselines!.chance, 50, t.name);
      assert.ok(t.baselines!.majority! >= 50 && t.baselines!.majority! <= 100 && t.labels!.includes(t.baselines!.majorityLabel!), JSON.stringify(t));
    }
    assert.match(stderr, /oracle\s+AP [\d.]+ F\.Ra [\d.-]+ BWT [\d.-]+ FWT [\d.-]+/);
  });
});

// `clora run` refuses settings that do not fit the model (a LoRA rank above a projection's side, prompts plus answers
// beyond its positions) before training, naming the field, instead of running for a very long time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TINY_MODEL } from '../helpers/clora-run.ts';
import { conflictingStream } from '../helpers/streams.ts';

function run(settings: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'clora-fit-'));
  const file = join(dir, 'exp.json');
  writeFileSync(file, JSON.stringify({ model: TINY_MODEL, tasks: conflictingStream(dir, 1, undefined, 8), methods: ['seqlora'], steps: 1, batchSize: 2, ...settings }));
  const out = join(dir, 'out');
  // The timeout guards against the slow run this prevents; a refusal takes seconds.
  const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', file, '--out', out, '--quiet'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(res.signal, null, 'clora run did not stop within 120 s');
  assert.equal(res.status, 1, res.stderr);
  assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'nothing written');
  return res.stderr;
}

describe('clora run: settings against the model', { timeout: 5 * 60_000 }, () => {
  it('refuses a LoRA rank of 100000, naming lora.rank and the largest rank the model allows', () => {
    assert.match(run({ lora: { rank: 100000 } }), /the run cannot start with this model:\n  - lora\.rank: rank 100000 is above \w+_proj's smaller dimension .* set "lora\.rank" to at most \d+/);
  });

  it('refuses maxNewTokens of 100000, naming it and the model\'s positions', () => {
    assert.match(run({ maxLength: 32, maxNewTokens: 100000 }), /  - maxNewTokens: maxLength \(32\) plus maxNewTokens \(100000\) is 100032 tokens, more than this model's \d+ positions/);
  });
});

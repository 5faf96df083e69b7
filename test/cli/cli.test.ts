// The `clora` command end to end (the built bin, as users run it): JSON on stdout matching the
// PyTorch fixture, and one-line errors with the documented exit codes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertRelError } from '../helpers/assert.ts';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'oracle', 'qwen2-mqa-tied');
const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8'));
const clora = (...args: string[]) => spawnSync(process.execPath, ['bin/clora.js', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });

describe('clora CLI', () => {
  it('forward prints the logits of every position (relative error <= 1e-4 against PyTorch)', () => {
    const ids = expected.ids[0] as number[];
    const res = clora('forward', '--model', join(fixture, 'model'), '--adapter', join(fixture, 'adapter'), '--ids', ids.join(','), '--json');
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { logits: number[][] };
    assert.equal(out.logits.length, ids.length);
    assertRelError(out.logits.flat(), (expected.logits[0] as number[][]).flat(), 1e-4, 'cli logits');
  });

  it('forward without --model runs the bundled demo model (its PyTorch reference logits, relative error <= 1e-4)', () => {
    const demo = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'demo-model.json'), 'utf8')) as { ids: number[]; logits: number[][]; logitsPositions: number[] };
    const res = clora('forward', '--ids', demo.ids.join(','), '--json');
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { logits: number[][] };
    assert.equal(out.logits.length, demo.ids.length);
    assertRelError(demo.logitsPositions.flatMap((t) => out.logits[t]), demo.logits.flat(), 1e-4, 'demo logits');
  });

  it('grad prints the loss and every LoRA gradient under its PEFT key', () => {
    const ids = expected.ids[1] as number[];
    // labels[0] is never a target (the logits at t predict labels[t + 1]): -100 there changes nothing.
    const labels = [-100, ...(expected.labels[1] as number[]).slice(1)];
    // `--labels -100,...` with a space: a negative number is the option's value.
    const res = clora('grad', '--model', join(fixture, 'model'), '--adapter', join(fixture, 'adapter'), `--ids=${ids.join(',')}`, '--labels', labels.join(','));
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { loss: number; grads: Record<string, number[]> };
    assert.ok(Number.isFinite(out.loss) && out.loss > 0);
    assert.deepEqual(Object.keys(out.grads).sort(), Object.keys(expected.grads).sort());
    const key = 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight';
    assert.equal(out.grads[key].length, expected.grads[key].length);
    assert.ok(out.grads[key].some((g) => g !== 0), 'gradients are not all zero');
  });

  it('reports a malformed config in one line naming the file, with exit code 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-bad-'));
    cpSync(join(fixture, 'model'), dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    cfg.architectures = ['GPT2LMHeadModel'];
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    const res = clora('forward', '--model', dir, '--ids', '1,2');
    assert.equal(res.status, 1);
    const lines = res.stderr.trim().split('\n').filter((l) => l.startsWith('clora: error'));
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0], /config\.json: .*GPT2LMHeadModel/);
  });

  it('rejects usage errors with exit code 2', () => {
    assert.equal(clora('forward', '--model', '/no/such/dir', '--ids', '1').status, 2);
    assert.equal(clora('grad', '--model', fixture, '--ids', '1').status, 2);
    assert.equal(clora('frobnicate').status, 2);
    const ok = execFileSync(process.execPath, ['bin/clora.js', '--help'], { encoding: 'utf8' });
    assert.match(ok, /clora forward \[--model DIR\|ID\]/);
  });

  it('rejects token ids outside the vocabulary', () => {
    const res = clora('forward', '--model', join(fixture, 'model'), '--ids', '1,99999');
    assert.equal(res.status, 1);
    assert.match(res.stderr, /token id 99999 .* outside the vocabulary/);
  });
});

// `clora export` end to end (the built bin, as users run it): the JSON summary, the written ONNX file run in
// onnxruntime against the PyTorch fixtures (relative error <= 1e-4), and one-line errors with the documented exit codes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertRelError } from '../helpers/assert.ts';
import { onnxLogits, openOnnx } from '../helpers/onnx-runtime.ts';

const TOLERANCE = 1e-4;
const fixture = join(import.meta.dirname, '..', 'fixtures', 'oracle', 'qwen2-mqa-tied');
const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as { ids: number[][]; logits: number[][][] };
const clora = (...args: string[]) => spawnSync(process.execPath, ['bin/clora.js', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
const scratch = () => mkdtempSync(join(tmpdir(), 'clora-export-'));

interface Summary {
  out: string;
  bytes: number;
  nodes: number;
  initializers: number;
  opset: number;
}

/** The lines of stderr that report an error. */
const errorLines = (stderr: string) => stderr.trim().split('\n').filter((l) => l.startsWith('clora: error'));

describe('clora export', () => {
  it('writes the adapted model (its folder created) and prints the summary; onnxruntime reproduces PyTorch', async () => {
    const out = join(scratch(), 'nested', 'qwen2.onnx');
    const res = clora('export', '--model', join(fixture, 'model'), '--adapter', join(fixture, 'adapter'), '--out', out);
    assert.equal(res.status, 0, res.stderr);
    const summary = JSON.parse(res.stdout) as Summary;
    assert.deepEqual(Object.keys(summary), ['out', 'bytes', 'nodes', 'initializers', 'opset']);
    assert.equal(summary.out, out);
    assert.equal(summary.bytes, statSync(out).size);
    assert.equal(summary.opset, 17);
    assert.ok(summary.nodes > 100 && summary.initializers > 20, res.stdout);
    assert.match(res.stderr, /merging the LoRA adapter .*r=3, alpha=6 on q_proj, v_proj, down_proj/);
    assert.deepEqual(errorLines(res.stderr), []);

    const session = await openOnnx(new Uint8Array(readFileSync(out)));
    const logits = await onnxLogits(session, expected.ids);
    assertRelError(logits.data, expected.logits.flat(2), TOLERANCE, 'exported logits');
    await session.release();
  });

  it('without --model exports the bundled demo model (its PyTorch reference logits)', async () => {
    const demo = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'demo-model.json'), 'utf8')) as { ids: number[]; logits: number[][]; logitsPositions: number[] };
    const out = join(scratch(), 'demo.onnx');
    const res = clora('export', '--out', out);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /public\/models\/demo/);
    const session = await openOnnx(new Uint8Array(readFileSync(out)));
    const logits = await onnxLogits(session, [demo.ids]);
    const V = logits.dims[2];
    const rows = demo.logitsPositions.flatMap((t) => Array.from(logits.data.subarray(t * V, (t + 1) * V)));
    assertRelError(rows, demo.logits.flat(), TOLERANCE, 'demo logits');
    await session.release();
  });

  it('an unsupported architecture: one error line naming the file, exit code 1, nothing written', () => {
    const dir = scratch();
    cpSync(join(fixture, 'model'), dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, architectures: ['MistralForCausalLM'] }));
    const out = join(dir, 'out.onnx');
    const res = clora('export', '--model', dir, '--out', out);
    assert.equal(res.status, 1);
    const lines = errorLines(res.stderr);
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0], /\/config\.json: architecture "MistralForCausalLM" is not supported/);
    assert.equal(res.stdout, '');
    assert.ok(!existsSync(out));
  });

  it('an adapter for another model: one error line naming adapter_model.safetensors and the shapes', () => {
    const llamaAdapter = join(import.meta.dirname, '..', 'fixtures', 'oracle', 'llama-gqa', 'adapter');
    const res = clora('export', '--model', join(fixture, 'model'), '--adapter', llamaAdapter, '--out', join(scratch(), 'x.onnx'));
    assert.equal(res.status, 1);
    const lines = errorLines(res.stderr);
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0], /llama-gqa\/adapter\/adapter_model\.safetensors: \S+lora_A\.weight has shape \[4,88\], expected \[4,72\]$/);
  });

  it('usage errors exit with code 2; --help lists the command', () => {
    const dir = scratch();
    assert.equal(clora('export', '--model', join(fixture, 'model')).status, 2, 'missing --out');
    assert.equal(clora('export', '--model', '/no/such/dir', '--out', join(dir, 'a.onnx')).status, 2, 'missing model folder');
    assert.equal(clora('export', '--model', join(fixture, 'model'), '--adapter', '/no/such/dir', '--out', join(dir, 'a.onnx')).status, 2, 'missing adapter folder');
    assert.equal(clora('export', '--model', join(fixture, 'model'), '--out', dir).status, 2, '--out is a folder');
    assert.equal(clora('export', 'extra', '--out', join(dir, 'a.onnx')).status, 2, 'positional argument');
    const help = clora('--help');
    assert.equal(help.status, 0);
    assert.equal(clora('export', '--model', join(fixture, 'model'), '--sapt', '/no/such/dir', '--out', join(dir, 'a.onnx')).status, 2, 'missing SAPT folder');
    assert.equal(clora('export', '--model', join(fixture, 'model'), '--adapter', join(fixture, 'adapter'), '--sapt', join(fixture, 'adapter'), '--out', join(dir, 'a.onnx')).status, 2, 'both --adapter and --sapt');
    assert.match(help.stdout, /clora export \[--model DIR\|ID\] \[--adapter DIR \| --sapt DIR\] --out FILE\.onnx/);
  });
});

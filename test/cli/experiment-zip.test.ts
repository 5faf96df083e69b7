// `clora run EXPORT.zip`: an app export run without unpacking it (the built CLI, one tiny task on SwiftShader), its
// temporary folder removed afterwards; a zip whose entries would land outside its folder, or without an
// experiment.json, is refused naming it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import type { RunResults } from '../../src/cl/runner.ts';
import { unpackExperimentZip } from '../../src/cli/experiment-zip.ts';
import { ROOT } from '../helpers/clora-run.ts';

const lines = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ input: `w${i % 4}`, output: i % 2 ? 'yes' : 'no' })).join('\n') + '\n';
const experiment = { model: 'tiny-random', tasks: [{ path: 'tasks/a.jsonl', name: 'a' }], methods: ['seqlora'], steps: 1, batchSize: 2, maxLength: 24, maxNewTokens: 2, maxTest: 2 };

describe('clora run on an exported zip', () => {
  it('runs the experiment.json at the zip\'s top and removes what it unpacked', { timeout: 10 * 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-zip-'));
    const zip = join(dir, 'my-run.zip');
    writeFileSync(zip, zipSync({ 'experiment.json': strToU8(JSON.stringify(experiment)), 'tasks/a.jsonl': strToU8(lines(8)) }));
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('clora-experiment-')).length;
    const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', zip, '--out', join(dir, 'out'), '--quiet'], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    const results = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')) as RunResults;
    assert.deepEqual(results.tasks.map((t) => t.name), ['a']);
    assert.equal(results.methods.seqlora.matrix!.length, 1);
    assert.equal(readdirSync(tmpdir()).filter((n) => n.startsWith('clora-experiment-')).length, before, 'the unpacked folder is removed');
  });

  it('finds experiment.json in a single top folder and refuses entries outside it or a zip without one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-zip-'));
    const write = (name: string, files: Record<string, string>) => {
      const p = join(dir, name);
      writeFileSync(p, zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)]))));
      return p;
    };
    const nested = unpackExperimentZip(write('nested.zip', { 'run/experiment.json': '{}', 'run/tasks/a.jsonl': 'x' }), 'nested.zip');
    assert.ok(nested.file.endsWith(join('run', 'experiment.json')) && existsSync(nested.file));
    assert.equal(readFileSync(join(nested.file, '..', 'tasks', 'a.jsonl'), 'utf8'), 'x');
    nested.cleanup();
    assert.ok(!existsSync(nested.file));
    assert.throws(() => unpackExperimentZip(write('slip.zip', { 'experiment.json': '{}', '../evil.txt': 'x' }), 'slip.zip'), /slip\.zip: the entry "\.\.\/evil\.txt" would be unpacked outside its folder/);
    assert.throws(() => unpackExperimentZip(write('none.zip', { 'tasks/a.jsonl': 'x' }), 'none.zip'), /none\.zip: no experiment\.json at its top/);
    assert.throws(() => unpackExperimentZip(join(dir, 'missing.zip'), 'missing.zip'), /missing\.zip: no such file/);
    writeFileSync(join(dir, 'bad.zip'), 'not a zip');
    assert.throws(() => unpackExperimentZip(join(dir, 'bad.zip'), 'bad.zip'), /bad\.zip: not a readable zip file/);
  });
});

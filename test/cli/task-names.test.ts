// `clora run` names each task as the experiment file says: a task's "name" is honoured, one file listed twice
// under two names is two tasks, and two tasks with one name are refused before any file is read, naming both.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runClora, TINY_MODEL } from '../helpers/clora-run.ts';

const SETTINGS = { model: TINY_MODEL, methods: ['seqlora'], steps: 1, batchSize: 2, maxLength: 32, maxNewTokens: 2 };

/** A small CRLF JSONL task of two labels. */
function writeTask(dir: string, file: string): void {
  const lines = ['zap', 'mog', 'kiv', 'tud', 'rel', 'bax'].map((w, i) => JSON.stringify({ text: w, label: i % 2 ? 'yes' : 'no' }));
  writeFileSync(join(dir, file), lines.join('\r\n') + '\r\n');
}

function runFails(dir: string, experiment: object): { status: number | null; stderr: string; out: string } {
  const file = join(dir, 'exp.json');
  writeFileSync(file, JSON.stringify(experiment));
  const out = join(dir, 'out');
  const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', file, '--out', out], { encoding: 'utf8', timeout: 120_000 });
  return { status: res.status, stderr: res.stderr, out };
}

describe('clora run: task names from the experiment file', () => {
  it('trains a task under its "name", and one file listed under two names as two tasks', { timeout: 5 * 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-names-'));
    writeTask(dir, 'crlf.jsonl');
    const { results, out } = runClora(dir, { ...SETTINGS, tasks: [{ path: 'crlf.jsonl', name: 'renamed' }, { path: 'crlf.jsonl', name: 'again' }] });
    assert.deepEqual(results.tasks.map((t) => t.name), ['renamed', 'again']);
    assert.deepEqual(readdirSync(join(out, 'seqlora', 'adapters')).sort(), ['after-again', 'after-renamed']);
  });

  it('refuses two tasks with one name, naming both entries and their paths, before reading any file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-names-'));
    writeTask(dir, 'crlf.jsonl');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'crlf.jsonl'), 'not JSON at all\n');
    const named = runFails(dir, { ...SETTINGS, tasks: [{ path: 'crlf.jsonl', name: 'x' }, { path: 'crlf.jsonl', name: 'x' }] });
    assert.equal(named.status, 1, named.stderr);
    assert.match(named.stderr, /exp\.json: "tasks\[0\]" \(crlf\.jsonl\) and "tasks\[1\]" \(crlf\.jsonl\) are both named "x"; .*give one of them its own "name"/);
    // Default names clash too; the second file is malformed, and the names are checked before it is read.
    const stems = runFails(dir, { ...SETTINGS, tasks: ['crlf.jsonl', 'sub/crlf.jsonl'] });
    assert.equal(stems.status, 1, stems.stderr);
    assert.match(stems.stderr, /"tasks\[0\]" \(crlf\.jsonl\) and "tasks\[1\]" \(sub\/crlf\.jsonl\) are both named "crlf"/);
    assert.ok(!existsSync(stems.out), 'nothing written');
  });

  it('refuses a task name that cannot be a folder when validating the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-names-'));
    writeTask(dir, 'crlf.jsonl');
    for (const name of ['../escape', '', 5]) {
      const res = runFails(dir, { ...SETTINGS, tasks: [{ path: 'crlf.jsonl', name }] });
      assert.equal(res.status, 1, res.stderr);
      assert.match(res.stderr, /exp\.json: "tasks\[0\]\.name" /);
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});

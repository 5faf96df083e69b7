// `clora run` reads its experiment file as users write it: a UTF-8 byte-order mark is accepted, and a folder,
// UTF-16 text, a missing task path or a result name that cannot be a folder are refused before anything trains,
// each naming the file or field and what to do, without a stack trace or an output folder.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TINY_MODEL } from '../helpers/clora-run.ts';

const SETTINGS = { model: TINY_MODEL, methods: ['seqlora'], steps: 1, batchSize: 2, maxLength: 32, maxNewTokens: 2 };

function task(dir: string): void {
  const lines = ['zap', 'mog', 'kiv', 'tud', 'rel', 'bax'].map((w, i) => JSON.stringify({ text: w, label: i % 2 ? 'yes' : 'no' }));
  writeFileSync(join(dir, 'data.jsonl'), lines.join('\n') + '\n');
}

function run(dir: string, experiment: string | Uint8Array, name = 'exp.json') {
  const file = join(dir, name);
  if (!existsSync(file)) writeFileSync(file, experiment);
  const out = join(dir, 'out');
  const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', file, '--out', out, '--quiet'], { encoding: 'utf8', timeout: 180_000 });
  return { ...res, out, file };
}

function refused(res: ReturnType<typeof run>, pattern: RegExp): void {
  assert.notEqual(res.status, 0, res.stderr);
  assert.notEqual(res.status, null, 'finished before the timeout');
  const errors = res.stderr.split('\n').filter((l) => l.startsWith('clora: error:'));
  assert.equal(errors.length, 1, res.stderr);
  assert.match(errors[0], pattern);
  assert.doesNotMatch(res.stderr, /\n\s+at |TypeError|RangeError/, 'no stack trace');
  assert.ok(!existsSync(res.out), 'no output folder');
}

describe('clora run: the experiment file itself', () => {
  it('accepts a file that starts with a UTF-8 byte-order mark', { timeout: 5 * 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-expfile-'));
    task(dir);
    const res = run(dir, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ ...SETTINGS, tasks: ['data.jsonl'] }))]));
    assert.equal(res.status, 0, res.stderr);
    assert.ok(existsSync(join(res.out, 'results.json')));
  });

  it('refuses a folder, naming the JSON files in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-expfile-'));
    mkdirSync(join(dir, 'exp'));
    writeFileSync(join(dir, 'exp', 'experiment.json'), '{}');
    refused(run(dir, '', 'exp'), /exp: is a folder, not a JSON file; pass the JSON file itself \(it holds experiment\.json\)$/);
  });

  it('refuses UTF-16 text, with or without a byte-order mark, saying to save it as UTF-8', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-expfile-'));
    const text = JSON.stringify({ ...SETTINGS, tasks: ['data.jsonl'] });
    refused(run(dir, Buffer.from(text, 'utf16le'), 'a.json'), /a\.json:1: not UTF-8 text \(the file is UTF-16 \(little-endian, without a byte-order mark\) text: every other byte is NUL; save it as UTF-8 text\)$/);
    refused(run(dir, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'b.json'), /b\.json:1: not UTF-8 text \(the file is UTF-16 \(little-endian, with a byte-order mark\)/);
  });

  it('names the task field of a path that does not exist, and where it was looked for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-expfile-'));
    mkdirSync(join(dir, 'sub'));
    const res = run(dir, JSON.stringify({ ...SETTINGS, tasks: ['data/absent.jsonl'] }), join('sub', 'exp.json'));
    refused(res, new RegExp(`"tasks\\[0\\]": data/absent\\.jsonl does not exist \\(looked for ${join(dir, 'sub', 'data', 'absent.jsonl').replace(/[.]/g, '\\.')}; paths are relative to the experiment file's folder\\)$`));
  });

  it('refuses a method or column setting of the wrong kind before reading any task', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-expfile-'));
    task(dir);
    refused(run(dir, JSON.stringify({ ...SETTINGS, tasks: ['data.jsonl'], methods: [{ method: 'seqlora', name: '../escape' }] }), 'm.json'), /"methods\[0\]\.name" contains a slash/);
    refused(run(dir, JSON.stringify({ ...SETTINGS, tasks: [{ path: 'data.jsonl', columns: { input: 5 } }] }), 'c.json'), /"tasks\[0\]\.columns\.input" must be the name of a field or column of the task file \(a non-empty string\), got 5 \(an integer\)$/);
  });
});

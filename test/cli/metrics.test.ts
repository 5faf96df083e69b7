// `clora metrics` end to end through the bin entry point: the metrics JSON on stdout, one-line file errors with exit 1, usage errors with exit 2.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');
let work = '';
let bin = '';

// The bundle is built with package.json's own build:cli command line, but into a private folder
// (with a copy of bin/clora.js beside it) so that other suites running bin/clora.js from the
// repository at the same time never see a half-written dist/cli.js.
before(() => {
  work = mkdtempSync(join(tmpdir(), 'clora-metrics-cli-'));
  const script = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['build:cli'];
  const args = script.split(/\s+/);
  assert.equal(args[0], 'esbuild', `unexpected build:cli script: ${script}`);
  const out = args.findIndex((a) => a.startsWith('--outfile='));
  assert.ok(out > 0, 'build:cli names its --outfile');
  args[out] = `--outfile=${join(work, 'dist', 'cli.js')}`;
  execFileSync(join(repo, 'node_modules', '.bin', 'esbuild'), args.slice(1), { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  mkdirSync(join(work, 'bin'));
  copyFileSync(join(repo, 'bin', 'clora.js'), join(work, 'bin', 'clora.js'));
  bin = join(work, 'bin', 'clora.js');
});
after(() => rmSync(work, { recursive: true, force: true }));

const clora = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const file = (name: string, content: string) => {
  const p = join(work, name);
  writeFileSync(p, content);
  return p;
};
const errorLine = (stderr: string) => {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${stderr}`);
  return lines[0];
};

describe('clora metrics', () => {
  it('prints the metrics of a matrix and single-task scores as JSON, without touching the GPU', () => {
    // Same 3x3 matrix as test/cl/metrics.test.ts: AP = 220/3, F.Ra = (20 + 5)/2 = 12.5,
    // BWT = (-20 - 5)/2 = -12.5, FWT = (-5 + 2 + 5)/3 = 2/3.
    const matrix = file('m3.json', JSON.stringify([[80, 95, 5], [70, 90, 20], [60, 85, 75]]));
    const single = file('s3.json', '[85, 88, 70]');
    const res = clora('metrics', '--matrix', matrix, '--single', single, '--json');
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stderr, '', 'nothing on stderr: no GPU adapter was looked for');
    const out = JSON.parse(res.stdout);
    assert.deepEqual(Object.keys(out), ['tasks', 'ap', 'fra', 'bwt', 'fwt', 'final', 'forgetting']);
    assert.equal(out.tasks, 3);
    assert.ok(Math.abs(out.ap - 220 / 3) < 1e-12);
    assert.equal(out.fra, 12.5);
    assert.equal(out.bwt, -12.5);
    assert.ok(Math.abs(out.fwt - 2 / 3) < 1e-12);
    assert.deepEqual(out.final, [60, 85, 75]);
    assert.deepEqual(out.forgetting, [20, 5]);
  });

  it('gives null FWT without --single, and null F.Ra and BWT for one task', () => {
    const res = clora('metrics', '--matrix', file('m1.json', '[[0.42]]'));
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), { tasks: 1, ap: 0.42, fra: null, bwt: null, fwt: null, final: [0.42], forgetting: [] });
  });

  it('reports a bad file in one line naming it, with exit code 1', () => {
    const cases: [string, RegExp][] = [
      [file('bad.json', '[[1, 2], [3, 4]'), /^clora: error: .*bad\.json: invalid JSON: /],
      [join(work, 'absent.json'), /^clora: error: .*absent\.json: no such file$/],
      [file('rect.json', '[[1, 2, 3], [4, 5, 6]]'), /^clora: error: .*rect\.json: 2 rows but 3 columns; a run over T tasks needs T rows \(one per training stage\) and T columns \(one per task\)$/],
      [file('ragged.json', '[[1, 2], [3]]'), /rows: row 2 has 1 score but row 1 has 2$/],
      [file('diag.json', '[[1, null], [2, null]]'), /^clora: error: .*diag\.json: row 2, column 2 is null, but the diagonal/],
      [file('str.json', '[[1, 0], ["2", 3]]'), /^clora: error: .*str\.json: row 2, column 1: expected a finite number or null, got the string "2"$/],
      [file('obj.json', '{"matrix": [[1]]}'), /^clora: error: .*obj\.json: expected an array of rows/],
    ];
    for (const [path, re] of cases) {
      const res = clora('metrics', '--matrix', path);
      assert.equal(res.status, 1, `${path}: ${res.stderr}`);
      assert.equal(res.stdout, '');
      assert.match(errorLine(res.stderr), re);
    }
  });

  it('reports bad single-task scores naming that file', () => {
    const matrix = file('m2.json', '[[1, 0], [2, 3]]');
    const res = clora('metrics', '--matrix', matrix, '--single', file('s-short.json', '[1, 2, 3]'));
    assert.equal(res.status, 1);
    assert.match(errorLine(res.stderr), /^clora: error: .*s-short\.json: 3 single-task scores for a matrix of 2 tasks; expected one per task$/);
    const res2 = clora('metrics', '--matrix', matrix, '--single', file('s-bad.json', '[1, "x"'));
    assert.equal(res2.status, 1);
    assert.match(errorLine(res2.stderr), /s-bad\.json: invalid JSON/);
  });

  it('rejects usage errors with exit code 2 and documents itself in --help', () => {
    const matrix = file('ok.json', '[[1]]');
    for (const args of [['metrics'], ['metrics', '--matrix'], ['metrics', '--matrix', matrix, '--frob'], ['metrics', '--matrix', matrix, 'extra'], ['metrics', '--matrix', matrix, '--single=']]) {
      const res = clora(...args);
      assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(errorLine(res.stderr), /^clora: error: /);
    }
    assert.match(clora('metrics').stderr, /missing --matrix FILE/);
    for (const args of [['--help'], ['metrics', '--help']]) {
      const res = clora(...args);
      assert.equal(res.status, 0);
      assert.match(res.stdout, /clora metrics --matrix FILE \[--single FILE\] \[--json\]/);
      assert.match(res.stdout, /F\.Ra = \(1\/\(T-1\)\) sum_\{t<T\}/);
    }
  });
});

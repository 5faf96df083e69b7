// Runs the built `clora run` on an experiment written to a temporary folder, as a user would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunResults } from '../../src/cl/runner.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const TINY_MODEL = join(ROOT, 'public', 'models', 'tiny-random');

let runs = 0;

/** Writes `experiment` into `dir`, runs `clora run` on it, asserts a zero exit and returns the results and output folder. */
export function runClora(dir: string, experiment: object): { results: RunResults; out: string; stdout: string; stderr: string } {
  assert.ok(existsSync(join(ROOT, 'dist', 'cli.js')), 'build the CLI first (npm run build:cli)');
  const n = runs++;
  const file = join(dir, `experiment-${n}.json`);
  writeFileSync(file, JSON.stringify(experiment, null, 2));
  const out = join(dir, `out-${n}`);
  const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', file, '--out', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(res.status, 0, res.stderr);
  return { results: JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults, out, stdout: res.stdout, stderr: res.stderr };
}

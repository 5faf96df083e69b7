// The bad-input corpus (test/fixtures/bad-inputs) through the built `clora run`, as users run it: every experiment
// file, and the task files marked "cli" inside an experiment of their own. A bad one must exit non-zero within the
// time limit with one error holding its message, no stack trace and no output folder; a valid one must run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResults } from '../../src/cl/runner.ts';
import { ROOT, TINY_MODEL } from '../helpers/clora-run.ts';

const CORPUS = join(ROOT, 'test', 'fixtures', 'bad-inputs');
interface Case {
  error?: string;
  valid?: { tasks?: string[] };
  columns?: Record<string, string>;
  cli?: boolean;
}
const cases = JSON.parse(readFileSync(join(CORPUS, 'cases.json'), 'utf8')) as { tasks: Record<string, Case>; experiments: Record<string, Case> };
const work = mkdtempSync(join(tmpdir(), 'clora-bad-inputs-'));
let runs = 0;

/** Runs `clora run file --out <fresh folder>` with a time limit well above what an error or a one-step run takes. */
function run(file: string) {
  const out = join(work, `out-${runs++}`);
  const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', file, '--out', out, '--quiet'], { encoding: 'utf8', timeout: 120_000 });
  return { ...res, out };
}

function assertRefused(res: ReturnType<typeof run>, message: string): void {
  assert.notEqual(res.status, null, `no hang: killed by ${res.signal} after the time limit`);
  assert.notEqual(res.status, 0, `refused, but it ran:\n${res.stderr}`);
  // One error, at the end (the run checks list every problem of a run on lines of their own below it).
  const at = res.stderr.indexOf('clora: error:');
  assert.ok(at >= 0 && res.stderr.indexOf('clora: error:', at + 1) === -1, `one error:\n${res.stderr}`);
  const error = res.stderr.slice(at).trimEnd();
  assert.ok(error.includes(message), `error:\n  ${error}\nexpected to contain:\n  ${message}`);
  assert.doesNotMatch(res.stderr, /\n\s+at |Maximum call stack|is not a function|Cannot read properties/, 'no crash or stack trace');
  assert.ok(!existsSync(res.out) || readdirSync(res.out).length === 0, `no output left in ${res.out}: ${existsSync(res.out) ? readdirSync(res.out).join(', ') : ''}`);
}

function assertRan(res: ReturnType<typeof run>, tasks?: string[]): void {
  assert.equal(res.status, 0, res.stderr);
  const results = JSON.parse(readFileSync(join(res.out, 'results.json'), 'utf8')) as RunResults;
  if (tasks) assert.deepEqual(results.tasks.map((t) => t.name), tasks);
}

describe('bad-input corpus through clora run', { timeout: 30 * 60_000 }, () => {
  it('has been built', () => assert.ok(existsSync(join(ROOT, 'dist', 'cli.js')), 'build the CLI first (npm run build:cli)'));

  for (const [name, c] of Object.entries(cases.experiments)) {
    it(`experiment ${name}`, { timeout: 3 * 60_000 }, () => {
      const res = run(join(CORPUS, 'experiments', name));
      if (c.error) assertRefused(res, c.error);
      else assertRan(res, c.valid!.tasks);
    });
  }

  for (const [name, c] of Object.entries(cases.tasks).filter(([, c]) => c.cli)) {
    it(`task file ${name}`, { timeout: 3 * 60_000 }, () => {
      const file = join(work, `task-${runs}.json`);
      const task = c.columns ? { path: join(CORPUS, 'tasks', name), columns: c.columns } : join(CORPUS, 'tasks', name);
      writeFileSync(file, JSON.stringify({ model: TINY_MODEL, tasks: [task], methods: ['seqlora'], steps: 1, batchSize: 2, maxLength: 32, maxNewTokens: 2 }));
      const res = run(file);
      if (c.error) assertRefused(res, c.error);
      else assertRan(res);
    });
  }
});

// The bad-input corpus (test/fixtures/bad-inputs) through the loaders: every task file through the parser and the
// task loader, every experiment file through what `clora run` does before it opens a model (read, validate, load
// the task stream, check the combination), each giving the message cases.json pairs it with, or loading as stated.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseExperiment } from '../../src/cl/experiment.ts';
import { assertRunnable } from '../../src/cl/run-checks.ts';
import { readJsonFile } from '../../src/cli/command-io.ts';
import { loadExperimentTasks } from '../../src/cli/experiment-tasks.ts';
import { nodeFileSource } from '../../src/data/node-byte-source.ts';
import { loadTasksFromPaths } from '../../src/data/node-load.ts';
import { parseTaskFile, type ColumnMap } from '../../src/data/parse.ts';

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'bad-inputs');

interface Case {
  error?: string;
  valid?: { examples?: number; first?: { input: string; output: string }; tasks?: string[] };
  columns?: ColumnMap;
}
const cases = JSON.parse(readFileSync(join(CORPUS, 'cases.json'), 'utf8')) as { tasks: Record<string, Case>; experiments: Record<string, Case> };

/** The message of what `run` throws, or null when it succeeds; a message must be a single line-free Error, never a crash. */
async function messageOf(run: () => Promise<unknown>): Promise<string | null> {
  try {
    await run();
    return null;
  } catch (e) {
    assert.ok(e instanceof Error, `threw a non-Error: ${String(e)}`);
    assert.ok(!(e instanceof RangeError) && !(e instanceof TypeError), `an internal error escaped: ${e.name}: ${e.message}`);
    return e.message;
  }
}

/** What `clora run` does with an experiment file before it opens the model. */
async function loadExperiment(file: string, label: string) {
  const exp = parseExperiment(readJsonFile(file, label), label);
  const tasks = await loadExperimentTasks(exp, dirname(file), label);
  assertRunnable({ settings: exp, tasks: tasks.map((t) => ({ name: t.name, source: t.source, train: t.train.length, test: t.test.length })) }, label);
  return tasks;
}

describe('bad-input corpus: task files', () => {
  for (const [name, c] of Object.entries(cases.tasks)) {
    test(`${name}: ${c.error ? `refused with "${c.error.slice(0, 60)}"` : 'loads as stated'}`, async () => {
      const path = join(CORPUS, 'tasks', name);
      const opts = c.columns ? { columns: c.columns } : {};
      const message = await messageOf(() => loadTasksFromPaths([path], opts));
      if (c.error) {
        assert.notEqual(message, null, 'loaded');
        assert.ok(message!.includes(c.error), `message:\n  ${message}\nexpected to contain:\n  ${c.error}`);
        assert.ok(message!.startsWith(name.split('/')[0]) || message!.startsWith('train.json'), `names the file first: ${message}`);
        if (statSync(path).isFile()) {
          // The parser alone (no split) refuses the same way, unless the problem is the split itself.
          const parsed = await messageOf(() => parseTaskFile(nodeFileSource(path), opts));
          if (parsed !== null) assert.equal(parsed, message);
        }
      } else {
        assert.equal(message, null);
        const r = await parseTaskFile(nodeFileSource(path), opts);
        if (c.valid!.examples !== undefined) assert.equal(r.examples.length, c.valid!.examples);
        if (c.valid!.first) assert.deepEqual(r.examples[0], c.valid!.first);
      }
    });
  }

  test('a gigantic single line (24 MB) is refused with its line, without a hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-giant-'));
    const jsonl = join(dir, 'giant.jsonl');
    writeFileSync(jsonl, `{"text": "${'a'.repeat(24 << 20)}", "label": }\n`);
    const started = performance.now();
    const m = await messageOf(() => loadTasksFromPaths([jsonl]));
    assert.match(m!, /^giant\.jsonl:1: malformed JSON line \(/);
    const csv = join(dir, 'giant.csv');
    writeFileSync(csv, `text,label${','.repeat(24 << 20)}`);
    assert.match((await messageOf(() => loadTasksFromPaths([csv])))!, /^giant\.csv:1: malformed CSV \(no line break in the first 16777216 characters\)/);
    assert.ok(performance.now() - started < 60_000, 'both within a minute');
  });
});

describe('bad-input corpus: experiment files', () => {
  for (const [name, c] of Object.entries(cases.experiments)) {
    test(`${name}: ${c.error ? `refused with "${c.error.slice(0, 60)}"` : 'loads as stated'}`, async () => {
      const file = join(CORPUS, 'experiments', name);
      const message = await messageOf(() => loadExperiment(file, name));
      if (c.error) {
        assert.notEqual(message, null, 'loaded');
        assert.ok(message!.includes(c.error), `message:\n  ${message}\nexpected to contain:\n  ${c.error}`);
        assert.ok(/^\S*(\.jsonl?|\.csv|\.tsv|a-folder)\b/.test(message!), `names a file first: ${message}`);
      } else {
        assert.equal(message, null);
        const tasks = await loadExperiment(file, name);
        assert.deepEqual(tasks.map((t) => t.name), c.valid!.tasks);
      }
    });
  }
});

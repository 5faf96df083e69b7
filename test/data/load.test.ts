// Tests task loading: seeded splits, the "split" column, label sets, benchmark folders, task streams and duplicate names.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bytesSource } from '../../src/data/byte-source.ts';
import { checkTaskNames, loadBenchmarkTask, loadTaskFromFile, loadTaskStream } from '../../src/data/load.ts';
import { nodeDirTaskSources, nodeFileSource } from '../../src/data/node-byte-source.ts';
import { loadTasksFromPaths } from '../../src/data/node-load.ts';
import { DEFAULT_INSTRUCTION, labelSet, type Example } from '../../src/data/task.ts';
import { MissingFileError } from '../../src/io/errors.ts';

const jsonl = (records: object[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
const numbered = (n: number, label = (i: number) => `out${i}`) => Array.from({ length: n }, (_, i) => ({ input: `in${i}`, output: label(i) }));
const sorted = (xs: Example[]) => xs.map((e) => e.input).sort();

describe('single-file tasks', () => {
  test('a seeded split: 20% test by default, the same for the same seed, disjoint and complete', async () => {
    const src = bytesSource('sst2.jsonl', jsonl(numbered(50)));
    const a = await loadTaskFromFile(src, { seed: 3 });
    const b = await loadTaskFromFile(src, { seed: 3 });
    const c = await loadTaskFromFile(src, { seed: 4 });
    assert.equal(a.name, 'sst2');
    assert.equal(a.source, 'sst2.jsonl');
    assert.equal(a.instruction, DEFAULT_INSTRUCTION);
    assert.equal(a.test.length, 10);
    assert.equal(a.train.length, 40);
    assert.deepEqual(a.dev, []);
    assert.deepEqual(a, b);
    assert.notDeepEqual(sorted(a.test), sorted(c.test));
    assert.deepEqual([...sorted(a.train), ...sorted(a.test)].sort(), sorted(numbered(50)));
    assert.equal(new Set([...a.train, ...a.test].map((e) => e.input)).size, 50);
  });

  test('testFraction, caps, and at least one example on each side', async () => {
    const t = await loadTaskFromFile(bytesSource('x.jsonl', jsonl(numbered(100))), { testFraction: 0.3, maxTrain: 7, maxTest: 5, seed: 1 });
    assert.equal(t.train.length, 7);
    assert.equal(t.test.length, 5);
    const two = await loadTaskFromFile(bytesSource('two.jsonl', jsonl(numbered(2))), { testFraction: 0.01 });
    assert.equal(two.train.length, 1);
    assert.equal(two.test.length, 1);
    const three = await loadTaskFromFile(bytesSource('three.jsonl', jsonl(numbered(3))), { testFraction: 0.99 });
    assert.equal(three.train.length, 1);
    assert.equal(three.test.length, 2);
    await assert.rejects(loadTaskFromFile(bytesSource('one.jsonl', jsonl(numbered(1)))), {
      name: 'FormatError',
      message: 'one.jsonl: needs at least 2 examples to split into train and test, found 1',
    });
    await assert.rejects(loadTaskFromFile(bytesSource('x.jsonl', jsonl(numbered(5))), { testFraction: 1 }), /testFraction must be between 0 and 1/);
    await assert.rejects(loadTaskFromFile(bytesSource('x.jsonl', jsonl(numbered(5))), { maxTrain: 0 }), /maxTrain must be a positive integer/);
  });

  test('a "split" column is honoured instead of a random split', async () => {
    const csv = 'text,label,split\na,x,train\nb,y,test\nc,x,train\nd,y,dev\ne,x,test\n';
    const t = await loadTaskFromFile(bytesSource('agnews.csv', csv), { name: 'news', instruction: 'Classify.' });
    assert.equal(t.name, 'news');
    assert.equal(t.instruction, 'Classify.');
    assert.deepEqual(t.train, [
      { input: 'a', output: 'x' },
      { input: 'c', output: 'x' },
    ]);
    assert.deepEqual(t.test, [
      { input: 'b', output: 'y' },
      { input: 'e', output: 'x' },
    ]);
    assert.deepEqual(t.dev, [{ input: 'd', output: 'y' }]);
    await assert.rejects(loadTaskFromFile(bytesSource('s.csv', 'text,label,split\na,x,train\nb,y,dev\n')), {
      message: 's.csv: the "split" field marks no example as test',
    });
  });

  test('the instruction comes from the data unless overridden', async () => {
    const data = jsonl([
      { instruction: 'Translate to French.', input: 'cat', output: 'chat' },
      { instruction: 'Translate to French.', input: 'dog', output: 'chien' },
    ]);
    assert.equal((await loadTaskFromFile(bytesSource('fr.jsonl', data))).instruction, 'Translate to French.');
    assert.equal((await loadTaskFromFile(bytesSource('fr.jsonl', data), { instruction: 'Other.' })).instruction, 'Other.');
  });

  test('reads a file from disk in chunks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-file-'));
    try {
      const path = join(dir, 'yelp.jsonl');
      writeFileSync(path, jsonl(numbered(40, (i) => String(i % 5))));
      const progress: number[] = [];
      const src = nodeFileSource(path, undefined, 100);
      assert.equal(src.size, jsonl(numbered(40, (i) => String(i % 5))).length);
      const t = await loadTaskFromFile(src, { onProgress: (read, total, file) => (assert.equal(file, 'yelp.jsonl'), assert.equal(total, src.size), progress.push(read)) });
      assert.equal(t.name, 'yelp');
      assert.deepEqual(t.labels, ['0', '1', '2', '3', '4']);
      assert.ok(progress.length > 5);
      assert.equal(progress.at(-1), src.size);
      assert.throws(() => nodeFileSource(join(dir, 'nope.jsonl')), MissingFileError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('label sets', () => {
  const ex = (outputs: string[]) => outputs.map((output, i) => ({ input: String(i), output }));
  test('repeated outputs from a small set are labels, sorted', () => {
    assert.deepEqual(labelSet(ex(['neg', 'pos', 'pos']), ex(['neg'])), ['neg', 'pos']);
  });
  test('an output seen once, or more than 50 distinct outputs, means free text', () => {
    assert.equal(labelSet(ex(['a', 'a', 'b'])), null);
    const many = Array.from({ length: 51 }, (_, i) => `l${i}`);
    assert.equal(labelSet(ex([...many, ...many])), null);
    assert.equal(labelSet(ex([...many.slice(0, 50), ...many.slice(0, 50)]))?.length, 50);
    assert.equal(labelSet([]), null);
  });
});

describe('benchmark folders and task streams', () => {
  let root = '';
  const instances = (n: number, prefix: string, labels: string[]) =>
    JSON.stringify({ Definition: ['Classify the review.', 'Answer positive or negative.'], Instances: numbered(n).map((e, i) => ({ id: i, input: `${prefix}${e.input}`, output: [labels[i % labels.length]] })) }, null, 2);

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'clora-bench-'));
    for (const [task, labels] of [
      ['yelp', ['positive', 'negative']],
      ['amazon', ['good', 'bad']],
    ] as const) {
      mkdirSync(join(root, task));
      writeFileSync(join(root, task, 'train.json'), instances(12, 'train-', [...labels]));
      writeFileSync(join(root, task, 'dev.json'), instances(4, 'dev-', [...labels]));
      writeFileSync(join(root, task, 'test.json'), instances(6, 'test-', [...labels]));
    }
    mkdirSync(join(root, 'notest'));
    writeFileSync(join(root, 'notest', 'train.json'), instances(3, 'x', ['a']));
    mkdirSync(join(root, 'copy'));
    writeFileSync(join(root, 'copy', 'yelp.jsonl'), jsonl(numbered(5)));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a folder with train/dev/test JSON keeps its splits and takes the Definition as instruction', async () => {
    const { folder, files } = nodeDirTaskSources(join(root, 'yelp'));
    assert.equal(folder, 'yelp');
    assert.deepEqual(Object.keys(files).sort(), ['dev', 'test', 'train']);
    const t = await loadBenchmarkTask(folder, files);
    assert.equal(t.name, 'yelp');
    assert.equal(t.source, 'yelp');
    assert.equal(t.instruction, 'Classify the review. Answer positive or negative.');
    assert.equal(t.train.length, 12);
    assert.equal(t.dev.length, 4);
    assert.equal(t.test.length, 6);
    assert.deepEqual(t.train[1], { input: 'train-in1', output: 'negative' });
    assert.deepEqual(t.test[0], { input: 'test-in0', output: 'positive' });
    assert.deepEqual(t.labels, ['negative', 'positive']);
    const capped = await loadBenchmarkTask(folder, files, { maxTrain: 5, seed: 9 });
    assert.equal(capped.train.length, 5);
    assert.ok(capped.train.every((e) => e.input.startsWith('train-')));
  });

  test('train and test are required', async () => {
    const { folder, files } = nodeDirTaskSources(join(root, 'notest'));
    await assert.rejects(loadBenchmarkTask(folder, files), (e: unknown) => {
      assert.ok(e instanceof MissingFileError);
      assert.equal(e.message, 'test.json: not found in notest (a benchmark task folder needs train.json and test.json (dev.json is optional))');
      return true;
    });
    await assert.rejects(loadBenchmarkTask('empty', { test: bytesSource('test.json', '[]') }), { message: /^train\.json: not found in empty/ });
  });

  test('errors inside a benchmark file name the folder, the file and the line', async () => {
    const dir = join(root, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.json'), instances(3, 'x', ['a']));
    writeFileSync(join(dir, 'test.json'), '{"Definition": ["d"], "Instances": [\n{"input": "a", "output": ["b"]},\n{"input": "a", "output": [""]}\n]}');
    await assert.rejects(loadTasksFromPaths([dir]), { name: 'FormatError', message: 'broken/test.json:3: empty answer' });
  });

  test('paths load in the given order, files and folders mixed', async () => {
    const file = join(root, 'copy', 'yelp.jsonl');
    const folders = await loadTasksFromPaths([join(root, 'yelp'), join(root, 'amazon')]);
    assert.deepEqual(
      folders.map((t) => t.name),
      ['yelp', 'amazon'],
    );
    const mixed = await loadTasksFromPaths([join(root, 'amazon'), file], { seed: 2 });
    assert.deepEqual(
      mixed.map((t) => [t.name, t.source, t.train.length, t.test.length]),
      [
        ['amazon', 'amazon', 12, 6],
        ['yelp', 'yelp.jsonl', 4, 1],
      ],
    );
  });

  test('two tasks with the same name are refused, naming both sources, before anything is parsed', async () => {
    const file = join(root, 'copy', 'yelp.jsonl');
    await assert.rejects(loadTasksFromPaths([join(root, 'yelp'), join(root, 'amazon'), file]), {
      message: 'task name "yelp" is used twice: by yelp and by yelp.jsonl',
    });
    let pulled = false;
    const watched = { name: 'a.jsonl', size: null, async *stream() { pulled = true; yield new TextEncoder().encode(jsonl(numbered(3))); } };
    await assert.rejects(
      loadTaskStream([
        { kind: 'file', source: watched },
        { kind: 'file', source: bytesSource('b.csv', 'text,label\na,b\n'), name: 'a' },
      ]),
      { message: 'task name "a" is used twice: by a.jsonl and by b.csv' },
    );
    assert.equal(pulled, false);
    assert.throws(() => checkTaskNames([{ name: 't', source: 'one' }, { name: 'u', source: 'two' }, { name: 't', source: 'three' }]), {
      message: 'task name "t" is used twice: by one and by three',
    });
    assert.doesNotThrow(() => checkTaskNames([{ name: 't', source: 'one' }, { name: 'u', source: 'two' }]));
  });

  test('a missing path is reported', async () => {
    await assert.rejects(loadTasksFromPaths([join(root, 'nothing-here')]), MissingFileError);
  });
});

// Tests task inspection for the Tasks panel (previews, counts, labels, fields, errors) and the full load of panel inputs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesSource } from '../../src/data/byte-source.ts';
import { inspectTask, loadTaskInputs, PREVIEW_HOLD, PREVIEW_ROWS, type TaskInput, type TaskInspection, type TaskPreview } from '../../src/data/inspect.ts';
import { parseTaskFile } from '../../src/data/parse.ts';
import { DEFAULT_INSTRUCTION, labelSet, type Example } from '../../src/data/task.ts';
import { createRng, shuffled } from '../../src/model/rng.ts';

const jsonl = (records: object[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
const numbered = (n: number) => Array.from({ length: n }, (_, i) => ({ input: `in${i}`, output: i % 2 === 0 ? 'pos' : 'neg' }));

let ids = 0;
function fileInput(file: File, extra: Partial<TaskInput> = {}): TaskInput {
  const stem = file.name.replace(/\.[^.]*$/, '');
  return { id: `t${++ids}`, name: stem, kind: 'file', folder: null, files: [file], instruction: null, columns: null, ...extra };
}
function benchmarkInput(folder: string, files: File[], extra: Partial<TaskInput> = {}): TaskInput {
  return { id: `t${++ids}`, name: folder.slice(folder.lastIndexOf('/') + 1), kind: 'benchmark', folder, files, instruction: null, columns: null, ...extra };
}

function preview(r: TaskInspection): TaskPreview {
  if (!r.ok) assert.fail(`expected a preview, got the error: ${r.error}`);
  return r.preview;
}
function failure(r: TaskInspection): string {
  if (r.ok) assert.fail('expected an error, got a preview');
  return r.error;
}

/** The first training examples in file order, as the loaded task has them. */
function firstTrainInFileOrder(all: Example[], train: Example[], n = PREVIEW_ROWS): Example[] {
  const inTrain = new Set(train.map((e) => e.input));
  return all.filter((e) => inTrain.has(e.input)).slice(0, n);
}

describe('inspectTask: single files', () => {
  test('JSONL: counts, labels, fields, default instruction and the first training rows in file order', async () => {
    const records = numbered(20);
    const file = new File([jsonl(records)], 'sst2.jsonl');
    const input = fileInput(file);
    const p = preview(await inspectTask(input, { seed: 7 }));
    assert.equal(p.id, input.id);
    assert.equal(p.name, 'sst2');
    assert.equal(p.source, 'sst2.jsonl');
    assert.equal(p.format, 'jsonl');
    assert.deepEqual(p.counts, { train: 16, test: 4, dev: 0 });
    assert.deepEqual(p.labels, ['neg', 'pos']);
    assert.deepEqual(p.fields, { input: 'input', output: 'output', instruction: null, split: null });
    assert.equal(p.instruction, DEFAULT_INSTRUCTION);
    assert.equal(p.instructionFromData, false);
    assert.equal(p.bytes, file.size);
    assert.equal(p.rows.length, PREVIEW_ROWS);

    // The preview shows exactly what a run with the same seed trains on.
    const [task] = await loadTaskInputs([input], { seed: 7 });
    assert.equal(task.train.length, p.counts.train);
    assert.equal(task.test.length, p.counts.test);
    assert.deepEqual(p.rows, firstTrainInFileOrder(records, task.train));
    const again = preview(await inspectTask(input, { seed: 8, testFraction: 0.5 }));
    assert.deepEqual(again.counts, { train: 10, test: 10, dev: 0 });
    const [half] = await loadTaskInputs([input], { seed: 8, testFraction: 0.5 });
    assert.deepEqual(again.rows, firstTrainInFileOrder(records, half.train));
  });

  test('CSV with a text,label header', async () => {
    const csv = 'text,label\ngreat film,positive\ndull plot,negative\nloved it,positive\nhated it,negative\nfine,positive\n';
    const p = preview(await inspectTask(fileInput(new File([csv], 'reviews.csv'))));
    assert.equal(p.format, 'csv');
    assert.deepEqual(p.fields, { input: 'text', output: 'label', instruction: null, split: null });
    assert.deepEqual(p.counts, { train: 4, test: 1, dev: 0 });
    assert.deepEqual(p.labels, ['negative', 'positive']);
    assert.equal(p.rows.length, 4);
    for (const r of p.rows) assert.ok(csv.includes(`${r.input},${r.output}`));
  });

  test('a "split" column gives the counts, and the rows are the train-marked ones in order', async () => {
    const tsv = 'Sentence\tLabel\tSplit\nA\tx\ttest\nB\ty\ttrain\nC\tx\tdev\nD\ty\ttrain\nE\tx\ttrain\n';
    const p = preview(await inspectTask(fileInput(new File([tsv], 'cola.tsv'))));
    assert.equal(p.format, 'tsv');
    assert.deepEqual(p.fields, { input: 'Sentence', output: 'Label', instruction: null, split: 'Split' });
    assert.deepEqual(p.counts, { train: 3, test: 1, dev: 1 });
    assert.deepEqual(
      p.rows.map((r) => r.input),
      ['B', 'D', 'E'],
    );
    assert.deepEqual(p.labels, ['x', 'y']);
  });

  test('an instruction shared by every record is the data instruction; columns override the choice', async () => {
    const recs = [
      { instruction: 'Add.', question: '1 1', answer: '2', other: 'q' },
      { instruction: 'Add.', question: '2 2', answer: '4', other: 'r' },
      { instruction: 'Add.', question: '3 3', answer: '6', other: 's' },
    ];
    const file = new File([jsonl(recs)], 'add.jsonl');
    const p = preview(await inspectTask(fileInput(file)));
    assert.equal(p.instruction, 'Add.');
    assert.equal(p.instructionFromData, true);
    assert.deepEqual(p.fields, { input: 'question', output: 'answer', instruction: 'instruction', split: null });
    assert.equal(p.labels, null, 'answers seen once each are free text');
    const q = preview(await inspectTask(fileInput(file, { columns: { input: 'other' } })));
    assert.deepEqual(q.fields, { input: 'other', output: 'answer', instruction: 'instruction', split: null });
  });

  test('a JSON array: the fields are those of the first record', async () => {
    const recs = [{ Question: 'q1', Answer: 'a' }, { question: 'q2', answer: 'b' }, { Question: 'q3', Answer: 'a' }, { question: 'q4', answer: 'b' }];
    const p = preview(await inspectTask(fileInput(new File([JSON.stringify(recs)], 'qa.json'))));
    assert.equal(p.format, 'json');
    assert.deepEqual(p.fields, { input: 'Question', output: 'Answer', instruction: null, split: null });
    assert.deepEqual(p.labels, ['a', 'b']);
  });

  test('reports progress up to the file size', async () => {
    const file = new File([jsonl(numbered(50))], 'p.jsonl');
    const seen: [number, number | null][] = [];
    preview(await inspectTask(fileInput(file), { onProgress: (read, total) => seen.push([read, total]) }));
    assert.ok(seen.length > 0);
    assert.deepEqual(seen.at(-1), [file.size, file.size]);
  });
});

describe('inspectTask: benchmark folders', () => {
  const definition = { Definition: ['Classify the sentiment.', ' Answer positive or negative. '] };
  const instances = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, input: `${prefix} ${i}`, output: [i % 2 ? 'negative' : 'positive'] }));
  const bench = (name: string, n: number, prefix: string) => new File([JSON.stringify({ ...definition, Instances: instances(prefix, n) }, null, 1)], name);

  test('train/dev/test by base name (any case): counts, Definition, labels, fields, rows and bytes', async () => {
    const files = [bench('train.json', 8, 'tr'), bench('Dev.JSON', 2, 'dv'), bench('test.json', 4, 'te')];
    const total = files.reduce((sum, f) => sum + f.size, 0);
    const seen: number[] = [];
    const input = benchmarkInput('SuperNI/sst2', files);
    const onProgress = (read: number, total: number | null) => {
      assert.equal(total, total);
      seen.push(read);
    };
    const p = preview(await inspectTask(input, { onProgress }));
    assert.equal(p.name, 'sst2');
    assert.equal(p.source, 'SuperNI/sst2');
    assert.equal(p.format, 'benchmark');
    assert.deepEqual(p.counts, { train: 8, test: 4, dev: 2 });
    assert.equal(p.instruction, 'Classify the sentiment. Answer positive or negative.');
    assert.equal(p.instructionFromData, true);
    assert.deepEqual(p.labels, ['negative', 'positive']);
    assert.deepEqual(p.fields, { input: 'input', output: 'output', instruction: null, split: null });
    assert.deepEqual(
      p.rows.map((r) => r.input),
      ['tr 0', 'tr 1', 'tr 2', 'tr 3', 'tr 4'],
    );
    assert.equal(p.rows[1].output, 'negative');
    assert.equal(p.bytes, total);
    assert.equal(seen.at(-1), total);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], 'progress never goes back');

    const [task] = await loadTaskInputs([input]);
    assert.equal(task.name, 'sst2');
    assert.equal(task.source, 'SuperNI/sst2');
    assert.equal(task.train.length, 8);
    assert.equal(task.dev.length, 2);
    assert.equal(task.instruction, p.instruction);
  });

  test('a folder without test.json (or train.json) is an error naming the folder', async () => {
    const noTest = benchmarkInput('glue/rte', [bench('train.json', 4, 'a'), bench('dev.json', 2, 'b')]);
    const r = await inspectTask(noTest);
    assert.equal(r.ok, false);
    assert.match(failure(r), /^test\.json: not found in glue\/rte \(a benchmark task folder needs train\.json and test\.json/);
    if (!r.ok) assert.deepEqual([r.id, r.name, r.source], [noTest.id, 'rte', 'glue/rte']);
    assert.match(failure(await inspectTask(benchmarkInput('glue/rte', [bench('test.json', 4, 'a')]))), /^train\.json: not found in glue\/rte/);
    await assert.rejects(loadTaskInputs([noTest]), /test\.json: not found in glue\/rte/);
  });

  test('an error inside a benchmark file names the folder, the file and the line', async () => {
    const bad = new File(['{\n  "Definition": "x",\n  "Instances": [\n    {"input": "a", "output": ["b"]},\n    {"input": "c" "output": ["d"]}\n  ]\n}\n'], 'train.json');
    const err = failure(await inspectTask(benchmarkInput('tasks/qa', [bad, bench('test.json', 2, 't')])));
    assert.match(err, /^tasks\/qa\/train\.json:5: malformed JSON/);
  });
});

describe('inspectTask: errors come back, never thrown', () => {
  test('a malformed JSONL line: the message names the file and the line', async () => {
    const text = '{"input": "a", "output": "b"}\n{"input": "c", "output": "d"}\n{"input": "e", "output": \n';
    const input = fileInput(new File([text], 'bad.jsonl'));
    const r = await inspectTask(input);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.match(r.error, /^bad\.jsonl:3: malformed JSON line \(/);
    assert.equal(r.id, input.id);
    assert.equal(r.name, 'bad');
    assert.equal(r.source, 'bad.jsonl');
  });

  test('other problems: unsupported extension, too few examples, a split with no test, a missing column', async () => {
    assert.match(failure(await inspectTask(fileInput(new File(['x'], 'notes.txt')))), /^notes\.txt: unsupported extension "\.txt"/);
    assert.equal(failure(await inspectTask(fileInput(new File([jsonl(numbered(1))], 'one.jsonl')))), 'one.jsonl: needs at least 2 examples to split into train and test, found 1');
    assert.equal(
      failure(await inspectTask(fileInput(new File(['text,label,split\na,b,train\nc,d,dev\n'], 's.csv')))),
      's.csv: the "split" field marks no example as test',
    );
    assert.match(failure(await inspectTask(fileInput(new File(['foo,bar\n1,2\n'], 'cols.csv')))), /^cols\.csv:1: missing input column/);
    assert.match(failure(await inspectTask(fileInput(new File(['text,label\n1,2\n'], 'c.csv'), { columns: { input: 'nope' } }))), /missing column "nope"/);
    assert.match(failure(await inspectTask({ ...fileInput(new File(['x'], 'a.jsonl')), files: [] })), /exactly one file, got 0/);
  });

  test('a file that cannot be read is an error too', async () => {
    const unreadable = {
      name: 'gone.jsonl',
      size: 10,
      stream() {
        throw new Error('NotReadableError: the file changed');
      },
    } as unknown as File;
    assert.match(failure(await inspectTask(fileInput(unreadable))), /the file changed/);
  });
});

describe('loadTaskInputs', () => {
  const dataWithInstruction = jsonl(numbered(6).map((r) => ({ instruction: 'From the data.', ...r })));

  test('the row instruction overrides the data and the options; blank keeps them', async () => {
    const file = new File([dataWithInstruction], 'a.jsonl');
    const [own] = await loadTaskInputs([fileInput(file, { instruction: '  Say pos or neg. ' })], { instruction: 'From the options.' });
    assert.equal(own.instruction, 'Say pos or neg.');
    const [opt] = await loadTaskInputs([fileInput(file, { instruction: '   ' })], { instruction: 'From the options.' });
    assert.equal(opt.instruction, 'From the options.');
    const [data] = await loadTaskInputs([fileInput(file)]);
    assert.equal(data.instruction, 'From the data.');
  });

  test('loads in the given order with the row names, columns and the shared options', async () => {
    const a = fileInput(new File([jsonl(numbered(10))], 'a.jsonl'), { name: ' first ' });
    const b = fileInput(new File(['q,z\nx,1\ny,2\nw,1\n'], 'b.csv'), { name: 'second', columns: { input: 'q', output: 'z' } });
    const tasks = await loadTaskInputs([a, b], { maxTrain: 3, testFraction: 0.5 });
    assert.deepEqual(
      tasks.map((t) => [t.name, t.source, t.train.length]),
      [
        ['first', 'a.jsonl', 3],
        ['second', 'b.csv', 1],
      ],
    );
  });

  test('duplicate and empty names are refused before any file is read', async () => {
    let reads = 0;
    const counting = (name: string) =>
      ({
        name,
        size: 1,
        stream() {
          reads++;
          throw new Error('should not be read');
        },
      }) as unknown as File;
    const one = fileInput(counting('x.jsonl'), { name: 'same' });
    const two = benchmarkInput('dir/same', [counting('train.json'), counting('test.json')]);
    await assert.rejects(loadTaskInputs([one, two]), { message: 'task name "same" is used twice: by x.jsonl and by dir/same' });
    await assert.rejects(loadTaskInputs([fileInput(counting('y.jsonl'), { name: ' ' })]), /task 1 \(y\.jsonl\) has no name/);
    assert.equal(reads, 0);
  });
});

describe('inspectTask holds a bounded number of records', () => {
  test('rows, counts and labels match the whole file split in memory, for files far longer than the records held', async () => {
    // Labels: a small set, a set whose last value occurs once (no label set), and free text (over 50 values).
    const outputs = [(i: number) => ['a', 'b', 'c'][i % 3], (i: number, n: number) => (i === n - 1 ? 'lonely' : i % 2 ? 'x' : 'y'), (i: number) => `free ${i}`];
    for (const n of [3, 70, 500]) {
      for (const [k, out] of outputs.entries()) {
        const text = jsonl(Array.from({ length: n }, (_, i) => ({ input: `in${i}`, output: out(i, n) })));
        const all = (await parseTaskFile(bytesSource('t.jsonl', text))).examples;
        // 0.99 leaves one training example, usually past the records held, so the rows come from a second pass.
        for (const [seed, testFraction] of [[0, 0.2], [5, 0.5], [9, 0.99]] as const) {
          const p = preview(await inspectTask(fileInput(new File([text], `l${k}.jsonl`)), { seed, testFraction }));
          const nTest = Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
          const train = shuffled(all, createRng(seed)).slice(nTest);
          const where = `n=${n} labels ${k} seed ${seed} fraction ${testFraction}`;
          assert.deepEqual(p.counts, { train: n - nTest, test: nTest, dev: 0 }, where);
          assert.deepEqual(p.rows, firstTrainInFileOrder(all, train), where);
          assert.deepEqual(p.labels, labelSet(all), where);
        }
      }
    }
    assert.ok(PREVIEW_HOLD < 500);
  });
});

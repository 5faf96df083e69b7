// Tests the Tasks panel's pure helpers: grouping dropped files into tasks, walking dropped folders, and run readiness.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TaskInput, TaskInspection } from '../../src/data/inspect.ts';
import { SUPPORTED_EXTENSIONS } from '../../src/data/parse.ts';
import { collectDataTransfer, collectInputFiles, DATA_EXTENSIONS, groupDroppedFiles, type PathedFile } from '../../src/ui/datasets/group-files.ts';
import { columnsFromForm, dropTarget, duplicateNames, moveRow, rowState, tasksReady, truncateLabels, type TaskRow } from '../../src/ui/datasets/task-rows.ts';

const pathed = (...paths: string[]): PathedFile[] => paths.map((path) => ({ path, file: new File(['x'], path.slice(path.replace(/\\/g, '/').lastIndexOf('/') + 1)) }));
const summary = (inputs: TaskInput[]) => inputs.map((i) => ({ name: i.name, kind: i.kind, folder: i.folder, files: i.files.map((f) => f.name) }));

describe('groupDroppedFiles', () => {
  test('a file already among the tasks is refused with a word; a different file of the same name is added', () => {
    const first = groupDroppedFiles([{ path: 'spam.jsonl', file: new File(['a'], 'spam.jsonl', { lastModified: 1 }) }], []);
    const again = groupDroppedFiles([{ path: 'spam.jsonl', file: new File(['a'], 'spam.jsonl', { lastModified: 1 }) }], ['spam'], first.inputs);
    assert.deepEqual(again.inputs, []);
    assert.deepEqual(again.skipped, [{ path: 'spam.jsonl', reason: 'already added, as the task "spam"' }]);
    const edited = groupDroppedFiles([{ path: 'spam.jsonl', file: new File(['ab'], 'spam.jsonl', { lastModified: 2 }) }], ['spam'], first.inputs);
    assert.deepEqual(edited.inputs.map((i) => i.name), ['spam (2)']);
  });

  test('each data file is one task named by its stem, in drop order', () => {
    const { inputs, skipped } = groupDroppedFiles(pathed('sst2.jsonl', 'ag.news.CSV', 'cola.tsv', 'boolq.json'), []);
    assert.deepEqual(summary(inputs), [
      { name: 'sst2', kind: 'file', folder: null, files: ['sst2.jsonl'] },
      { name: 'ag.news', kind: 'file', folder: null, files: ['ag.news.CSV'] },
      { name: 'cola', kind: 'file', folder: null, files: ['cola.tsv'] },
      { name: 'boolq', kind: 'file', folder: null, files: ['boolq.json'] },
    ]);
    assert.deepEqual(skipped, []);
    for (const i of inputs) assert.deepEqual([i.instruction, i.columns], [null, null]);
    assert.equal(new Set(inputs.map((i) => i.id)).size, inputs.length, 'ids are unique');
  });

  test('benchmark folders at any depth are one task each, named by the folder', () => {
    const items = pathed(
      'SuperNI/sst2/train.json',
      'SuperNI/sst2/Dev.json',
      'SuperNI/sst2/TEST.json',
      'SuperNI/sst2/README.md',
      'SuperNI/sst2/extra.jsonl',
      'SuperNI/notes.jsonl',
      'deep/a/b/boolq/test.json',
      'deep/a/b/boolq/train.json',
      'deep/a/b/boolq/more/data.csv',
      'top/train.json',
      'train.json',
    );
    const { inputs, skipped } = groupDroppedFiles(items, []);
    assert.deepEqual(summary(inputs), [
      { name: 'sst2', kind: 'benchmark', folder: 'SuperNI/sst2', files: ['train.json', 'Dev.json', 'TEST.json'] },
      { name: 'notes', kind: 'file', folder: 'SuperNI', files: ['notes.jsonl'] },
      { name: 'boolq', kind: 'benchmark', folder: 'deep/a/b/boolq', files: ['test.json', 'train.json'] },
      { name: 'data', kind: 'file', folder: 'deep/a/b/boolq/more', files: ['data.csv'] },
      // A folder with only one of the two still becomes a benchmark task, so that reading it says what is missing.
      { name: 'top', kind: 'benchmark', folder: 'top', files: ['train.json'] },
      // A train.json on its own, outside any folder, is a plain file.
      { name: 'train', kind: 'file', folder: null, files: ['train.json'] },
    ]);
    assert.deepEqual(
      skipped.map((s) => s.path),
      ['SuperNI/sst2/README.md', 'SuperNI/sst2/extra.jsonl'],
    );
    assert.match(skipped[0].reason, /benchmark folder "SuperNI\/sst2" is read from train\.json, dev\.json and test\.json only/);
  });

  test('paths with backslashes or a leading "./" or "/" are normalised', () => {
    const { inputs } = groupDroppedFiles(pathed('.\\glue\\rte\\train.json', '/glue/rte/test.json', './x/y.tsv'), []);
    assert.deepEqual(summary(inputs), [
      { name: 'rte', kind: 'benchmark', folder: 'glue/rte', files: ['train.json', 'test.json'] },
      { name: 'y', kind: 'file', folder: 'x', files: ['y.tsv'] },
    ]);
  });

  test('other extensions and hidden files are reported as skipped with a reason, never dropped', () => {
    const items = pathed('notes.txt', 'model.safetensors', 'data/.DS_Store', 'Makefile', 'ok.jsonl', 'archive.jsonl.gz');
    const { inputs, skipped } = groupDroppedFiles(items, []);
    assert.deepEqual(
      inputs.map((i) => i.name),
      ['ok'],
    );
    assert.deepEqual(
      skipped.map((s) => s.path),
      ['notes.txt', 'model.safetensors', 'data/.DS_Store', 'Makefile', 'archive.jsonl.gz'],
    );
    assert.match(skipped[0].reason, /^\.txt files are not task data \(use \.jsonl, \.json, \.csv, \.tsv\)$/);
    assert.equal(skipped[2].reason, 'hidden file');
    assert.match(skipped[3].reason, /without an extension/);
    assert.equal(inputs.length + skipped.length, items.length);
  });

  test('names clashing with existing tasks or with each other get " (2)", " (3)", ...', () => {
    const { inputs } = groupDroppedFiles(pathed('sst2.jsonl', 'x/sst2.csv', 'sst2/train.json', 'sst2/test.json', 'mnli.tsv', 'other/mnli.json'), ['sst2', 'sst2 (2)']);
    assert.deepEqual(
      inputs.map((i) => i.name),
      ['sst2 (3)', 'sst2 (4)', 'sst2 (5)', 'mnli', 'mnli (2)'],
    );
  });

  test('the extensions match the parsers', () => {
    assert.deepEqual([...DATA_EXTENSIONS], [...SUPPORTED_EXTENSIONS]);
  });
});

describe('collecting files', () => {
  test('collectInputFiles uses webkitRelativePath when a folder was picked', () => {
    const loose = new File(['a'], 'a.jsonl');
    const inFolder = new File(['b'], 'train.json');
    Object.defineProperty(inFolder, 'webkitRelativePath', { value: 'glue/rte/train.json' });
    assert.deepEqual(
      collectInputFiles([loose, inFolder]).map((p) => p.path),
      ['a.jsonl', 'glue/rte/train.json'],
    );
  });

  /** Fake file-system entries as webkitGetAsEntry hands them out; folders answer readEntries in batches of two. */
  function fakeFile(fullPath: string): FileSystemFileEntry {
    const name = fullPath.slice(fullPath.lastIndexOf('/') + 1);
    return { isFile: true, isDirectory: false, name, fullPath, file: (ok: (f: File) => void) => ok(new File([fullPath], name)) } as unknown as FileSystemFileEntry;
  }
  function fakeDir(fullPath: string, children: FileSystemEntry[]): FileSystemDirectoryEntry {
    const name = fullPath.slice(fullPath.lastIndexOf('/') + 1);
    return {
      isFile: false,
      isDirectory: true,
      name,
      fullPath,
      createReader() {
        let at = 0;
        return {
          readEntries(ok: (entries: FileSystemEntry[]) => void) {
            const batch = children.slice(at, at + 2);
            at += batch.length;
            setTimeout(() => ok(batch), 0);
          },
        };
      },
    } as unknown as FileSystemDirectoryEntry;
  }

  test('collectDataTransfer walks dropped folders recursively, reading every batch, in name order', async () => {
    const tree = fakeDir('/bench', [
      fakeFile('/bench/z.csv'),
      fakeDir('/bench/task10', [fakeFile('/bench/task10/train.json'), fakeFile('/bench/task10/test.json')]),
      fakeDir('/bench/task2', [fakeFile('/bench/task2/test.json'), fakeFile('/bench/task2/train.json'), fakeFile('/bench/task2/dev.json')]),
      fakeFile('/bench/a.jsonl'),
      fakeDir('/bench/empty', []),
    ]);
    const looseFile = new File(['x'], 'loose.tsv');
    const items = [
      { kind: 'file', webkitGetAsEntry: () => tree, getAsFile: () => null },
      { kind: 'string', webkitGetAsEntry: () => null, getAsFile: () => null },
      { kind: 'file', webkitGetAsEntry: () => null, getAsFile: () => looseFile },
    ];
    const dt = { items, files: [] } as unknown as DataTransfer;
    const got = await collectDataTransfer(dt);
    assert.deepEqual(
      got.map((p) => p.path),
      ['loose.tsv', 'bench/a.jsonl', 'bench/task2/dev.json', 'bench/task2/test.json', 'bench/task2/train.json', 'bench/task10/test.json', 'bench/task10/train.json', 'bench/z.csv'],
    );
    assert.equal(await got[1].file.text(), '/bench/a.jsonl');
    assert.deepEqual(
      groupDroppedFiles(got, []).inputs.map((i) => i.name),
      ['loose', 'a', 'task2', 'task10', 'z'],
    );
  });

  test('collectDataTransfer falls back to dt.files without entries', async () => {
    const f = new File(['x'], 'only.jsonl');
    const got = await collectDataTransfer({ items: [], files: [f] } as unknown as DataTransfer);
    assert.deepEqual(got, [{ path: 'only.jsonl', file: f }]);
  });
});

describe('task rows', () => {
  let n = 0;
  const input = (name: string): TaskInput => ({ id: `r${++n}`, name, kind: 'file', folder: null, files: [], instruction: null, columns: null });
  const okInspection = (i: TaskInput): TaskInspection => ({
    ok: true,
    preview: {
      id: i.id,
      name: i.name,
      source: `${i.name}.jsonl`,
      format: 'jsonl',
      fields: null,
      instruction: 'x',
      instructionFromData: false,
      rows: [],
      labels: null,
      counts: { train: 1, test: 1, dev: 0 },
      bytes: 1,
    },
  });
  const ok = (name: string): TaskRow => {
    const i = input(name);
    return { input: i, inspection: okInspection(i) };
  };
  const failed = (name: string): TaskRow => {
    const i = input(name);
    return { input: i, inspection: { ok: false, id: i.id, name, source: `${name}.jsonl`, error: `${name}.jsonl:2: malformed JSON line` } };
  };
  const pending = (name: string): TaskRow => ({ input: input(name), inspection: 'pending' });

  test('tasksReady: at least one task, all read, unique non-empty names', () => {
    assert.deepEqual(tasksReady([]), { ok: false, problems: ['Add at least one task.'] });
    assert.deepEqual(tasksReady([ok('a'), ok('b')]), { ok: true, problems: [] });
    assert.deepEqual(tasksReady([ok('a'), pending('b'), failed('c')]), {
      ok: false,
      problems: ['Task "b" is still being read.', 'Task "c" could not be read.'],
    });
    assert.deepEqual(tasksReady([ok('a'), ok(' a '), ok('b'), ok('  ')]), {
      ok: false,
      problems: ['Task 4 has no name.', 'More than one task is named "a".'],
    });
  });

  test('rowState and duplicateNames', () => {
    assert.deepEqual([rowState(ok('a')), rowState(pending('b')), rowState(failed('c'))], ['ok', 'pending', 'error']);
    assert.deepEqual([...duplicateNames([ok('a'), ok('b'), ok('a '), ok(''), ok('')])], ['a']);
  });

  test('moveRow and dropTarget', () => {
    const rows = ['a', 'b', 'c', 'd'];
    assert.deepEqual(moveRow(rows, 0, 2), ['b', 'c', 'a', 'd']);
    assert.deepEqual(moveRow(rows, 3, -5), ['d', 'a', 'b', 'c']);
    assert.equal(moveRow(rows, 1, 1), rows);
    // Dragging "a" (0) onto "c" (2): before c lands between b and c, after c lands between c and d.
    assert.deepEqual(moveRow(rows, 0, dropTarget(0, 2, 'before')), ['b', 'a', 'c', 'd']);
    assert.deepEqual(moveRow(rows, 0, dropTarget(0, 2, 'after')), ['b', 'c', 'a', 'd']);
    // Dragging "d" (3) onto "b" (1).
    assert.deepEqual(moveRow(rows, 3, dropTarget(3, 1, 'before')), ['a', 'd', 'b', 'c']);
    assert.deepEqual(moveRow(rows, 3, dropTarget(3, 1, 'after')), ['a', 'b', 'd', 'c']);
    assert.equal(moveRow(rows, 2, dropTarget(2, 2, 'after')), rows);
  });

  test('truncateLabels', () => {
    assert.deepEqual(truncateLabels(['a', 'b'], 3), { shown: ['a', 'b'], more: 0 });
    assert.deepEqual(truncateLabels(['a', 'b', 'c', 'd', 'e'], 3), { shown: ['a', 'b', 'c'], more: 2 });
  });

  test('columnsFromForm: blank fields are automatic, names are trimmed, all blank is no mapping', () => {
    assert.deepEqual(columnsFromForm({ input: ' text ', output: 'label', instruction: '' }), { input: 'text', output: 'label' });
    assert.equal(columnsFromForm({ input: ' ', output: '', instruction: '' }), null);
  });
});

// Experiment files in and out of the app, without a GPU: an exported run unpacks to an experiment.json that
// parseExperiment accepts with the run's settings, its task files at relative paths and its model named as `clora run`
// finds it; importing it (as a zip or a dropped folder) gives the settings and files back; task paths resolve relative to
// the experiment file, and a missing or escaping path is refused naming it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { parseExperiment } from '../../src/cl/experiment.ts';
import { memoryStorage } from '../../src/cl/storage.ts';
import type { PathedFile } from '../../src/io/files.ts';
import { bundledName, exportedTaskPaths, exportRun, importExperiment, joinRelative, unzipFiles } from '../../src/worker/experiment-files.ts';
import type { RunRecord, RunSettings } from '../../src/worker/run-job.ts';
import { storeTaskInputs, type StoredTask } from '../../src/worker/task-files.ts';
import type { TaskInput } from '../../src/data/inspect.ts';
import { bundledModelNamed } from '../../src/cli/bundled-model.ts';

const SETTINGS: RunSettings = {
  methods: [{ method: 'seqlora', name: 'seqlora', options: {} }, { method: 'ewc', name: 'ewc-strong', options: { lambda: 9000 } }],
  seed: 3, steps: 2, epochs: null, batchSize: 4, lr: 5e-3, maxLength: 48, maxNewTokens: 3,
  lora: { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, evaluateUnseen: true, testFraction: 0.25, maxTrain: null, maxTest: 6,
  recompute: 'auto', memoryBudgetMiB: 'auto', chat: { enableThinking: false, date: '2026-01-01' },
};

const jsonl = (rows: [string, string][]) => rows.map(([i, o]) => JSON.stringify({ input: i, output: o })).join('\n') + '\n';
const pathed = (entries: Record<string, string>): PathedFile[] => Object.entries(entries).map(([path, text]) => ({ path, file: new File([text], path.split('/').pop()!) }));

async function storedRun(model: RunRecord['model'], tasks: TaskInput[]) {
  const root = memoryStorage('db');
  const kept = await storeTaskInputs(root, tasks);
  await root.commit(kept.files);
  const record: RunRecord = {
    id: 'run-1', title: 'Three tasks / two methods', created: 1, updated: 1, status: 'done', error: null, model, modelLabel: 'tiny-random',
    tasks: tasks.map((t) => t.name), taskFiles: kept.tasks, settings: SETTINGS, done: 1,
  };
  return { root, record };
}

const TASKS: TaskInput[] = [
  { id: '1', name: 'alpha', kind: 'file', folder: 'stream', files: [new File([jsonl([['a', 'x'], ['b', 'y']])], 'alpha.jsonl')], instruction: 'Answer x or y.', columns: null },
  // Another file of the same name, from another folder: it must not overwrite the first in the zip.
  { id: '2', name: 'alpha-2', kind: 'file', folder: 'other', files: [new File([jsonl([['c', 'x'], ['d', 'y']])], 'alpha.jsonl')], instruction: null, columns: { input: 'input', output: 'output' } },
  { id: '3', name: 'bench', kind: 'benchmark', folder: 'sets/bench', files: [new File(['{"Definition": ["d"], "Instances": []}'], 'train.json'), new File(['{"Definition": ["d"], "Instances": []}'], 'test.json')], instruction: null, columns: null },
];

describe('experiment export and import', () => {
  it('exports a run as experiment.json and its task files, which import gives back', async () => {
    const { root, record } = await storedRun({ kind: 'bundled', url: 'http://127.0.0.1:4173/models/tiny-random/', label: 'tiny-random (bundled)' }, TASKS);
    const out = await exportRun(root, record);
    assert.equal(out.fileName, 'Three-tasks-two-methods.zip');
    const files = unzipSync(out.bytes);
    assert.deepEqual(Object.keys(files).sort(), ['experiment.json', 'tasks/2/alpha.jsonl', 'tasks/alpha.jsonl', 'tasks/bench/test.json', 'tasks/bench/train.json']);
    const json = JSON.parse(new TextDecoder().decode(files['experiment.json'])) as Record<string, unknown>;
    assert.equal(json.model, 'tiny-random', 'a bundled model goes by its name');
    assert.deepEqual(json.tasks, [
      { path: 'tasks/alpha.jsonl', name: 'alpha', instruction: 'Answer x or y.' },
      { path: 'tasks/2/alpha.jsonl', name: 'alpha-2', columns: { input: 'input', output: 'output' } },
      { path: 'tasks/bench', name: 'bench' },
    ]);
    // What `clora run` validates, with the run's settings.
    const { model: _m, tasks: _t, ...settings } = parseExperiment(json, 'experiment.json');
    assert.deepEqual(settings, SETTINGS);
    assert.equal(new TextDecoder().decode(files['tasks/2/alpha.jsonl']), await TASKS[1].files[0].text());

    // Import of the zip itself and of the unpacked folder, dropped with its folder name.
    for (const [from, dropped] of [
      ['run.zip', [{ path: 'run.zip', file: new File([out.bytes as Uint8Array<ArrayBuffer>], 'run.zip') }]],
      ['a dropped folder', Object.entries(files).map(([p, d]) => ({ path: `export/${p}`, file: new File([d as Uint8Array<ArrayBuffer>], p.split('/').pop()!) }))],
    ] as [string, PathedFile[]][]) {
      const list = dropped.length === 1 ? unzipFiles(new Uint8Array(await dropped[0].file.arrayBuffer()), 'run.zip') : dropped;
      const imported = await importExperiment(list, from);
      assert.deepEqual(imported.settings, SETTINGS, from);
      assert.equal(imported.model, 'tiny-random');
      assert.deepEqual(imported.tasks.map((t) => [t.name, t.kind, t.instruction, t.columns, t.files.map((f) => f.name).sort()]), [
        ['alpha', 'file', 'Answer x or y.', null, ['alpha.jsonl']],
        ['alpha-2', 'file', null, { input: 'input', output: 'output' }, ['alpha.jsonl']],
        ['bench', 'benchmark', null, null, ['test.json', 'train.json']],
      ], from);
      assert.equal(await imported.tasks[1].files[0].text(), await TASKS[1].files[0].text());
    }
  });

  it('names the model as clora run finds it: none for the demo, repo@commit for the Hub, the files of a small picked model', async () => {
    const demo = await storedRun({ kind: 'bundled', url: 'http://h/models/demo/', label: 'demo' }, TASKS.slice(0, 1));
    assert.equal('model' in JSON.parse(new TextDecoder().decode(unzipSync((await exportRun(demo.root, demo.record)).bytes)['experiment.json'])), false);
    const picked = await storedRun({ kind: 'cached', id: 'tiny-1' }, TASKS.slice(0, 1));
    await picked.root.commit({
      'models/tiny-1/model.json': JSON.stringify({ id: 'tiny-1', label: 'tiny', origin: 'files', files: ['config.json', 'model.safetensors'], bytes: 7, saved: 0 }),
      'models/tiny-1/config.json': '{}', 'models/tiny-1/model.safetensors': 'weights',
    });
    const zip = unzipSync((await exportRun(picked.root, picked.record)).bytes);
    assert.equal(JSON.parse(new TextDecoder().decode(zip['experiment.json'])).model, 'model');
    assert.equal(new TextDecoder().decode(zip['model/model.safetensors']), 'weights');
    const hub = await storedRun({ kind: 'cached', id: 'hub-1' }, TASKS.slice(0, 1));
    await hub.root.commit({ 'models/hub-1/model.json': JSON.stringify({ id: 'hub-1', label: 'org/m', origin: `hub:org/m@${'a'.repeat(40)}`, files: [], bytes: 1e12, saved: 0 }) });
    assert.equal(JSON.parse(new TextDecoder().decode(unzipSync((await exportRun(hub.root, hub.record)).bytes)['experiment.json'])).model, `org/m@${'a'.repeat(40)}`);
    assert.equal(bundledName('http://127.0.0.1:5173/app/models/tiny-random/'), 'tiny-random');
    assert.ok(bundledModelNamed('tiny-random')?.endsWith('public/models/tiny-random'), '`clora run` finds the bundled model by that name');
    assert.equal(bundledModelNamed('no-such-model'), null);
    const old = { ...demo.record, taskFiles: undefined };
    await assert.rejects(exportRun(demo.root, old), /stored before runs kept their task files/);
  });

  it('resolves task paths relative to the experiment file and names a missing or escaping one', async () => {
    const exp = (tasks: unknown[]) => JSON.stringify({ tasks, methods: ['seqlora'], steps: 1 });
    const files = pathed({
      'study/conf/experiment.json': exp(['../data/a.jsonl', { path: 'bench', name: 'b' }]),
      'study/data/a.jsonl': jsonl([['a', 'x'], ['b', 'y']]),
      'study/conf/bench/train.json': '{}', 'study/conf/bench/test.json': '{}', 'study/conf/bench/notes.txt': 'x',
    });
    const imported = await importExperiment(files, 'the dropped folder');
    assert.equal(imported.file, 'study/conf/experiment.json');
    assert.deepEqual(imported.tasks.map((t) => [t.name, t.kind, t.folder, t.files.map((f) => f.name).sort()]), [
      ['a', 'file', 'study/data', ['a.jsonl']], ['b', 'benchmark', 'study/conf/bench', ['test.json', 'train.json']],
    ]);
    const missing = pathed({ 'x/experiment.json': exp(['a.jsonl', 'data/missing.jsonl']), 'x/a.jsonl': 'a' });
    await assert.rejects(importExperiment(missing, 'the dropped folder'), /x\/experiment\.json: tasks\[1\] "data\/missing\.jsonl": no such file or folder in the dropped folder/);
    await assert.rejects(importExperiment(pathed({ 'experiment.json': exp(['../../a.jsonl']) }), 'e.zip'), /tasks\[0\] "\.\.\/\.\.\/a\.jsonl" points outside e\.zip/);
    await assert.rejects(importExperiment(pathed({ 'experiment.json': exp(['/home/me/a.jsonl']) }), 'e.zip'), /absolute path/);
    await assert.rejects(importExperiment(pathed({ 'experiment.json': JSON.stringify({ tasks: ['a.jsonl'], methods: ['nope'], steps: 1 }), 'a.jsonl': 'a' }), 'e.zip'), /experiment\.json: "methods\[0\]" names unknown method "nope"/);
    await assert.rejects(importExperiment(pathed({ 'a.jsonl': 'a' }), 'e.zip'), /e\.zip: no experiment file/);
    // Without an experiment.json, the JSON file with tasks and methods is the experiment.
    const other = await importExperiment(pathed({ 'run/setup.json': exp(['a.jsonl']), 'run/a.jsonl': 'a' }), 'drop');
    assert.equal(other.file, 'run/setup.json');
    assert.throws(() => unzipFiles(strToU8('not a zip'), 'bad.zip'), /bad\.zip: not a readable zip file/);
    assert.equal(Object.keys(unzipSync(zipSync({ 'a/b.txt': strToU8('x') }))).length, 1);
    assert.equal(joinRelative('a/b', '../c/./d'), 'a/c/d');
    assert.equal(joinRelative('', '../c'), null);
  });

  it('gives each exported task its own paths', () => {
    const t = (name: string, file: string, kind: StoredTask['kind'] = 'file', folder: string | null = null): StoredTask =>
      ({ name, kind, folder, files: [{ name: file, sha256: name, size: 1 }], instruction: null, columns: null });
    assert.deepEqual(exportedTaskPaths([t('a', 'x.jsonl'), t('b', 'x.jsonl'), t('c', 'train.json', 'benchmark', 'p/x.jsonl'), t('d', 'y.csv')]).map((p) => p.path),
      ['tasks/x.jsonl', 'tasks/2/x.jsonl', 'tasks/3/x.jsonl', 'tasks/y.csv']);
  });
});

// A run is its experiment file, on real WebGPU with IndexedDB (fake-indexeddb): the app's run path keeps the task files
// with the run by content, runs again from them alone to the same numbers, and its export, unpacked and given to the
// built `clora run`, reproduces the app's matrices on the same driver (both Dawn here); deleting the runs frees the files.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import type { RunResults } from '../../src/cl/runner.ts';
import { readJsonFile } from '../../src/cl/storage.ts';
import type { TaskInput } from '../../src/data/inspect.ts';
import { Session } from '../../src/engine/session.ts';
import type { Gpu } from '../../src/gpu/context.ts';
import type { FileSource } from '../../src/io/files.ts';
import { openAppDatabase, type AppDatabase } from '../../src/storage/idb-storage.ts';
import type { ModelChoice } from '../../src/worker/model-store.ts';
import { exportRun } from '../../src/worker/experiment-files.ts';
import { deleteRunAndFiles } from '../../src/worker/run-removal.ts';
import { readRunRecord, RunController, type RunHost, type RunSettings } from '../../src/worker/run-job.ts';
import { TASK_FILES, taskInputsOf } from '../../src/worker/task-files.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { ROOT, TINY_MODEL } from '../helpers/clora-run.ts';
import { conflictingStream } from '../helpers/streams.ts';

const SETTINGS: RunSettings = {
  methods: [{ method: 'seqlora', name: 'seqlora', options: {} }, { method: 'inclora', name: 'inclora', options: {} }],
  seed: 1, steps: 8, epochs: null, batchSize: 4, lr: 5e-2, maxLength: 48, maxNewTokens: 3,
  lora: { rank: 4, alpha: 8, dropout: 0.05, targets: ['q_proj', 'v_proj'] }, evaluateUnseen: false, testFraction: 0.25, maxTrain: null, maxTest: 6,
  recompute: 'auto', memoryBudgetMiB: 'auto', chat: { enableThinking: false, date: '2026-01-01' },
};

function modelChoice(): ModelChoice {
  const files = readdirSync(TINY_MODEL).map((name) => ({ path: `tiny-random/${name}`, file: new File([readFileSync(join(TINY_MODEL, name))], name) }));
  return { kind: 'files', files, label: 'tiny-random' };
}

describe('runs reproduced from their stored files and their export (WebGPU, IndexedDB)', () => {
  let gpu: Gpu;
  let db: AppDatabase;
  let host: RunHost;
  const sessions: Session[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'clora-repro-'));
  const inputs: TaskInput[] = conflictingStream(dir, 5, undefined, 24).map((rel, i) => ({
    id: `t${i}`, name: rel.split('/').pop()!.replace('.jsonl', ''), kind: 'file', folder: 'data',
    files: [new File([readFileSync(join(dir, rel))], rel.split('/').pop()!)], instruction: null, columns: null,
  }));

  before(async () => {
    gpu = await testGpu();
    db = await openAppDatabase({ factory: new IDBFactory() });
    host = {
      db, device: 'test',
      session: async (_key: string, source: FileSource, seed: number) => {
        const s = await Session.open(gpu, source, { baseOnly: true, seed });
        sessions.push(s);
        return s;
      },
    };
  });

  after(async () => {
    for (const s of sessions) s.destroy();
    db?.close();
    await releaseTestGpu();
  });

  const matrices = (r: RunResults) => Object.fromEntries(Object.entries(r.methods).map(([m, v]) => [m, v.matrix]));

  it('keeps the task files with the run, runs it again from them alone, and clora run of its export gives the same matrices', { timeout: 30 * 60_000 }, async () => {
    const first = await new RunController(host).start({ title: 'three tasks', model: modelChoice(), tasks: inputs, settings: SETTINGS }, () => {});
    assert.equal(first.status, 'done');
    assert.deepEqual(first.taskFiles!.map((t) => [t.name, t.files[0].name, t.files[0].size]), inputs.map((t) => [t.name, t.files[0].name, t.files[0].size]));
    assert.equal((await db.storage().list(TASK_FILES)).length, 3);
    const firstResults = (await readJsonFile<RunResults>(db.storage(`runs/${first.id}`), 'results.json'))!;

    // Run again: the stored files alone, no new drop; the same numbers, and no second copy of any file.
    const again = await new RunController(host).start({
      title: 'three tasks (again)', model: first.model, tasks: await taskInputsOf(db.storage(), first.taskFiles!, 'run'), settings: first.settings,
    }, () => {});
    assert.deepEqual(again.taskFiles!.map((t) => t.files[0].sha256), first.taskFiles!.map((t) => t.files[0].sha256));
    assert.equal((await db.storage().list(TASK_FILES)).length, 3, 'deduplicated by content');
    const againResults = (await readJsonFile<RunResults>(db.storage(`runs/${again.id}`), 'results.json'))!;
    assert.deepEqual(matrices(againResults), matrices(firstResults));

    // The export, unpacked, is what `clora run` takes; its matrices are the app's.
    const exported = await exportRun(db.storage(), (await readRunRecord(db.storage('runs'), first.id))!);
    assert.equal(exported.fileName, 'three-tasks.zip');
    const unpacked = join(dir, 'export');
    for (const [path, data] of Object.entries(unzipSync(exported.bytes))) {
      mkdirSync(dirname(join(unpacked, path)), { recursive: true });
      writeFileSync(join(unpacked, path), data);
    }
    const out = join(dir, 'cli-out');
    const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', 'experiment.json', '--out', out, '--quiet'], { cwd: unpacked, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    const cli = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    assert.deepEqual(cli.tasks.map((t) => t.name), firstResults.tasks.map((t) => t.name));
    assert.deepEqual(matrices(cli), matrices(firstResults), 'the same matrices from the CLI on the export');
    // Not a vacuous match: at this learning rate the tiny random model gets some answers right.
    assert.ok(Object.values(firstResults.methods).some((m) => m.matrix!.flat().some((v) => v !== null && v > 0)), JSON.stringify(matrices(firstResults)));
    for (const m of Object.keys(firstResults.methods)) assert.deepEqual(cli.methods[m].samples, firstResults.methods[m].samples, `${m}: the same predictions`);
    // The losses on the way, step by step: the same kernels on the same driver give the same numbers.
    let worst = 0;
    for (const m of Object.keys(firstResults.methods)) {
      const a = firstResults.methods[m].losses;
      const b = cli.methods[m].losses;
      assert.equal(b.length, a.length);
      a.forEach((l, i) => { worst = Math.max(worst, Math.abs(l.loss - b[i].loss)); });
    }
    console.log(`largest loss difference, app path against clora run of the export: ${worst}`);
    assert.ok(worst <= 1e-6, `losses differ by ${worst}`);

    // Deleting the first run keeps the files the second names; deleting the last frees them.
    assert.deepEqual(await deleteRunAndFiles(db, first.id), []);
    assert.equal((await db.storage().list(TASK_FILES)).length, 3);
    assert.equal((await deleteRunAndFiles(db, again.id)).length, 3);
    assert.deepEqual(await db.storage().list(TASK_FILES), []);
  });
});

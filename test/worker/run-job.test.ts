// The worker's run controller on real WebGPU with IndexedDB (fake-indexeddb in Node): a run keeps its model,
// tasks, record and results in the database, pauses between steps, is cancelled and then resumed to the same
// numbers as an uninterrupted run, a destroyed device stops it as resumable (interrupted) and a failure of its own as
// failed, a run deleted meanwhile stops without recreating its files, and its trained methods answer in the playground (EWC also through onnxruntime-web).
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResults } from '../../src/cl/runner.ts';
import { readJsonFile } from '../../src/cl/storage.ts';
import type { TaskInput } from '../../src/data/inspect.ts';
import { Session } from '../../src/engine/session.ts';
import { Gpu, requestDevice, summarizeAdapter } from '../../src/gpu/context.ts';
import type { FileSource } from '../../src/io/files.ts';
import { openAppDatabase, type AppDatabase } from '../../src/storage/idb-storage.ts';
import { listCachedModels, type ModelChoice } from '../../src/worker/model-store.ts';
import { PlaygroundAnswerer } from '../../src/cl/playground-backend.ts';
import { wasmDecoderFactory } from '../../src/ort/ort-decoder.ts';
import { nodeWasmOrt } from '../../src/ort/node-ort.ts';
import { listRunRecords, openRunMethod, RunController, type RunEvent, type RunHost, type RunSettings } from '../../src/worker/run-job.ts';
import { nodeGpuInstance } from '../../src/gpu/node-device.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { TINY_MODEL } from '../helpers/clora-run.ts';
import { CONFLICTING_TASKS } from '../helpers/streams.ts';

/** Two conflicting tasks as browser Files (Node 20 has File). */
function taskInputs(): TaskInput[] {
  const inputs = ['zap', 'mog', 'kiv', 'tud'];
  return CONFLICTING_TASKS.slice(0, 2).map((t, k) => {
    const lines = Array.from({ length: 16 }, (_, i) => JSON.stringify({ instruction: t.instruction, input: inputs[i % 4], output: t.labels[(i + k) % 2] }));
    return { id: `t${k}`, name: t.name, kind: 'file', folder: null, files: [new File([lines.join('\n') + '\n'], `${t.name}.jsonl`)], instruction: null, columns: null };
  });
}

const SETTINGS: RunSettings = {
  methods: [{ method: 'ewc', name: 'ewc', options: { fisherBatches: 1 } }, { method: 'sapt', name: 'sapt', options: { bottleneck: 8 } }],
  seed: 2, steps: 2, epochs: null, batchSize: 4, lr: 5e-3, maxLength: 48, maxNewTokens: 3,
  lora: { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, evaluateUnseen: false, testFraction: 0.25, maxTrain: null, maxTest: null,
};

function modelChoice(): ModelChoice {
  const files = readdirSync(TINY_MODEL).map((name) => ({ path: `tiny-random/${name}`, file: new File([readFileSync(join(TINY_MODEL, name))], name) }));
  return { kind: 'files', files, label: 'tiny-random' };
}

describe('run controller (WebGPU, IndexedDB)', () => {
  let gpu: Gpu;
  let db: AppDatabase;
  let host: RunHost;
  const sessions: Session[] = [];

  before(async () => {
    gpu = await testGpu();
    db = await openAppDatabase({ factory: new IDBFactory() });
    // A fresh session per run, as a reloaded page would have.
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

  let reference: RunResults | null = null;

  it('runs a stream with the model and tasks copied into the database, and records it', { timeout: 20 * 60_000 }, async () => {
    const events: RunEvent[] = [];
    const record = await new RunController(host).start({ title: 'reference', model: modelChoice(), tasks: taskInputs(), settings: SETTINGS }, (e) => events.push(e));
    assert.equal(record.status, 'done');
    assert.equal(record.done, 1);
    assert.deepEqual(record.tasks, ['alpha', 'beta']);
    assert.equal(record.model.kind, 'cached', 'picked files are kept in the database');
    const models = await listCachedModels(db.storage());
    assert.equal(models.length, 1);
    assert.deepEqual(models[0].files.slice().sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    reference = await readJsonFile<RunResults>(db.storage(`runs/${record.id}`), 'results.json');
    assert.ok(reference);
    for (const m of ['ewc', 'sapt']) assert.ok(reference.methods[m].matrix![1].every((v) => v !== null), `${m}: full matrix`);
    const progress = events.filter((e) => e.type === 'progress');
    assert.ok(progress.length >= 8, 'a progress event per step and evaluation');
    assert.ok(events.some((e) => e.type === 'results'), 'results after every task');
    const trained = await openRunMethod(host, record.id, 'sapt');
    const answer = await trained.answer('zap', 1);
    assert.equal(answer.stage, 1);
    assert.equal(answer.weights!.length, 2, 'the selector weighs both task modules');
    assert.ok(Math.abs(answer.weights!.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    // SAPT through onnxruntime-web (wasm): the model exported with its blocks and router gives the engine's answer, and
    // its in-graph routing the engine's weights. A clock that charges the engine an hour per answer makes onnxruntime
    // the one that answers, so the weights reported are onnxruntime's.
    let clock = 0;
    const slowEngine = { ...trained, generate: async (prompt: number[], task: number) => { clock += 3_600_000; return trained.generate(prompt, task); } };
    const saptAnswerer = new PlaygroundAnswerer(slowEngine, {
      model: trained.model, ort: async () => wasmDecoderFactory(await nodeWasmOrt()), timing: { warmup: 0, minMs: 0, maxIters: 1, now: () => clock },
    });
    const viaOrt = await saptAnswerer.answer('zap', 1);
    assert.equal(viaOrt.backend!.backend, 'onnxruntime', JSON.stringify(viaOrt.backend));
    assert.equal(viaOrt.text, answer.text);
    assert.equal(viaOrt.backend!.exportedWith, 'its task LoRAs and its selector, routed per prompt');
    assert.equal(viaOrt.weights!.length, 2);
    viaOrt.weights!.forEach((w, j) => assert.ok(Math.abs(w - answer.weights![j]) < 1e-5, `block ${j}: onnxruntime's ${w} against the engine's ${answer.weights![j]}`));
    await saptAnswerer.dispose();

    // EWC answers with one adapter: the playground's comparison runs it through onnxruntime-web too (wasm here), on the
    // model exported with that adapter merged, and both backends give the engine's answer.
    const ewc = await openRunMethod(host, record.id, 'ewc');
    const engineAnswer = await ewc.answer('zap', 1);
    assert.equal(engineAnswer.backend, null);
    const answerer = new PlaygroundAnswerer(ewc, {
      model: ewc.model, ort: async () => wasmDecoderFactory(await nodeWasmOrt()), timing: { warmup: 0, minMs: 0, maxIters: 1 },
    });
    const compared = await answerer.answer('zap', 1);
    assert.equal(compared.text, engineAnswer.text);
    const report = compared.backend!;
    assert.ok(report.engineMs! > 0 && report.ortMs! > 0, JSON.stringify(report));
    assert.doesNotMatch(report.reason, /differed|could not run/);
    assert.deepEqual(report.comparedOn, { promptTokens: ewc.prompt('zap', 1).length, maxNewTokens: 3 });
    assert.equal(report.exportedWith, 'its one LoRA merged');
    await answerer.dispose();
  });

  it('pauses between steps, is cancelled, and resumes to the uninterrupted numbers', { timeout: 20 * 60_000 }, async () => {
    const controller = new RunController(host);
    let steps = 0;
    let pausedAt = -1;
    const run = controller.start({ title: 'stopped', model: modelChoice(), tasks: taskInputs(), settings: SETTINGS }, (e) => {
      if (e.type !== 'progress' || e.progress.phase !== 'train') return;
      steps++;
      // Pause during SAPT's second task, check that nothing moves, then cancel.
      if (e.progress.method === 'sapt' && e.progress.task === 1 && pausedAt < 0) {
        pausedAt = steps;
        void (async () => {
          await controller.setPaused(true);
          const before = steps;
          await new Promise((r) => setTimeout(r, 3000));
          assert.ok(steps <= before + 1, 'at most the step in flight finishes while paused');
          controller.cancel();
        })();
      }
    });
    const stopped = await run;
    assert.equal(stopped.status, 'cancelled');
    assert.ok(pausedAt > 0);
    const resumed = await new RunController(host).resume(stopped.id, () => {});
    assert.equal(resumed.status, 'done');
    const results = await readJsonFile<RunResults>(db.storage(`runs/${stopped.id}`), 'results.json');
    for (const m of ['ewc', 'sapt']) {
      assert.deepEqual(results!.methods[m].losses, reference!.methods[m].losses, `${m}: losses`);
      assert.deepEqual(results!.methods[m].matrix, reference!.methods[m].matrix, `${m}: matrix`);
      assert.deepEqual(results!.methods[m].routing, reference!.methods[m].routing, `${m}: routing`);
    }
  });

  it('stops a run whose GPU device is destroyed as interrupted, and resumes it on a new device to the same numbers', { timeout: 20 * 60_000 }, async () => {
    // A device of its own, destroyed mid-run as a page's code or the browser would: its steps then fail with
    // whatever the failing call says ("Buffer was unmapped before mapping was resolved" in Chromium), and the
    // run is classified by the device's lost state, not by that text.
    // From the suite's Dawn instance: a second instance would drop the first, whose device then stops answering.
    const adapter = await nodeGpuInstance().requestAdapter({ powerPreference: 'high-performance' });
    assert.ok(adapter, 'a second device from the test adapter');
    const doomed = new Gpu(await requestDevice(adapter), summarizeAdapter(adapter));
    const doomedHost: RunHost = {
      db, device: 'test',
      session: async (_key: string, source: FileSource, seed: number) => {
        const s = await Session.open(doomed, source, { baseOnly: true, seed });
        sessions.push(s);
        return s;
      },
    };
    let destroyedAt: string | null = null;
    const run = new RunController(doomedHost).start({ title: 'destroyed device', model: modelChoice(), tasks: taskInputs(), settings: SETTINGS }, (e) => {
      // Destroyed while SAPT evaluates its first task: EWC is finished and committed, SAPT has a checkpoint after task 1.
      if (e.type === 'progress' && e.progress.method === 'sapt' && e.progress.phase === 'eval' && destroyedAt === null) {
        destroyedAt = `${e.progress.method} task ${e.progress.task}`;
        doomed.device.destroy();
      }
    });
    await assert.rejects(run, /^Error: the GPU device was lost \(destroyed: .*\); resume the run to continue from its last checkpoint$/);
    assert.equal(destroyedAt, 'sapt task 0');
    const record = (await listRunRecords(db.storage('runs'))).find((r) => r.title === 'destroyed device')!;
    assert.equal(record.status, 'interrupted');
    assert.match(record.error!, /^the GPU device was lost \(destroyed: .*\); resume the run/);
    assert.ok(record.done > 0 && record.done < 1, `part done: ${record.done}`);
    const resumed = await new RunController(host).resume(record.id, () => {});
    assert.equal(resumed.status, 'done');
    const results = await readJsonFile<RunResults>(db.storage(`runs/${record.id}`), 'results.json');
    for (const m of ['ewc', 'sapt']) {
      assert.deepEqual(results!.methods[m].losses, reference!.methods[m].losses, `${m}: losses as in the uninterrupted run`);
      assert.deepEqual(results!.methods[m].matrix, reference!.methods[m].matrix, `${m}: matrix as in the uninterrupted run`);
    }
  });

  it('stops a run whose record is deleted mid-run with a clear message, recreating none of its files', { timeout: 20 * 60_000 }, async () => {
    // Another tab deleting the run (here straight through storage, as Node has no Web Locks to refuse it): the
    // training tab's next commit is refused in the commit's own transaction.
    let id: string | null = null;
    const run = new RunController(host).start({ title: 'deleted meanwhile', model: modelChoice(), tasks: taskInputs(), settings: SETTINGS }, (e) => {
      if (e.type === 'record') id = e.record.id;
      if (e.type === 'progress' && e.progress.method === 'ewc' && e.progress.phase === 'eval' && e.progress.task === 0 && id) void db.storage('runs').remove(id);
    });
    await assert.rejects(run, /^Error: the run “deleted meanwhile” was deleted while it was training \(from another tab or window of this browser\); training stopped, and none of its files were written back$/);
    assert.ok(id);
    assert.deepEqual(await db.storage(`runs/${id}`).list(''), [], 'nothing of the run was recreated');
    assert.equal((await listRunRecords(db.storage('runs'))).some((r) => r.id === id), false);
  });

  it('records a failure of the run itself as failed, not interrupted, while the device lives', { timeout: 20 * 60_000 }, async () => {
    // An error whose text speaks of a lost device does not make the run resumable: the device's state decides.
    const failingHost: RunHost = {
      db, device: 'test',
      session: async (key: string, source: FileSource, seed: number) => {
        const session = await host.session(key, source, seed, () => {});
        session.trainStep = () => Promise.reject(new Error('Device is lost (a message, not a loss)'));
        return session;
      },
    };
    await assert.rejects(new RunController(failingHost).start({ title: 'own failure', model: modelChoice(), tasks: taskInputs(), settings: SETTINGS }, () => {}), /^Error: Device is lost \(a message, not a loss\)$/);
    const record = (await listRunRecords(db.storage('runs'))).find((r) => r.title === 'own failure')!;
    assert.equal(record.status, 'failed');
    assert.equal(record.error, 'Device is lost (a message, not a loss)');
  });
});

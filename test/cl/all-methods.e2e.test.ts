// Every method through the built `clora run` on WebGPU: a short two-task stream on the bundled tiny
// model, checking that each one trains, evaluates and writes its results and artifacts (the files
// a later session or the app reloads; SAPT's folder is exported to ONNX), and that a second run with the same seed reproduces the
// first exactly. How well the methods remember is the other e2e test's job.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METHODS } from '../../src/cl/methods/index.ts';
import type { RunResults } from '../../src/cl/runner.ts';
import { ROOT, runClora as run, TINY_MODEL } from '../helpers/clora-run.ts';
import { exportOnnx } from '../../src/export/export-model.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { parseSafetensors } from '../../src/model/safetensors.ts';
import { onnxRun, openOnnx } from '../helpers/onnx-runtime.ts';
import { conflictingStream } from '../helpers/streams.ts';
import { ContinualMerge, type MergeKind } from '../../src/cl/merge/factored-merge.ts';
import { taskFactors } from '../../src/cl/methods/merge-base.ts';
import { toFloat32 } from '../../src/model/safetensors.ts';
import type { HostTensor } from '../../src/model/weights.ts';

/** A PEFT folder's tensors and scale (alpha / r). */
function readAdapter(folder: string): { tensors: Map<string, HostTensor>; scale: number; rank: number; alpha: number } {
  const cfg = JSON.parse(readFileSync(join(folder, 'adapter_config.json'), 'utf8')) as { r: number; lora_alpha: number; use_rslora?: boolean };
  const file = parseSafetensors(new Uint8Array(readFileSync(join(folder, 'adapter_model.safetensors'))));
  const tensors = new Map<string, HostTensor>();
  for (const [k, e] of file.tensors) tensors.set(k, { shape: [...e.shape], data: toFloat32(e) });
  return { tensors, scale: cfg.use_rslora ? cfg.lora_alpha / Math.sqrt(cfg.r) : cfg.lora_alpha / cfg.r, rank: cfg.r, alpha: cfg.lora_alpha };
}

/** Merges a method folder's task LoRAs again and compares with its merged adapters: relative errors of ΔW and merged ranks per task. */
function remerge(dir: string, kind: MergeKind, tasks: string[]): { errors: number[]; ranks: number[] } {
  const merge = new ContinualMerge({ kind, alpha: 0.5, lambda: 0.3, rankCap: null });
  const errors: number[] = [];
  const ranks: number[] = [];
  for (const t of tasks) {
    const own = readAdapter(join(dir, 'adapters', t));
    merge.add(taskFactors(own.tensors), own.scale);
    const written = readAdapter(join(dir, 'merged', t));
    assert.equal(written.alpha, written.rank, 'a merged adapter has lora_alpha = r (scale 1)');
    ranks.push(written.rank);
    let diff = 0;
    let ref = 0;
    for (const [site, f] of taskFactors(written.tensors)) {
      const m = merge.factors(site);
      for (let o = 0; o < f.out; o++) {
        for (let i = 0; i < f.in; i++) {
          let a = 0;
          for (let k = 0; k < f.rank; k++) a += f.b[o * f.rank + k] * f.a[k * f.in + i];
          let b = 0;
          for (let k = 0; k < m.rank; k++) b += m.b[o * m.rank + k] * m.a[k * m.in + i];
          diff += (a * written.scale - b) ** 2;
          ref += b * b;
        }
      }
    }
    errors.push(Math.sqrt(diff / ref));
  }
  return { errors, ranks };
}

describe('every method end to end (clora run, WebGPU)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clora-all-'));
  const tasks = conflictingStream(dir, 11).slice(0, 2);
  const base = {
    model: TINY_MODEL,
    tasks,
    seed: 5,
    steps: 3,
    batchSize: 4,
    lr: 0.005,
    maxLength: 48,
    maxNewTokens: 4,
    testFraction: 0.125,
    lora: { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] },
  };

  const names = Object.keys(METHODS);
  const methods = names.map((m) => m === 'conpet-dynamic' ? { method: m, selectorSteps: 2 } : m === 'sapt' ? { method: m, bottleneck: 8 } : m);
  let reference: RunResults | null = null;

  it('runs all fourteen methods and writes their matrices, metrics and artifacts', { timeout: 40 * 60_000 }, async () => {
    const { results, out } = run(dir, { ...base, methods });
    reference = results;
    assert.deepEqual(Object.keys(results.methods), names);
    assert.deepEqual(results.tasks.map((t) => t.name), ['alpha', 'beta']);
    for (const t of results.tasks) assert.equal(t.metric, 'em', `${t.name} is a label task`);

    for (const name of names) {
      const m = results.methods[name];
      const losses = m.losses.filter((l) => l.phase === 'train');
      assert.equal(losses.length, 6, `${name}: one loss per training step (3 per task, or 3 × 2 jointly)`);
      // (ConPET's selector has one class on the first task, so its loss there is exactly 0.)
      for (const l of m.losses) assert.ok(Number.isFinite(l.loss) && (l.phase === 'train' ? l.loss > 0 : l.loss >= 0), `${name}: ${l.phase} loss ${l.loss}`);
      assert.equal(m.final.length, 2, `${name}: final scores`);
      for (const s of m.final) assert.ok(s >= 0 && s <= 100, `${name}: score ${s}`);
      if (name === 'mtl') {
        assert.equal(m.matrix, null, 'joint training has no matrix');
        assert.ok(existsSync(join(out, name, 'adapters', 'joint', 'adapter_model.safetensors')));
        continue;
      }
      // Lower triangle filled (unseen tasks not evaluated), metrics computed from it.
      assert.equal(m.matrix![0].length, 2);
      assert.ok(m.matrix![0][0] !== null && m.matrix![0][1] === null && m.matrix![1].every((v) => v !== null), `${name}: ${JSON.stringify(m.matrix)}`);
      assert.ok(Number.isFinite(m.metrics!.ap) && Number.isFinite(m.metrics!.fra) && Number.isFinite(m.metrics!.bwt), `${name}: metrics`);
      assert.ok(Number.isFinite(m.metrics!.fwt!), `${name}: FWT against the oracle's diagonal`);
      assert.equal(m.timings.trainSeconds.length, 2);
      assert.ok(m.timings.tokensPerSecond > 0);
    }
    assert.deepEqual(results.singleTask, results.methods.oracle.matrix!.map((row, t) => row[t]));

    // Artifacts: single-LoRA methods save the adapter after each task, block methods one per task.
    for (const name of ['seqlora', 'replay', 'ewc', 'lwf', 'conpet-static']) {
      for (const t of ['alpha', 'beta']) assert.ok(existsSync(join(out, name, 'adapters', `after-${t}`, 'adapter_config.json')), `${name} after ${t}`);
    }
    for (const name of ['inclora', 'olora', 'sapt', 'oracle', 'conpet-dynamic']) {
      for (const t of ['alpha', 'beta']) assert.ok(existsSync(join(out, name, 'adapters', t, 'adapter_model.safetensors')), `${name} block ${t}`);
    }
    for (const name of ['replay', 'sapt', 'conpet-static', 'conpet-dynamic']) {
      assert.ok(readFileSync(join(out, name, 'replay', 'alpha.jsonl'), 'utf8').trim().length > 0, `${name} keeps samples of alpha`);
    }
    // Merging methods: each task's own LoRA and the merged adapter after it; the merged one reproduces the merge of the
    // task LoRAs (redone here from the files), has rank <= t·r and lora_alpha = r, and exports to ONNX like any adapter.
    for (const name of ['opcm', 'merge-ta', 'merge-avg']) {
      const { errors, ranks } = remerge(join(out, name), name as MergeKind, ['alpha', 'beta']);
      for (const e of errors) assert.ok(e <= 1e-6, `${name}: merged adapters vs their task LoRAs merged again: ${errors}`);
      assert.ok(ranks[0] <= 4 && ranks[1] <= 8, `${name}: merged ranks ${ranks}`);
    }
    const merged = await exportOnnx(dirSource(TINY_MODEL), { adapter: dirSource(join(out, 'opcm', 'merged', 'beta')) });
    assert.ok(merged.bytes.length > 0);
    const routerKeys = [...parseSafetensors(new Uint8Array(readFileSync(join(out, 'sapt', 'router.safetensors')))).tensors.keys()];
    for (const k of ['router.down.weight', 'router.up.weight', 'router.norm.weight', 'router.norm.bias', 'router.keys']) assert.ok(routerKeys.includes(k), `router file has ${k}`);
    const refs = JSON.parse(readFileSync(join(out, 'sapt', 'references.json'), 'utf8')) as number[][];
    assert.equal(refs.length, 2);
    assert.ok(Math.abs(refs[1].reduce((a, b) => a + b, 0) - 1) < 1e-4, 'a reference is a distribution over the blocks');
    // SAPT records the selector's weights per stage: one block after the first task, two after the second.
    const routing = results.methods.sapt.routing!;
    assert.equal(routing[0][0]!.length, 1);
    assert.equal(routing[1][1]!.length, 2);
    assert.equal(results.methods.seqlora.routing, null);
    // The SAPT folder is a model clora export takes as it is: two routed blocks, a distribution per example.
    const config = JSON.parse(readFileSync(join(out, 'sapt', 'router_config.json'), 'utf8')) as { blocks: string[]; pool: string };
    assert.deepEqual(config.blocks, ['alpha', 'beta']);
    assert.equal(config.pool, 'mean');
    const exported = await exportOnnx(dirSource(TINY_MODEL), { sapt: dirSource(join(out, 'sapt')) });
    const ort = await openOnnx(exported.bytes);
    const exportedRouting = (await onnxRun(ort, [[5, 6, 7, 8], [9, 10, 11, 12]], [[1, 1, 0, 0], [1, 1, 1, 1]])).routing!;
    await ort.release();
    assert.deepEqual(exportedRouting.dims, [2, 2]);
    const w = exportedRouting.data;
    for (let r = 0; r < 2; r++) assert.ok(Math.abs(w[2 * r] + w[2 * r + 1] - 1) < 1e-5, `exported routing row ${r} sums to 1`);
  });

  it('repeats a run exactly with the same seed', { timeout: 20 * 60_000 }, () => {
    const exp = { ...base, methods: ['replay', { method: 'sapt', bottleneck: 8 }] };
    const a = run(dir, exp).results;
    const b = run(dir, exp).results;
    for (const name of ['replay', 'sapt']) {
      assert.deepEqual(b.methods[name].losses, a.methods[name].losses, `${name}: losses`);
      assert.deepEqual(b.methods[name].matrix, a.methods[name].matrix, `${name}: matrix`);
      assert.deepEqual(b.methods[name].samples, a.methods[name].samples, `${name}: predictions`);
    }
  });

  it('resumes a run killed during each method\'s second task and ends exactly where the uninterrupted run did', { timeout: 40 * 60_000 }, async () => {
    const expected = reference as RunResults | null;
    assert.ok(expected, 'needs the uninterrupted run of the first test');
    const file = join(dir, 'experiment-resume.json');
    writeFileSync(file, JSON.stringify({ ...base, methods }, null, 2));
    const out = join(dir, 'out-resume');
    const killed: string[] = [];
    const victims = names.filter((n) => n !== 'mtl'); // joint training has one stage, so no checkpoint inside it
    for (let launch = 0; ; launch++) {
      assert.ok(launch <= victims.length, 'one launch per killed method, plus the last');
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', file, '--out', out, ...(launch > 0 ? ['--resume'] : [])]);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const victim = victims.find((n) => !killed.includes(n));
      // Kill -9 as soon as the victim's first task is committed with its checkpoint: it is then training task 2.
      const poll = setInterval(() => {
        if (victim && existsSync(join(out, victim, 'checkpoint', 'state.json'))) {
          clearInterval(poll);
          killed.push(victim);
          child.kill('SIGKILL');
        }
      }, 25);
      const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
      clearInterval(poll);
      if (killed.length > 0 && killed[killed.length - 1] === victim && code !== 0) continue;
      assert.equal(code, 0, stderr);
      break;
    }
    assert.deepEqual(killed, victims, 'every method was killed once mid-run');
    const resumed = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    for (const name of names) {
      const a: RunResults["methods"][string] = expected.methods[name];
      const b: RunResults["methods"][string] = resumed.methods[name];
      assert.deepEqual(b.losses, a.losses, `${name}: losses`);
      assert.deepEqual(b.matrix, a.matrix, `${name}: matrix`);
      assert.deepEqual(b.final, a.final, `${name}: final scores`);
      assert.deepEqual(b.routing, a.routing, `${name}: routing`);
      assert.deepEqual(b.samples, a.samples, `${name}: predictions`);
      const cp = JSON.parse(readFileSync(join(out, name, 'checkpoint', 'state.json'), 'utf8')) as { stage: number };
      assert.equal(cp.stage, 1, `${name}: the last checkpoint is the trained method after task 2`);
    }
    assert.deepEqual(resumed.methods.oracle.metrics, expected.methods.oracle.metrics);
  });
});

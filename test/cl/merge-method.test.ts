// The merging methods' hooks on a stand-in session (no GPU): after each task the merged bank holds the merge of the
// task LoRAs (merge-avg and merge-ta checked against the dense sums formed here), the artifacts are the task's own
// LoRA and the merged adapter in PEFT files (lora_alpha = r), and a saved state loads into a fresh method that answers
// with the same merged adapter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Bank, BankSpec } from '../../src/engine/bank.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { initLoraTensors, loraTensorShapes, type LoraConfig } from '../../src/model/peft.ts';
import { createRng } from '../../src/model/rng.ts';
import { parseSafetensors, toFloat32 } from '../../src/model/safetensors.ts';
import type { HostTensor } from '../../src/model/weights.ts';
import { createMethod } from '../../src/cl/methods/index.ts';
import type { EncodedTask, MethodContext } from '../../src/cl/methods/method.ts';

const cfg = { hiddenSize: 8, numHeads: 2, headDim: 4, numKvHeads: 1, intermediateSize: 12, numLayers: 2 } as ModelConfig;
const lora: LoraConfig = { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false, layers: null };
const SCALE = 2;

/** Random trained-looking LoRA tensors (B nonzero) for task t. */
function taskTensors(t: number): Map<string, HostTensor> {
  const rng = createRng(100 + t);
  const m = initLoraTensors(lora, cfg, null, rng);
  for (const [k, v] of m) if (k.includes('lora_B')) for (let i = 0; i < v.data.length; i++) v.data[i] = rng.uniform() - 0.5;
  return m;
}

interface FakeBank { spec: BankSpec; uploaded: Map<string, HostTensor> | null; task: number }

function context(tasks: number) {
  let trained = 0;
  const banks: FakeBank[] = [];
  const session = {
    config: cfg,
    useBank() {},
    releaseBank() {},
    resetOptimizer() {},
  };
  const encoded = Array.from({ length: tasks }, (_, i) => ({ index: i, task: { name: `task${i}` }, train: [{ ids: [1], labels: [1], promptLength: 0, truncated: 0 }], test: [] }));
  const ctx = {
    session,
    tasks: encoded as unknown as EncodedTask[],
    settings: { steps: 1, batchSize: 1, seqLen: 4, padId: 0, lora, lr: 1e-3, seed: 0 },
    rng: createRng(1),
    train: async () => {},
    createBank: async (spec: BankSpec) => {
      const b: FakeBank = { spec, uploaded: null, task: trained };
      banks.push(b);
      return {
        spec,
        blocks: 1,
        params: { upload: (t: Map<string, HostTensor>) => { b.uploaded = t; } },
        setTrainable() {},
        blockTensors: async () => taskTensors(b.task),
      } as unknown as Bank;
    },
  } as unknown as MethodContext;
  return { ctx, banks, nextTask: () => { trained++; } };
}

/** Dense ΔW of a PEFT tensor map at one module: scale · B · A. */
function dense(t: Map<string, HostTensor>, site: string, scale: number): Float64Array {
  const a = t.get(`${site}.lora_A.weight`)!;
  const b = t.get(`${site}.lora_B.weight`)!;
  const [r, inDim] = a.shape;
  const out = b.shape[0];
  const d = new Float64Array(out * inDim);
  for (let o = 0; o < out; o++) for (let i = 0; i < inDim; i++) {
    let s = 0;
    for (let k = 0; k < r; k++) s += b.data[o * r + k] * a.data[k * inDim + i];
    d[o * inDim + i] = scale * s;
  }
  return d;
}

const SITES = [...loraTensorShapes(lora, cfg).keys()].filter((k) => k.endsWith('.lora_A.weight')).map((k) => k.slice(0, -'.lora_A.weight'.length));

describe('merging methods on a stand-in session', () => {
  it('merge-avg and merge-ta hold (1/t) Σ τ and λ Σ τ after each task, written as PEFT files with lora_alpha = r', async () => {
    for (const [method, options, coef] of [['merge-avg', {}, (t: number) => 1 / t], ['merge-ta', { lambda: 0.7 }, () => 0.7]] as const) {
      const m = createMethod(method, options);
      const { ctx, banks, nextTask } = context(3);
      for (let t = 0; t < 3; t++) {
        await m.beforeTask(ctx, t);
        await m.afterTask(ctx, t);
        const files = await m.artifacts(ctx, t);
        assert.ok(files[`adapters/task${t}/adapter_model.safetensors`] instanceof Uint8Array, `${method}: the task's own LoRA`);
        const config = JSON.parse(files[`merged/task${t}/adapter_config.json`] as string) as { r: number; lora_alpha: number };
        assert.equal(config.r, (t + 1) * lora.rank, `${method}: merged rank after task ${t + 1}`);
        assert.equal(config.lora_alpha, config.r);
        const weights = parseSafetensors(files[`merged/task${t}/adapter_model.safetensors`] as Uint8Array);
        const written = new Map<string, HostTensor>([...weights.tensors].map(([k, e]) => [k, { shape: [...e.shape], data: toFloat32(e) }]));
        const bank = banks[banks.length - 1];
        assert.equal(bank.spec.lora.rank, config.r, 'the merged bank has the merged rank');
        for (const site of SITES) {
          const expected = new Float64Array(dense(taskTensors(0), site, SCALE).length);
          for (let i = 0; i <= t; i++) dense(taskTensors(i), site, SCALE).forEach((v, j) => { expected[j] += coef(t + 1) * v; });
          for (const got of [dense(written, site, 1), dense(bank.uploaded!, site, 1)]) {
            let diff = 0;
            let ref = 0;
            expected.forEach((v, j) => { diff += (got[j] - v) ** 2; ref += v * v; });
            assert.ok(Math.sqrt(diff / ref) < 1e-6, `${method} ${site} after task ${t + 1}: ${Math.sqrt(diff / ref)}`);
          }
        }
        nextTask();
      }
    }
  });

  it('a saved state loads into a fresh method that answers with the same merged adapter', async () => {
    const m = createMethod('opcm', { alpha: 0.4 });
    const { ctx, banks, nextTask } = context(3);
    for (let t = 0; t < 2; t++) {
      await m.beforeTask(ctx, t);
      await m.afterTask(ctx, t);
      nextTask();
    }
    const before = banks[banks.length - 1].uploaded!;
    const state = await m.saveState(ctx, 1);
    const fresh = createMethod('opcm', { alpha: 0.4 });
    await fresh.loadState(ctx, 1, state);
    const after = banks[banks.length - 1].uploaded!;
    assert.deepEqual([...after.keys()], [...before.keys()]);
    for (const [k, v] of before) assert.deepEqual(after.get(k)!.data, v.data, k);
    await assert.rejects(createMethod('opcm', { alpha: 0.6 }).loadState(ctx, 1, state), /this run asks for/);
    await assert.rejects(createMethod('opcm').loadState(ctx, 2, state), /merged 2 tasks, expected 3/);
  });
});

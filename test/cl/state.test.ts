// Method checkpoints: float64 vectors stored exactly as two f32 tensors, the state files round trip, and replay memories saved as indices.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emptyState, loadBank, parseStateFiles, stateFiles, STATE_JSON, STATE_TENSORS } from '../../src/cl/methods/state.ts';
import { ReplayMemory, type EncodedTask, type MethodContext } from '../../src/cl/methods/method.ts';
import type { Bank, BankSpec } from '../../src/engine/bank.ts';
import { createRng } from '../../src/model/rng.ts';

function task(index: number, n: number): EncodedTask {
  const train = Array.from({ length: n }, (_, i) => ({ ids: [index, i], labels: [-100, i], promptLength: 1, truncated: 0 }));
  const raw = Array.from({ length: n }, (_, i) => ({ input: `x${i}`, output: `y${index}` }));
  return { task: { name: `t${index}`, instruction: '', train: raw, test: [], dev: [], labels: null, source: 'mem' }, index, train, test: [], metric: 'em' };
}

describe('method state', () => {
  it('keeps f32 tensors and float64 vectors exactly through the state files', () => {
    const values = Float64Array.from([1 / 3, 1e-12 + 1, -2.5e7 / 7, 0, 123456.789012345]);
    const state = emptyState();
    state.float64.set('fisher', values);
    state.tensors.set('lora::a', { shape: [2, 2], data: Float32Array.from([0.1, -2, 3e-8, 7]) });
    state.json.note = 'kept';
    const files = stateFiles(state, { stage: 2 });
    const back = parseStateFiles(JSON.parse(files[STATE_JSON] as string), files[STATE_TENSORS] as Uint8Array, 'ckpt');
    assert.deepEqual(back.extra, { stage: 2 });
    assert.equal(back.state.json.note, 'kept');
    assert.deepEqual(Array.from(back.state.float64.get('fisher')!), Array.from(values));
    assert.deepEqual(back.state.tensors.get('lora::a'), state.tensors.get('lora::a'));
    assert.deepEqual([...back.state.tensors.keys()], ['lora::a']);
  });

  it('restores a SAPT bank saved before the router pooling was an option with max pooling, and keeps a saved choice', async () => {
    const created: BankSpec[] = [];
    const ctx = { createBank: async (spec: BankSpec) => (created.push(spec), { params: { upload() {} } } as unknown as Bank) } as unknown as MethodContext;
    const lora = { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj'], rslora: false };
    const state = emptyState();
    state.json.banks = {
      old: { lora, blocks: 2, router: { bottleneck: 4 }, head: null },
      chosen: { lora, blocks: 2, router: { bottleneck: 4, pool: 'mean' }, head: null },
      plain: { lora, blocks: 1, router: null, head: null },
    };
    for (const name of ['old', 'chosen', 'plain']) await loadBank(ctx, state, name);
    assert.deepEqual(created.map((s) => s.router), [{ bottleneck: 4, pool: 'max' }, { bottleneck: 4, pool: 'mean' }, null]);
  });

  it('rejects a state file without the method part', () => {
    const files = stateFiles(emptyState(), {});
    assert.throws(() => parseStateFiles({ stage: 1 }, files[STATE_TENSORS] as Uint8Array, 'run/m/checkpoint'), /run\/m\/checkpoint\/state\.json: "method" is missing/);
  });

  it('saves a replay memory as indices and refills an empty one with the same samples', () => {
    const tasks = [task(0, 10), task(1, 7)];
    const memory = new ReplayMemory(0.5, 2);
    const rng = createRng(4);
    memory.store(tasks[0], rng);
    memory.store(tasks[1], rng);
    const saved = JSON.parse(JSON.stringify(memory.toJSON()));
    const copy = new ReplayMemory(0.5, 2);
    copy.restore(tasks, saved);
    assert.deepEqual(copy.perTask, memory.perTask);
    assert.equal(copy.jsonl(1), memory.jsonl(1));
    assert.throws(() => copy.restore(tasks, saved), /empty replay memory/);
    assert.throws(() => new ReplayMemory(0.5, 2).restore(tasks, [{ task: 1, indices: [7] }]), /does not fit task 2/);
  });
});

// ONNX export of a SAPT model with its blocks kept apart and routed per example, run in onnxruntime-web's wasm backend
// against the engine's own SAPT forward on WebGPU (same bank): logits and routing, both pools, prompts of different
// lengths in one batch; the graph's inputs and outputs; the files clora run writes; the refusals.
// Tolerances: logits relative error max|onnx - engine| / max|engine| <= 1e-4; routing weights absolute 1e-5.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROUTER_KEYS, type Bank } from '../../src/engine/bank.ts';
import { Session } from '../../src/engine/session.ts';
import { exportOnnx } from '../../src/export/export-model.ts';
import { onnx } from '../../src/export/onnx-proto.ts';
import type { Gpu } from '../../src/gpu/context.ts';
import { memorySource } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { writePeftAdapter, type LoraConfig } from '../../src/model/peft.ts';
import { writeSafetensors } from '../../src/model/safetensors.ts';
import { ROUTER_NORM_EPS, saptConfigJson, type RouterPool } from '../../src/model/sapt-files.ts';
import { assertClose, assertRelError, relError } from '../helpers/assert.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { onnxRun, openOnnx } from '../helpers/onnx-runtime.ts';
import { randomArray, randomInts } from '../helpers/random.ts';

const TOLERANCE = 1e-4;
const ROUTING_TOLERANCE = 1e-5;
const MODEL_DIR = join(import.meta.dirname, '..', 'fixtures', 'oracle', 'llama-gqa', 'model');
const MODEL = dirSource(MODEL_DIR);
// Attention and MLP sites of different widths, on layer 1 only: layer 0's projections must stay unadapted.
const LORA: LoraConfig = { rank: 2, alpha: 6, dropout: 0, targets: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'], useRslora: false, layers: [1] };
const BLOCKS = ['sentiment', 'spam', 'topic'];
const BOTTLENECK = 6;
const SEQ = 7;
/** Prompt lengths of the batch's rows: a short prompt, the whole row, one token. */
const PROMPTS = [4, SEQ, 1];

let gpu: Gpu;
let session: Session;

before(async () => {
  gpu = await testGpu();
  session = await Session.open(gpu, MODEL, { baseOnly: true, seed: 1 });
});
after(async () => {
  session?.destroy();
  await releaseTestGpu();
});

/** A SAPT bank of three blocks with every tensor random (norm away from 1 and 0, keys spread), so each block, key and norm entry matters. */
async function randomSaptBank(pool: RouterPool, seed: number): Promise<Bank> {
  const bank = await session.createBank({ lora: LORA, blocks: BLOCKS.length, router: { bottleneck: BOTTLENECK, pool }, head: null });
  const all = await bank.params.download();
  let s = seed;
  for (const [key, t] of all) {
    if (key.includes('.lora_')) t.data.set(randomArray(t.data.length, s++, 0.4));
    else if (key === ROUTER_KEYS.normWeight) t.data.set(randomArray(t.data.length, s++, 0.5).map((v) => 1 + v));
    else if (key === ROUTER_KEYS.normBias || key === ROUTER_KEYS.keys) t.data.set(randomArray(t.data.length, s++, key === ROUTER_KEYS.keys ? 2 : 0.3));
  }
  bank.params.upload(all);
  return bank;
}

/** The folder clora run writes for SAPT (src/cl/methods/sapt.ts artifacts), in memory. */
async function saptFolder(bank: Bank, pool: RouterPool): Promise<Record<string, Uint8Array | string>> {
  const router = await bank.params.download();
  for (const key of [...router.keys()]) if (key.includes('.lora_')) router.delete(key);
  const files: Record<string, Uint8Array | string> = {
    'router_config.json': saptConfigJson({ pool, bottleneck: BOTTLENECK, normEps: ROUTER_NORM_EPS, blocks: BLOCKS }),
    'router.safetensors': writeSafetensors(router),
  };
  for (let j = 0; j < BLOCKS.length; j++) {
    const peft = writePeftAdapter(LORA, session.config, await bank.blockTensors(j));
    for (const [name, content] of Object.entries(peft)) files[`adapters/${BLOCKS[j]}/${name}`] = content;
  }
  return files;
}

function batchOf(seed: number): { rows: number[][]; masks: number[][]; ids: Int32Array; promptMask: Uint8Array } {
  const ids = randomInts(PROMPTS.length * SEQ, session.config.vocabSize, seed);
  const rows = PROMPTS.map((_, b) => Array.from(ids.subarray(b * SEQ, (b + 1) * SEQ)));
  const masks = PROMPTS.map((p) => Array.from({ length: SEQ }, (_, t) => (t < p ? 1 : 0)));
  return { rows, masks, ids, promptMask: Uint8Array.from(masks.flat()) };
}

describe('SAPT export against the engine (onnxruntime-web wasm vs WebGPU)', () => {
  for (const pool of ['mean', 'max'] as const) {
    it(`${pool} pooling: logits and routing of three prompts of different lengths, relative error <= ${TOLERANCE}`, async (t) => {
      const bank = await randomSaptBank(pool, pool === 'mean' ? 10 : 40);
      try {
        const exported = await exportOnnx(MODEL, { sapt: memorySource(await saptFolder(bank, pool), 'run/sapt') });
        const ort = await openOnnx(exported.bytes);
        const batch = batchOf(pool === 'mean' ? 3 : 4);
        const out = await onnxRun(ort, batch.rows, batch.masks);
        await ort.release();

        session.useBank(bank);
        const engineBatch = { ids: batch.ids, batchSize: PROMPTS.length, seqLen: SEQ, promptMask: batch.promptMask };
        const routing = await session.routing(engineBatch);
        const logits = await session.forward(engineBatch);
        session.useBank(null);
        const base = await session.forward(engineBatch);

        assert.deepEqual(out.routing!.dims, [PROMPTS.length, BLOCKS.length]);
        assertClose(out.routing!.data, routing, { rtol: 0, atol: ROUTING_TOLERANCE }, 'routing');
        // The routing is not degenerate: every row spreads over the blocks and the rows differ.
        for (let b = 0; b < PROMPTS.length; b++) assert.ok(Math.max(...routing.subarray(b * 3, b * 3 + 3)) < 0.99, `row ${b} uses one block only`);
        assert.ok(Math.abs(routing[0] - routing[3]) > 1e-3, 'rows 0 and 1 are routed alike');

        const want = new Float32Array(logits.flatMap((row) => Array.from(row)));
        assert.deepEqual(out.logits.dims, [PROMPTS.length, SEQ, session.config.vocabSize]);
        assertRelError(out.logits.data, want, TOLERANCE, `${pool} logits`);
        const baseFlat = new Float32Array(base.flatMap((row) => Array.from(row)));
        assert.ok(relError(baseFlat, want) > 100 * TOLERANCE, 'the blocks change the logits well beyond the tolerance');
        t.diagnostic(`${pool}: logits relative error ${relError(out.logits.data, want).toExponential(2)}, routing max abs error ${Math.max(...out.routing!.data.map((v, i) => Math.abs(v - routing[i]))).toExponential(2)}`);
      } finally {
        session.useBank(null);
        bank.destroy();
      }
    });
  }
});

describe('SAPT export files and refusals', () => {
  let files: Record<string, Uint8Array | string>;
  before(async () => {
    const bank = await randomSaptBank('mean', 70);
    files = await saptFolder(bank, 'mean');
    bank.destroy();
  });
  const withFiles = (change: Record<string, Uint8Array | string | undefined>) => {
    const copy: Record<string, Uint8Array | string> = { ...files };
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) delete copy[k];
      else copy[k] = v;
    }
    return memorySource(copy, 'run/sapt');
  };

  it('inputs input_ids and prompt_mask, outputs logits and routing [batch, blocks]; blocks stacked per adapted projection of layer 1 only', async () => {
    const exported = await exportOnnx(MODEL, { sapt: withFiles({}) });
    const graph = onnx.ModelProto.decode(exported.bytes).graph!;
    assert.deepEqual(graph.input!.map((v) => v.name), ['input_ids', 'prompt_mask']);
    assert.deepEqual(graph.output!.map((v) => v.name), ['logits', 'routing']);
    assert.deepEqual(graph.output![1].type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue)), ['batch', BLOCKS.length]);
    const stacked = graph.initializer!.filter((i) => i.name!.endsWith('.lora_A.blocks')).map((i) => i.name);
    assert.deepEqual(stacked, LORA.targets.map((p) => `model.layers.1.${p.endsWith('up_proj') || p === 'down_proj' ? 'mlp' : 'self_attn'}.${p}.lora_A.blocks`));
    const qA = graph.initializer!.find((i) => i.name === 'model.layers.1.self_attn.q_proj.lora_A.blocks')!;
    assert.deepEqual(qA.dims!.map(Number), [BLOCKS.length * LORA.rank, session.config.hiddenSize]);
    assert.match(onnx.ModelProto.decode(exported.bytes).docString!, /3 SAPT blocks \(sentiment, spam, topic/);
  });

  it('without router_config.json: one error naming the file and its expected content', async () => {
    await assert.rejects(exportOnnx(MODEL, { sapt: withFiles({ 'router_config.json': undefined }) }), /run\/sapt\/router_config\.json: not found.*"pool"/s);
  });

  it('a key count that does not match the listed blocks: the error names router.safetensors and both counts', async () => {
    const config = saptConfigJson({ pool: 'mean', bottleneck: BOTTLENECK, normEps: ROUTER_NORM_EPS, blocks: BLOCKS.slice(0, 2) });
    await assert.rejects(exportOnnx(MODEL, { sapt: withFiles({ 'router_config.json': config }) }),
      /run\/sapt\/router\.safetensors: router\.keys has shape \[3,\d+\], expected \[2,\d+\] \(one key per block: router_config\.json lists 2 blocks\)/);
  });

  it('a missing block folder, a bad pool, and an adapter given too: clear errors', async () => {
    await assert.rejects(exportOnnx(MODEL, { sapt: withFiles({ 'adapters/spam/adapter_config.json': undefined }) }), /adapters\/spam\/adapter_config\.json: not found in run\/sapt/);
    const badPool = (files['router_config.json'] as string).replace('"mean"', '"median"');
    await assert.rejects(exportOnnx(MODEL, { sapt: withFiles({ 'router_config.json': badPool }) }), /router_config\.json: "pool" is "median", expected "mean" or "max"/);
    await assert.rejects(exportOnnx(MODEL, { sapt: withFiles({}), adapter: withFiles({}) }), /an adapter to merge or a SAPT model, not both/);
  });

  it('a block whose LoRA layout differs from the first: the error names its adapter_config.json', async () => {
    const other = JSON.parse(files['adapters/topic/adapter_config.json'] as string) as Record<string, unknown>;
    other.lora_alpha = 3;
    await assert.rejects(exportOnnx(MODEL, { sapt: withFiles({ 'adapters/topic/adapter_config.json': JSON.stringify(other) }) }),
      /run\/sapt\/adapters\/topic\/adapter_config\.json: block 3 has a different LoRA layout from block 1/);
  });
});

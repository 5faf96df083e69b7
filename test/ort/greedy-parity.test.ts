// Greedy decoding through onnxruntime-web (wasm backend in Node; one full forward pass per token over the exported
// model with the adapter merged) gives exactly the engine's greedy tokens (KV cache, LoRA unmerged, WebGPU): for the
// PyTorch fixtures' adapters, with and without a stop id met mid-answer, for prompts of different lengths in one batch,
// and for a fixed mixture of several LoRA blocks folded into one adapter (IncLoRA's sum, the oracle's pick).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { bankMixtureAdapter } from '../../src/cl/fixed-adapter.ts';
import { Session } from '../../src/engine/session.ts';
import { exportOnnx } from '../../src/export/export-model.ts';
import type { Gpu } from '../../src/gpu/context.ts';
import { memorySource, type FileSource } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { loraTensorShapes, type LoraConfig } from '../../src/model/peft.ts';
import { greedyByFullForward } from '../../src/ort/full-forward-greedy.ts';
import { wasmDecoderFactory, type LogitsSession } from '../../src/ort/ort-decoder.ts';
import { nodeWasmOrt } from '../../src/ort/node-ort.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';
import { randomInts } from '../helpers/random.ts';
import { randomTensors } from '../model/helpers.ts';

const fixtureDir = (name: string) => join(import.meta.dirname, '..', 'fixtures', 'oracle', name);
const MAX_NEW = 10;

/** Prompts of 3, 7 and 12 tokens below `vocab`. */
function prompts(vocab: number, seed: number): number[][] {
  return [3, 7, 12].map((n, i) => Array.from(randomInts(n, vocab, seed + i)));
}

async function openOrt(model: FileSource, adapter: FileSource): Promise<LogitsSession> {
  const exported = await exportOnnx(model, { adapter });
  return wasmDecoderFactory(await nodeWasmOrt()).open(exported.bytes);
}

function ortGreedy(session: LogitsSession, p: number[][], stopIds: number[]): Promise<number[][]> {
  return greedyByFullForward((ids, batch, seq) => session.logits(ids, batch, seq), p, { maxNewTokens: MAX_NEW, stopIds });
}

describe('greedy decoding: onnxruntime-web (wasm, merged adapter) against the engine (WebGPU, KV cache)', () => {
  let gpu: Gpu;
  before(async () => {
    gpu = await testGpu();
  });
  after(releaseTestGpu);

  for (const name of ['llama-gqa', 'qwen2-mqa-tied']) {
    it(`${name} with its adapter: the same tokens, and the same stop`, async (t) => {
      const model = dirSource(join(fixtureDir(name), 'model'));
      const adapter = dirSource(join(fixtureDir(name), 'adapter'));
      const engine = await Session.open(gpu, model, { adapter });
      const ort = await openOrt(model, adapter);
      try {
        const p = prompts(engine.config.vocabSize, 31);
        const free = await engine.generate(p, { maxNewTokens: MAX_NEW, stopIds: [] });
        assert.deepEqual(free.map((s) => s.length), [MAX_NEW, MAX_NEW, MAX_NEW], 'without stop ids every answer is maxNewTokens long');
        assert.ok(new Set(free.flat()).size > 3, `the answers are not one token repeated: ${JSON.stringify(free)}`);
        assert.deepEqual(await ortGreedy(ort, p, []), free);

        // A stop id: a token first generated at position >= 2 of the first answer, which then ends there (the stop is
        // not emitted); the other answers stop wherever they meet it.
        const firstAt = free[0].findIndex((tok, i) => i >= 2 && free[0].indexOf(tok) === i);
        assert.ok(firstAt >= 2, `the first answer repeats its first two tokens: ${free[0]}`);
        const stop = free[0][firstAt];
        const stopped = await engine.generate(p, { maxNewTokens: MAX_NEW, stopIds: [stop] });
        assert.deepEqual(stopped[0], free[0].slice(0, firstAt));
        stopped.forEach((answer, b) => assert.ok(!answer.includes(stop), `answer ${b} contains the stop id`));
        assert.deepEqual(await ortGreedy(ort, p, [stop]), stopped);
        t.diagnostic(`${name}: ${JSON.stringify(stopped)} (stop id ${stop})`);
      } finally {
        engine.destroy();
        await ort.release();
      }
    });
  }

  it('a bank of two LoRA blocks with fixed mixtures, folded into one adapter, decodes like the engine mixing them', async () => {
    const model = dirSource(join(fixtureDir('llama-gqa'), 'model'));
    const engine = await Session.open(gpu, model, { baseOnly: true });
    const lora: LoraConfig = { rank: 3, alpha: 6, dropout: 0, targets: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'], useRslora: true, layers: null };
    const bank = await engine.createBank({ lora, blocks: 2, router: null, head: null });
    try {
      const shapes = loraTensorShapes(lora, engine.config);
      for (const j of [0, 1]) {
        const tensors = randomTensors(shapes, 40 + j);
        for (const x of tensors.values()) for (let i = 0; i < x.data.length; i++) x.data[i] *= 0.3;
        await bank.setBlockTensors(j, tensors);
      }
      engine.useBank(bank);
      const p = prompts(engine.config.vocabSize, 57);
      const answers: number[][][] = [];
      for (const mix of [[1, 1], [0, 1], [0.5, -2]]) {
        const mixture = Float32Array.from(mix);
        const want = await engine.generate(p, { maxNewTokens: MAX_NEW, stopIds: [], mix: p.map(() => mixture) });
        const files = await bankMixtureAdapter(bank, mixture, engine.config);
        const ort = await openOrt(model, memorySource({ ...files }, `mixture ${mix}`));
        try {
          assert.deepEqual(await ortGreedy(ort, p, []), want, `mixture ${mix}`);
        } finally {
          await ort.release();
        }
        answers.push(want);
      }
      // The mixtures matter: they do not all decode to the same tokens.
      assert.ok(new Set(answers.map((a) => JSON.stringify(a))).size > 1, 'every mixture gave the same answers');
    } finally {
      engine.releaseBank(bank);
      engine.destroy();
    }
  });
});

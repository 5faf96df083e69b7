// The playground's backend choice with a fake trained method and a fake onnxruntime on a fake clock (no GPU): the
// faster backend answers, ties, failures and different answers keep the engine, methods routed per prompt never try
// onnxruntime, the choice is kept for later answers, and the adapter reaches the export that onnxruntime opens.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlaygroundAnswerer, tokenDifference } from '../../src/cl/playground-backend.ts';
import type { OnnxAnswerModel, TrainedMethod } from '../../src/cl/playground.ts';
import { onnx } from '../../src/export/onnx-proto.ts';
import { memorySource } from '../../src/io/files.ts';
import { loraTensorShapes, writePeftAdapter, type LoraConfig } from '../../src/model/peft.ts';
import { writeSafetensors } from '../../src/model/safetensors.ts';
import { expectedWeightShapes } from '../../src/model/weights.ts';
import type { LogitsSession, OrtDecoderFactory } from '../../src/ort/ort-decoder.ts';
import { llamaConfig, llamaJson, randomTensors } from '../model/helpers.ts';
import { randomSaptFolder } from '../helpers/sapt-folder.ts';

const VOCAB = 10;
const STOP = 9;
const CONFIG_JSON = llamaJson({ vocab_size: VOCAB });
const CONFIG = llamaConfig({ vocab_size: VOCAB });
const MODEL = memorySource({ 'config.json': JSON.stringify(CONFIG_JSON), 'model.safetensors': writeSafetensors(randomTensors(expectedWeightShapes(CONFIG), 1)) }, 'fake-model');
const LORA: LoraConfig = { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false, layers: null };
const ADAPTER: OnnxAnswerModel = {
  key: 'seqlora:1', description: 'its one LoRA merged', weights: null,
  files: { adapter: writePeftAdapter(LORA, CONFIG, randomTensors(loraTensorShapes(LORA, CONFIG), 2)) },
};

const SAPT_MODEL: OnnxAnswerModel = { key: 'sapt:routed', description: 'its task LoRAs and its selector, routed per prompt', weights: null, files: { sapt: randomSaptFolder(CONFIG, { lora: LORA, blocks: ['a', 'b'], bottleneck: 3, seed: 3 }) } };

function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

interface Setup {
  /** Milliseconds of one engine answer, and of one onnxruntime forward pass (an answer of n tokens takes n + 1 with the stop). */
  engineMs: number;
  ortForwardMs: number;
  /** The tokens each backend generates. */
  engineTokens?: number[];
  ortTokens?: number[];
  /** The method cannot be exported (onnxModel gives this reason). */
  perPrompt?: string;
  /** onnxruntime-web fails to load with this message. */
  ortLoadError?: string;
  /** onnxruntime's forward passes fail from this call on (1-based). */
  ortFailsFrom?: number;
  /** The method is SAPT: exported with its blocks and router, onnxruntime giving this routing for the prompt. */
  routed?: number[];
}

function setup(s: Setup) {
  const clock = fakeClock();
  const engineTokens = s.engineTokens ?? [5, 6, 7];
  const ortTokens = s.ortTokens ?? engineTokens;
  const counts = { generate: 0, forwards: 0, opened: 0, released: 0, disposed: 0 };
  const opened: Uint8Array[] = [];
  const trained: TrainedMethod = {
    name: 'seqlora', stage: 1, maxNewTokens: 4, stopIds: [STOP],
    prompt: (input) => [1, 2, input.length % VOCAB],
    async generate() {
      counts.generate++;
      clock.advance(s.engineMs);
      return { ids: engineTokens.slice(), weights: s.routed ? [0.5, 0.5] : null };
    },
    async onnxModel() {
      if (s.perPrompt) return { reason: s.perPrompt };
      return s.routed ? SAPT_MODEL : ADAPTER;
    },
    text: (ids) => ids.join(' '),
    async answer() {
      throw new Error('the answerer does not call answer()');
    },
    dispose: () => { counts.disposed++; },
  };
  // Logits that make the greedy decoder emit ortTokens, then the stop id.
  const session: LogitsSession = {
    async logits(ids, batch, seq, promptMask) {
      counts.forwards++;
      assert.deepEqual(Array.from(promptMask!), Array.from({ length: seq }, (_, t) => (t < 3 ? 1 : 0)), 'the prompt mask marks the 3 prompt tokens');
      if (s.ortFailsFrom !== undefined && counts.forwards >= s.ortFailsFrom) throw new Error('device lost');
      clock.advance(s.ortForwardMs);
      assert.equal(batch, 1);
      const generated = seq - 3;
      const next = ortTokens[generated] ?? STOP;
      const data = new Float32Array(batch * seq * VOCAB);
      data[(seq - 1) * VOCAB + next] = 1;
      assert.equal(ids.length, seq);
      return s.routed ? { data, vocab: VOCAB, routing: { data: Float32Array.from(s.routed), blocks: s.routed.length } } : { data, vocab: VOCAB };
    },
    async release() {
      counts.released++;
    },
  };
  const factory: OrtDecoderFactory = {
    backend: 'fake onnxruntime',
    async open(bytes) {
      counts.opened++;
      opened.push(bytes);
      return session;
    },
  };
  const answerer = new PlaygroundAnswerer(trained, {
    model: MODEL,
    ort: async () => {
      if (s.ortLoadError) throw new Error(s.ortLoadError);
      return factory;
    },
    timing: { warmup: 1, minMs: 0, maxIters: 1, now: clock.now },
  });
  return { answerer, counts, opened };
}

describe('playground backend choice (fake runners)', () => {
  it('onnxruntime answers when its whole answer is faster, and keeps answering without comparing again', async () => {
    // Engine: 100 ms an answer. onnxruntime: 4 forward passes (3 tokens and the stop) of 10 ms = 40 ms.
    const { answerer, counts, opened } = setup({ engineMs: 100, ortForwardMs: 10 });
    const first = await answerer.answer('zap', 0);
    assert.equal(first.text, '5 6 7');
    assert.equal(first.backend?.backend, 'onnxruntime');
    assert.equal(first.backend?.label, 'fake onnxruntime');
    assert.equal(first.backend?.engineMs, 100);
    assert.equal(first.backend?.ortMs, 40);
    assert.equal(first.backend?.ortWarmupMs, 40);
    assert.equal(first.backend?.measuredNow, true);
    assert.deepEqual(first.backend?.comparedOn, { promptTokens: 3, maxNewTokens: 4 });
    assert.equal(first.backend!.reason, 'onnxruntime-web is faster (40.0 ms against 100 ms)');
    assert.equal(first.backend!.exportedWith, 'its one LoRA merged');
    assert.deepEqual([counts.generate, counts.forwards], [2, 8], 'a warm-up and a timed answer on each backend');

    const second = await answerer.answer('mog', 1);
    assert.equal(second.text, '5 6 7');
    assert.equal(second.backend?.backend, 'onnxruntime');
    assert.equal(second.backend?.measuredNow, false);
    assert.deepEqual([counts.generate, counts.forwards, counts.opened], [2, 12, 1], 'answered by onnxruntime alone, nothing re-measured');

    // The export onnxruntime opened is the model with the adapter merged.
    const model = onnx.ModelProto.decode(opened[0]);
    assert.match(model.docString ?? '', /with the LoRA adapter seqlora adapter merged \(r=2, alpha=4 on q_proj, v_proj\)/);

    await answerer.dispose();
    assert.deepEqual([counts.released, counts.disposed], [1, 1]);
  });

  it('SAPT exports with its blocks and router: onnxruntime gets the prompt mask and its routing is the answer\'s weights', async () => {
    const { answerer, counts, opened } = setup({ engineMs: 100, ortForwardMs: 10, routed: [0.25, 0.75] });
    const first = await answerer.answer('zap', 0);
    assert.equal(first.backend?.backend, 'onnxruntime');
    assert.equal(first.backend?.exportedWith, 'its task LoRAs and its selector, routed per prompt');
    assert.deepEqual(first.weights, [0.25, 0.75], 'the weights onnxruntime routed with, not the engine\'s');
    const second = await answerer.answer('mog', 1);
    assert.deepEqual(second.weights, [0.25, 0.75]);
    assert.deepEqual([counts.opened, counts.generate], [1, 2], 'one export for every prompt and task');
    const graph = onnx.ModelProto.decode(opened[0]).graph!;
    assert.deepEqual(graph.input!.map((v) => v.name), ['input_ids', 'prompt_mask']);
    assert.deepEqual(graph.output!.map((v) => v.name), ['logits', 'routing']);
    await answerer.dispose();
  });

  it('SAPT answered by the engine reports the engine\'s weights', async () => {
    const { answerer } = setup({ engineMs: 20, ortForwardMs: 10, routed: [0.25, 0.75] });
    const first = await answerer.answer('zap', 0);
    assert.equal(first.backend?.backend, 'engine');
    assert.deepEqual(first.weights, [0.5, 0.5]);
  });

  it('the engine answers when it is faster, and onnxruntime is released', async () => {
    const { answerer, counts } = setup({ engineMs: 20, ortForwardMs: 10 });
    const first = await answerer.answer('zap', 0);
    assert.equal(first.backend?.backend, 'engine');
    assert.equal(first.backend?.label, 'clora engine');
    assert.deepEqual([first.backend?.engineMs, first.backend?.ortMs], [20, 40]);
    assert.match(first.backend!.reason, /^the engine is faster/);
    assert.equal(counts.released, 1);
    await answerer.answer('mog', 0);
    assert.deepEqual([counts.generate, counts.forwards], [3, 8], 'the second answer is the engine\'s');
  });

  it('a tie keeps the engine', async () => {
    const { answerer } = setup({ engineMs: 41, ortForwardMs: 10 });
    const first = await answerer.answer('zap', 0);
    assert.equal(first.backend?.backend, 'engine');
    assert.match(first.backend!.reason, /^a tie within 5%/);
  });

  it('onnxruntime-web failing to load keeps the engine and says why', async () => {
    const { answerer, counts } = setup({ engineMs: 100, ortForwardMs: 1, ortLoadError: 'no available backend found. ERR: [webgpu] WebGPU is not supported' });
    const first = await answerer.answer('zap', 0);
    assert.equal(first.text, '5 6 7');
    assert.equal(first.backend?.backend, 'engine');
    assert.equal(first.backend?.ortMs, null);
    assert.equal(first.backend?.ortSetupMs, null);
    assert.equal(first.backend?.exportedWith, null);
    assert.match(first.backend!.reason, /^onnxruntime-web could not run: no available backend found\. ERR: \[webgpu\] WebGPU is not supported/);
    assert.equal(counts.forwards, 0);
  });

  it('a faster onnxruntime whose tokens differ keeps the engine', async () => {
    const { answerer, counts } = setup({ engineMs: 100, ortForwardMs: 1, ortTokens: [5, 8, 7] });
    const first = await answerer.answer('zap', 0);
    assert.equal(first.backend?.backend, 'engine');
    assert.equal(first.text, '5 6 7');
    assert.match(first.backend!.reason, /differed from the engine's \(token 2: the engine's 6, onnxruntime's 8\)/);
    assert.equal(counts.released, 1);
  });

  it('a method that cannot be exported never tries onnxruntime', async () => {
    const { answerer, counts } = setup({ engineMs: 100, ortForwardMs: 1, perPrompt: 'conpet-dynamic picks its task LoRAs per prompt with a learnt selector' });
    const first = await answerer.answer('zap', 0);
    assert.equal(first.backend?.backend, 'engine');
    assert.equal(first.backend?.reason, 'conpet-dynamic picks its task LoRAs per prompt with a learnt selector, so the engine answers');
    assert.equal(first.backend?.engineMs, null);
    assert.deepEqual([counts.generate, counts.opened, counts.forwards], [1, 0, 0]);
  });

  it('onnxruntime failing on a later answer hands over to the engine for good', async () => {
    // 8 forward passes compare (warm-up and timed answers); the 9th, in the next answer, fails.
    const { answerer, counts } = setup({ engineMs: 100, ortForwardMs: 10, ortFailsFrom: 9 });
    assert.equal((await answerer.answer('zap', 0)).backend?.backend, 'onnxruntime');
    const later = await answerer.answer('mog', 0);
    assert.equal(later.text, '5 6 7');
    assert.equal(later.backend?.backend, 'engine');
    assert.match(later.backend!.reason, /onnxruntime-web failed on a later answer \(device lost\)/);
    assert.equal(counts.released, 1);
    await answerer.answer('kiv', 0);
    assert.equal(counts.forwards, 9, 'not tried again');
  });
});

describe('tokenDifference', () => {
  it('names the first differing token or the lengths', () => {
    assert.equal(tokenDifference([1, 2, 3], [1, 2, 3]), null);
    assert.equal(tokenDifference([1, 2, 3], [1, 4, 3]), "token 2: the engine's 2, onnxruntime's 4");
    assert.equal(tokenDifference([1, 2], [1, 2, 3]), 'the engine gave 2 tokens, onnxruntime 3');
  });
});

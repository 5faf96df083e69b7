// `npm run bench`: matmul GFLOP/s at several sizes (both matmul kernels), and forward and LoRA training-step
// tokens/s for the bundled models and for a random model with SmolLM2-135M's shapes, on the adapter found.
// A benchmark, not a test: it prints figures (and writes bench-output/engine.json), it asserts nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createNodeGpu } from '../src/gpu/node-device.ts';
import type { Gpu } from '../src/gpu/context.ts';
import { Plan } from '../src/gpu/plan.ts';
import { recordMatmul } from '../src/gpu/kernels/matmul.ts';
import { dirSource } from '../src/io/node-files.ts';
import { memorySource, type FileSource } from '../src/io/files.ts';
import { Session } from '../src/engine/session.ts';
import { expectedWeightShapes } from '../src/model/weights.ts';
import { parseModelConfig } from '../src/model/config.ts';
import { writeSafetensors } from '../src/model/safetensors.ts';
import { createRng } from '../src/model/rng.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    full: { type: 'boolean' },
    'smol-batch': { type: 'string' },
    'smol-seq': { type: 'string' },
  },
});

const gpu = await createNodeGpu();
const software = gpu.adapter.isSoftware;
// SwiftShader runs at about 1 GFLOP/s: keep sizes small there unless --full is given.
const big = values.full || !software;
const results: Record<string, unknown> = { adapter: gpu.adapter, date: new Date().toISOString() };

async function timeIt(run: () => void | Promise<void>, minMs: number, maxIters = 1000): Promise<number> {
  await run();
  await gpu.flush();
  let iters = 0;
  const t0 = performance.now();
  while (iters < maxIters) {
    await run();
    iters++;
    if (iters % 4 === 0 || iters === 1) await gpu.flush();
    if (performance.now() - t0 > minMs) break;
  }
  await gpu.flush();
  return (performance.now() - t0) / iters;
}

async function benchMatmul(gpu: Gpu): Promise<void> {
  const sizes: [number, number, number][] = big
    ? [[256, 256, 256], [1024, 1024, 1024], [2048, 2048, 2048], [2048, 576, 576], [2048, 1536, 576], [2048, 49152, 576]]
    : [[64, 64, 64], [128, 128, 128], [256, 256, 256], [256, 576, 576]];
  console.log('\nmatmul (f32, C = A Bᵀ, B stored [N, K] like a Linear weight; tiled = workgroup tiles, vec4 = no workgroup memory)');
  const rows: unknown[] = [];
  for (const [M, N, K] of sizes) {
    const a = gpu.createBuffer('a', M * K * 4);
    const b = gpu.createBuffer('b', N * K * 4);
    const c = gpu.createBuffer('c', M * N * 4);
    const line: string[] = [];
    for (const kernel of ['tiled', 'vec4'] as const) {
      const plan = new Plan('bench.matmul');
      const reps = 8;
      for (let i = 0; i < reps; i++) recordMatmul(gpu, plan, { a, b, c, M, N, K, transB: true, kernel });
      const ms = (await timeIt(() => plan.submit(gpu.device), software ? 1500 : 500)) / reps;
      const gflops = (2 * M * N * K) / (ms * 1e6);
      line.push(`${kernel} ${ms.toFixed(3).padStart(10)} ms ${gflops.toFixed(2).padStart(9)} GFLOP/s`);
      rows.push({ M, N, K, kernel, ms, gflops });
    }
    console.log(`  ${`${M}x${N}x${K}`.padEnd(18)} ${line.join('   ')}`);
    for (const x of [a, b, c]) gpu.destroyBuffer(x);
  }
  results.matmul = rows;
}

/** A random model with the given config, as an in-memory HF folder. */
function randomModel(config: Record<string, unknown>): FileSource {
  const cfg = parseModelConfig(config);
  const rng = createRng(1);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, shape] of expectedWeightShapes(cfg)) {
    const n = shape.reduce((x, y) => x * y, 1);
    const data = new Float32Array(n);
    const isNorm = name.endsWith('norm.weight');
    for (let i = 0; i < n; i++) data[i] = isNorm ? 1 : (rng.uniform() * 2 - 1) * 0.05;
    tensors[name] = { shape, data };
  }
  return memorySource({ 'config.json': JSON.stringify(config), 'model.safetensors': writeSafetensors(tensors) }, 'random model');
}

const SMOL = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 576, intermediate_size: 1536,
  num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152,
  rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, max_position_embeddings: 8192, hidden_act: 'silu',
};

async function benchModel(label: string, src: FileSource, batch: number, seq: number, minMs: number): Promise<void> {
  const session = await Session.open(gpu, src, {
    lora: { rank: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    train: { lr: 1e-4 },
  });
  try {
    const V = session.config.vocabSize;
    const rng = createRng(2);
    const ids = Int32Array.from({ length: batch * seq }, () => Math.floor(rng.uniform() * V));
    const tb = { ids, labels: ids.slice(), batchSize: batch, seqLen: seq };
    const fwdMs = await timeIt(async () => { await session.forward(tb); }, minMs, 50);
    const trainMs = await timeIt(async () => { await session.trainStep(tb); }, minMs, 50);
    const tokens = batch * seq;
    const row = {
      model: label, batch, seq, params: session.info.numParams, loraParams: session.info.loraParams,
      forwardMs: fwdMs, forwardTokensPerSec: tokens / (fwdMs / 1000),
      trainStepMs: trainMs, trainTokensPerSec: tokens / (trainMs / 1000),
      gpuMiB: session.gpuBytes / 2 ** 20,
    };
    console.log(`  ${label.padEnd(28)} B=${batch} T=${seq}  forward ${row.forwardTokensPerSec.toFixed(1).padStart(9)} tok/s (${fwdMs.toFixed(1)} ms)` +
      `  train step ${row.trainTokensPerSec.toFixed(1).padStart(9)} tok/s (${trainMs.toFixed(1)} ms)  GPU ${row.gpuMiB.toFixed(0)} MiB`);
    (results.models as unknown[]).push(row);
  } finally {
    session.destroy();
  }
}

const name = [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description].filter(Boolean).join(' / ');
console.log(`adapter: ${name}${software ? ' (software: timings say nothing about a GPU; compare ratios only)' : ''}`);
await benchMatmul(gpu);
results.models = [];
console.log('\nmodels (LoRA r=8 on all seven projections; forward = logits; train step = forward, loss, backward, AdamW)');
await benchModel('tiny-random (bundled)', dirSource('public/models/tiny-random'), 4, 64, software ? 2000 : 1000);
await benchModel('demo (bundled, pretrained)', dirSource('public/models/demo'), 8, 64, software ? 4000 : 1000);
if (!values.quick) {
  const batch = Number(values['smol-batch'] ?? (big ? 8 : 1));
  const seq = Number(values['smol-seq'] ?? (big ? 256 : 32));
  await benchModel('SmolLM2-135M shapes (random)', randomModel(SMOL), batch, seq, software ? 1 : 2000);
}
mkdirSync('bench-output', { recursive: true });
writeFileSync('bench-output/engine.json', JSON.stringify(results, null, 2));
console.log('\nwrote bench-output/engine.json');
gpu.device.destroy();
process.exit(0);

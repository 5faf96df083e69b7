// `npm run bench`: matmul GFLOP/s at several sizes (both matmul kernels), a LoRA projection fused and in separate passes, forward and LoRA training-step tokens/s
// and the time of a batch of greedy answers for the bundled models and for a random model with SmolLM2-135M's shapes, and the engine's forward against
// onnxruntime-web's on the same models (WebGPU on the same device when it can run, else its wasm backend), on the
// adapter found. `--browser` runs the comparison in headless Chromium instead (bench/browser/run.ts).
// A benchmark, not a test: it prints figures (and writes bench-output/engine.json), it asserts nothing.
// `--plan` runs the plan profiler instead (bench/plan-profiler.ts, docs/PROFILER.md); `--real-shapes` the released models'
// shapes with their load's peak memory (bench/real-shapes.ts); `--read-budget` the time and memory of reading a 300 MB task (bench/read-budget.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createNodeGpu } from '../src/gpu/node-device.ts';
import type { Gpu } from '../src/gpu/context.ts';
import { Plan } from '../src/gpu/plan.ts';
import { recordMatmul, type MatmulCompute, type MatmulKernel } from '../src/gpu/kernels/matmul.ts';
import { dirSource } from '../src/io/node-files.ts';
import type { FileSource } from '../src/io/files.ts';
import { Session } from '../src/engine/session.ts';
import { exportOnnx } from '../src/export/export-model.ts';
import { createRng } from '../src/model/rng.ts';
import { formatBytes } from '../src/report/format.ts';
import { wasmDecoderFactory } from '../src/ort/ort-decoder.ts';
import { nodeWasmOrt, nodeWebGpuDecoders } from '../src/ort/node-ort.ts';
import { runBrowserComparison } from './browser/run.ts';
import { comparisonHeader, compareForward, formatComparisonRow, pickOrtBackend } from './forward-comparison.ts';
import { BENCH_LORA, benchModels, benchModelSource, type BenchModel } from './models.ts';
import { formatPlanProfile, parseTargets, planProfile, pytorchStepMs } from './plan-profiler.ts';
import { runReadBudget } from './read-budget.ts';
import { runBrowserReadBudget } from './browser/read-budget.ts';
import { runRealShapes } from './real-shapes.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    full: { type: 'boolean' },
    browser: { type: 'boolean' },
    // Only the models' forward and training-step tokens/s (to compare adapters, e.g. CLORA_ADAPTER=lavapipe and swiftshader).
    'models-only': { type: 'boolean' },
    'smol-batch': { type: 'string' },
    'smol-seq': { type: 'string' },
    // The plan profiler: --plan [--model NAME|DIR] [--batch N] [--seq N] [--rank N] [--lora-targets all|q,v,...]
    // [--record-as h100|m2|igpu] [--memory-budget MIB] [--timestamps] [--reps N] [--json] [--json-out FILE] [--pytorch FILE] [--roles N].
    plan: { type: 'boolean' },
    model: { type: 'string' },
    batch: { type: 'string' },
    seq: { type: 'string' },
    rank: { type: 'string' },
    'lora-targets': { type: 'string' },
    'record-as': { type: 'string' },
    timestamps: { type: 'boolean' },
    reps: { type: 'string' },
    json: { type: 'boolean' },
    'json-out': { type: 'string' },
    'memory-budget': { type: 'string' },
    pytorch: { type: 'string' },
    roles: { type: 'string' },
    // Released models' shapes: --real-shapes [--models a,b] [--batch N] [--seq N] (bench/real-shapes.ts).
    'real-shapes': { type: 'boolean' },
    // Reading a big task file: --read-budget [--file F.jsonl] [--mb N] [--uncapped] [--cli BIN] [--timeout-s N] (bench/read-budget.ts);
    // with --browser [--app DIR], the app's worker heap while it reads the file (bench/browser/read-budget.ts).
    'read-budget': { type: 'boolean' },
    file: { type: 'string' },
    mb: { type: 'string' },
    uncapped: { type: 'boolean' },
    cli: { type: 'string' },
    'timeout-s': { type: 'string' },
    app: { type: 'string' },
    models: { type: 'string' },
  },
});
const smolBatch = values['smol-batch'] === undefined ? undefined : Number(values['smol-batch']);
const smolSeq = values['smol-seq'] === undefined ? undefined : Number(values['smol-seq']);

if (values.plan) {
  await runPlanProfiler();
  process.exit(0);
}

if (values['read-budget'] && values.browser) {
  await runBrowserReadBudget({ file: values.file, mb: values.mb === undefined ? undefined : Number(values.mb), app: values.app });
  process.exit(0);
}

if (values['read-budget']) {
  await runReadBudget({ file: values.file, mb: values.mb === undefined ? undefined : Number(values.mb), uncapped: values.uncapped, cli: values.cli,
    timeoutSeconds: values['timeout-s'] === undefined ? undefined : Number(values['timeout-s']) });
  process.exit(0);
}

if (values['real-shapes']) {
  await runRealShapes({
    models: values.models?.split(',').map((m) => m.trim()).filter(Boolean),
    batch: values.batch === undefined ? undefined : Number(values.batch),
    seq: values.seq === undefined ? undefined : Number(values.seq),
  });
  process.exit(0);
}

/** `--plan`: records (and with --timestamps, times) the plans of one model shape; see bench/plan-profiler.ts. */
async function runPlanProfiler(): Promise<void> {
  const int = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  const timingGpu = values.timestamps ? await createNodeGpu() : undefined;
  const result = await planProfile({
    model: values.model ?? 'smollm2-135m', batch: int('batch', values.batch, 8), seq: int('seq', values.seq, 256),
    rank: int('rank', values.rank, 8), targets: parseTargets(values['lora-targets'] ?? 'all'), recordAs: values['record-as'],
    timingGpu, reps: int('reps', values.reps, 3),
    // A fixed budget in MiB instead of the one derived from the recording profile's limits.
    ...(values['memory-budget'] ? { memory: { budgetBytes: int('memory-budget', values['memory-budget'], 1) * 2 ** 20 } } : {}),
  });
  const pytorchMs = values.pytorch ? pytorchStepMs(values.pytorch) : null;
  const measured = result.timed?.train.measured_ms;
  // Against PyTorch's step (the GPU kit runs both), and the measured arithmetic rate against the recording profile's f32 peak.
  const ratios = measured === undefined ? null : {
    f32_peak_fraction: result.timed!.train.gflops / (result.profiles[result.recordedAs].f32Tflops * 1e3),
    pytorch_step_ms: pytorchMs, step_over_pytorch: pytorchMs ? measured / pytorchMs : null,
  };
  const json = JSON.stringify({ ...result, ...(ratios ? { ratios } : {}) });
  if (values['json-out']) writeFileSync(values['json-out'], json + '\n');
  if (values.json) {
    console.log(json);
  } else {
    console.log(formatPlanProfile(result, int('roles', values.roles, 25)));
    if (ratios) {
      console.log(`\nmeasured step ${measured!.toFixed(2)} ms: ${(100 * ratios.f32_peak_fraction).toPrecision(3)} % of ${result.recordedAs}'s f32 peak` +
        (ratios.step_over_pytorch ? `; ${ratios.step_over_pytorch.toFixed(2)} x PyTorch's ${ratios.pytorch_step_ms!.toFixed(2)} ms step` : values.pytorch ? `; no step_ms in ${values.pytorch}` : ''));
    }
  }
  if (timingGpu) timingGpu.device.destroy();
}

if (values.browser) {
  await runBrowserComparison({ quick: !!values.quick, full: !!values.full, smolBatch, smolSeq });
  process.exit(0);
}

const gpu = await createNodeGpu();
const software = gpu.adapter.isSoftware;
// SwiftShader runs at about 1 GFLOP/s: keep sizes small there unless --full is given.
const big = values.full || !software;
const results: Record<string, unknown> = { adapter: gpu.adapter, date: new Date().toISOString() };
const models = benchModels({ software, quick: !!values.quick, full: !!values.full, smolBatch, smolSeq });
const bundledDir = (name: string) => dirSource(`public/models/${name}`);

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
  // With shader-f16, also the tiled kernel with f16 products summed in f32 (the engine's compute 'f16').
  const variants: { name: string; kernel: MatmulKernel; compute: MatmulCompute }[] = [
    { name: 'tiled', kernel: 'tiled', compute: 'f32' },
    { name: 'vec4', kernel: 'vec4', compute: 'f32' },
    ...(gpu.hasF16 ? [{ name: 'tiled f16', kernel: 'tiled' as const, compute: 'f16' as const }] : []),
  ];
  console.log('\nmatmul (C = A Bᵀ, B stored [N, K] like a Linear weight; tiled = workgroup tiles, vec4 = no workgroup memory; f32 unless named f16)');
  const rows: unknown[] = [];
  const maxBinding = gpu.device.limits.maxStorageBufferBindingSize;
  for (const [M, N, K] of sizes) {
    const largest = Math.max(M * K, N * K, M * N) * 4;
    if (largest > maxBinding) {
      console.log(`  ${`${M}x${N}x${K}`.padEnd(18)} skipped: one operand takes ${formatBytes(largest)}, more than this device binds at once (${formatBytes(maxBinding)})`);
      rows.push({ M, N, K, skipped: `operand of ${largest} bytes above maxStorageBufferBindingSize ${maxBinding}` });
      continue;
    }
    const a = gpu.createBuffer('a', M * K * 4);
    const b = gpu.createBuffer('b', N * K * 4);
    const c = gpu.createBuffer('c', M * N * 4);
    const line: string[] = [];
    for (const { name, kernel, compute } of variants) {
      const plan = new Plan('bench.matmul');
      const reps = 8;
      for (let i = 0; i < reps; i++) recordMatmul(gpu, plan, { a, b, c, M, N, K, transB: true, kernel, compute });
      const ms = (await timeIt(() => plan.submit(gpu.device), software ? 1500 : 500)) / reps;
      const gflops = (2 * M * N * K) / (ms * 1e6);
      line.push(`${name} ${ms.toFixed(3).padStart(10)} ms ${gflops.toFixed(2).padStart(9)} GFLOP/s`);
      rows.push({ M, N, K, kernel, compute, ms, gflops });
    }
    console.log(`  ${`${M}x${N}x${K}`.padEnd(18)} ${line.join('   ')}`);
    for (const x of [a, b, c]) gpu.destroyBuffer(x);
  }
  results.matmul = rows;
}

/**
 * One LoRA-adapted projection (SmolLM2-135M's q_proj, rank 8), both matmul kernels: the LoRA update fused into the base
 * matmul's epilogue (what the engine records) against the same work in separate passes (u = x Aᵀ, y = x Wᵀ, then
 * y += scale · u Bᵀ, one more read and write of y), the fused projection with the weight in BF16 (a BF16
 * checkpoint's), and the fused projection mixing 6 blocks per example (SAPT after six tasks), timed in the same run.
 */
async function benchLoraProjection(gpu: Gpu): Promise<void> {
  const [M, N, K, r] = big ? [2048, 576, 576, 8] : [256, 576, 576, 8];
  console.log(`\nLoRA projection ${M}x${N}x${K}, rank ${r}: the update fused into the matmul epilogue vs separate passes; the weight in BF16 vs f32; 6 blocks mixed per example vs 1 (64 tokens an example)`);
  const buf = (label: string, floats: number) => gpu.createBuffer(label, floats * 4);
  const x = buf('x', M * K), w = buf('w', N * K), A = buf('A', r * K), B = buf('B', N * r), u = buf('u', M * r), y = buf('y', M * N);
  const wHalf = gpu.createBuffer('w.bf16', N * K * 2);
  const J = 6;
  const uJ = buf('u.blocks', M * J * r), BJ = buf('B.blocks', J * N * r), mix = buf('mix', (M / 64) * J);
  const rows: unknown[] = [];
  for (const kernel of ['tiled', 'vec4'] as const) {
    const line: string[] = [];
    const times: Record<string, number> = {};
    for (const variant of ['separate', 'fused', 'fused-bf16', 'fused-6-blocks'] as const) {
      const plan = new Plan('bench.lora');
      const reps = 8;
      for (let i = 0; i < reps; i++) {
        if (variant === 'fused-6-blocks') {
          recordMatmul(gpu, plan, { a: x, b: A, c: uJ, M, N: J * r, K, transB: true, kernel });
          recordMatmul(gpu, plan, { a: x, b: w, c: y, M, N, K, transB: true, kernel,
            lora: { layout: 'out-major', u: uJ, l: BJ, rank: r, blocks: J, scale: 2, mix, seq: 64 } });
          continue;
        }
        recordMatmul(gpu, plan, { a: x, b: A, c: u, M, N: r, K, transB: true, kernel });
        if (variant !== 'separate') {
          const weight = variant === 'fused' ? { b: w } : { b: wHalf, bFormat: 'bf16' as const };
          recordMatmul(gpu, plan, { a: x, ...weight, c: y, M, N, K, transB: true, kernel, lora: { layout: 'out-major', u, l: B, rank: r, blocks: 1, scale: 2 } });
        } else {
          recordMatmul(gpu, plan, { a: x, b: w, c: y, M, N, K, transB: true, kernel });
          recordMatmul(gpu, plan, { a: u, b: B, c: y, M, N, K: r, transB: true, alpha: 2, beta: 1, kernel });
        }
      }
      times[variant] = (await timeIt(() => plan.submit(gpu.device), software ? 1500 : 500)) / reps;
      line.push(`${variant} ${times[variant].toFixed(3).padStart(9)} ms`);
    }
    rows.push({
      M, N, K, r, kernel, separateMs: times.separate, fusedMs: times.fused, fusedBf16Ms: times['fused-bf16'], fused6BlocksMs: times['fused-6-blocks'],
      ratio: times.fused / times.separate,
    });
    console.log(`  ${kernel.padEnd(6)} ${line.join('   ')}\n         fused/separate ${(times.fused / times.separate).toFixed(2)}   ` +
      `bf16/f32 ${(times['fused-bf16'] / times.fused).toFixed(2)}   6 blocks/1 ${(times['fused-6-blocks'] / times.fused).toFixed(2)}`);
  }
  for (const b of [x, w, A, B, u, y, wHalf, uJ, BJ, mix]) gpu.destroyBuffer(b);
  results.loraProjection = rows;
}

/** New tokens of each greedy answer the model rows time. */
const GREEDY_NEW = 8;

async function benchModel(model: BenchModel, src: FileSource): Promise<void> {
  const { label, batch, seq, minMs } = model;
  const session = await Session.open(gpu, src, { lora: BENCH_LORA, train: { lr: 1e-4 } });
  try {
    const V = session.config.vocabSize;
    const rng = createRng(2);
    const ids = Int32Array.from({ length: batch * seq }, () => Math.floor(rng.uniform() * V));
    const tb = { ids, labels: ids.slice(), batchSize: batch, seqLen: seq };
    const trainMs = await timeIt(async () => { await session.trainStep(tb); }, minMs, 50);
    // A training step's memory: weights, the LoRA parameters with their gradients and AdamW moments, the step's plans.
    const gpuMiB = session.gpuBytes / 2 ** 20;
    const fwdMs = await timeIt(async () => { await session.forward(tb); }, minMs, 50);
    // Evaluation's work: greedy answers of GREEDY_NEW tokens to `batch` prompts of `seq` tokens (a prefill, then KV-cache steps).
    const prompts = Array.from({ length: batch }, (_, b) => Array.from(ids.subarray(b * seq, (b + 1) * seq)));
    const greedyMs = await timeIt(async () => { await session.generate(prompts, { maxNewTokens: GREEDY_NEW, stopIds: [], batchSize: batch }); }, minMs, 50);
    const tokens = batch * seq;
    const row = {
      model: label, batch, seq, params: session.info.numParams, loraParams: session.info.loraParams,
      forwardMs: fwdMs, forwardTokensPerSec: tokens / (fwdMs / 1000),
      trainStepMs: trainMs, trainTokensPerSec: tokens / (trainMs / 1000),
      greedyMs, greedyNewTokens: GREEDY_NEW, gpuMiB,
      forwardDispatches: session.dispatchCount('forward', batch, seq), trainDispatches: session.dispatchCount('train', batch, seq),
    };
    console.log(`  ${label.padEnd(28)} B=${batch} T=${seq}  forward ${row.forwardTokensPerSec.toFixed(1).padStart(9)} tok/s (${fwdMs.toFixed(1)} ms)` +
      `  train step ${row.trainTokensPerSec.toFixed(1).padStart(9)} tok/s (${trainMs.toFixed(1)} ms)  GPU ${row.gpuMiB.toFixed(0)} MiB` +
      `  greedy answers (+${GREEDY_NEW} tokens) ${greedyMs.toFixed(1)} ms` +
      `  dispatches ${row.forwardDispatches} / ${row.trainDispatches}`);
    (results.models as unknown[]).push(row);
  } finally {
    session.destroy();
  }
}

/** The engine against onnxruntime-web: WebGPU on this process's Dawn device when it runs, else its wasm backend. */
async function benchOnnxRuntime(): Promise<void> {
  console.log('\nstarting onnxruntime-web (its first WebGPU run waits for V8 to compile its wasm module: a minute or two on 2 cores)');
  const probe = (await exportOnnx(bundledDir('tiny-random'))).bytes;
  const picked = await pickOrtBackend(() => nodeWebGpuDecoders(gpu), async () => wasmDecoderFactory(await nodeWasmOrt()), probe);
  console.log();
  for (const line of comparisonHeader({ ortBackend: picked.factory.backend, fallback: picked.fallback }, picked.startupMs)) console.log(line);
  const rows = await compareForward(gpu, picked.factory, models, (m) => benchModelSource(m, bundledDir), {
    onStart: (m) => process.stderr.write(`  (comparing ${m.label} at ${m.batch} x ${m.seq})\n`),
    onRow: (row) => console.log(formatComparisonRow(row)),
  });
  results.onnxruntime = { ortBackend: picked.factory.backend, fallback: picked.fallback, startupMs: picked.startupMs, rows };
}

const name = [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description].filter(Boolean).join(' / ');
console.log(`adapter: ${name}${software ? ' (software: timings say nothing about a GPU; compare ratios only)' : ''}`);
const modelsOnly = !!values['models-only'];
if (!modelsOnly) {
  await benchMatmul(gpu);
  await benchLoraProjection(gpu);
}
results.models = [];
console.log('\nmodels (LoRA r=8 on all seven projections; forward = logits; train step = forward, loss, backward, AdamW; GPU = memory of a training step; ' +
  `greedy answers = one answer of ${GREEDY_NEW} new tokens to each sequence of the batch, prefill and KV-cache steps; dispatches per forward / train step)`);
for (const model of models) await benchModel(model, benchModelSource(model, bundledDir));
if (!modelsOnly) await benchOnnxRuntime();
mkdirSync('bench-output', { recursive: true });
writeFileSync('bench-output/engine.json', JSON.stringify(results, null, 2));
console.log('\nwrote bench-output/engine.json');
gpu.device.destroy();
process.exit(0);

// The forward-pass comparison of `npm run bench` (the engine against onnxruntime-web on the same exported models and
// batches), shared by its Node and browser runs, which give it a GPU device and a factory of onnxruntime-web sessions.
import { compareBackends } from '../src/backends/compare.ts';
import { Session } from '../src/engine/session.ts';
import { exportOnnx } from '../src/export/export-model.ts';
import type { Gpu } from '../src/gpu/context.ts';
import { memorySource, type FileSource } from '../src/io/files.ts';
import { createRng } from '../src/model/rng.ts';
import type { LogitsSession, OrtDecoderFactory } from '../src/ort/ort-decoder.ts';
import { BENCH_LORA, type BenchModel } from './models.ts';

export interface ForwardComparisonRow {
  model: string;
  batch: number;
  seq: number;
  /** The onnxruntime-web backend, e.g. "onnxruntime-web WebGPU (same Dawn device)". */
  ortBackend: string;
  engineMs: number;
  engineTokensPerSec: number;
  engineIterations: number;
  /** null when onnxruntime-web could not run this model (see `error`). */
  ortMs: number | null;
  ortTokensPerSec: number | null;
  ortIterations: number;
  /** Engine tokens/s over onnxruntime tokens/s: above 1, the engine is faster. */
  ratio: number | null;
  /** Milliseconds to export the model with the adapter merged, and to open it in onnxruntime-web. */
  exportMs: number;
  ortSessionMs: number | null;
  /** Milliseconds of onnxruntime's untimed first run (shader compilation), and of the engine's. */
  ortFirstRunMs: number | null;
  engineFirstRunMs: number;
  /** max |engine - ORT| / max |engine| over the logits of the first runs. */
  relError: number | null;
  error: string | null;
}

export interface ComparisonReport {
  ortBackend: string;
  /** Why onnxruntime-web runs on this backend when WebGPU was not possible; null when it is WebGPU. */
  fallback: string | null;
  rows: ForwardComparisonRow[];
}

/** max |a - b| / max |a|. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cannot compare ${a.length} values with ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

function flatten(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * One model: the engine opens it with the bench's LoRA (r = 8 on all seven projections, as the model rows), the model
 * is exported with that adapter merged (src/export), and the engine's forward and onnxruntime-web's are timed on the
 * same random batch with src/backends/compare.ts, both reading the logits back to the CPU.
 */
export async function compareModelForward(gpu: Gpu, ort: OrtDecoderFactory, model: BenchModel, src: FileSource): Promise<ForwardComparisonRow> {
  const { batch, seq } = model;
  const session = await Session.open(gpu, src, { lora: BENCH_LORA, train: { lr: 1e-4 } });
  let decoder: LogitsSession | null = null;
  try {
    const t0 = performance.now();
    const adapter = memorySource({ ...(await session.exportAdapter()) }, 'bench adapter');
    const exported = await exportOnnx(src, { adapter });
    const exportMs = performance.now() - t0;
    const rng = createRng(2);
    const ids = Int32Array.from({ length: batch * seq }, () => Math.floor(rng.uniform() * session.config.vocabSize));
    const engine = async () => flatten(await session.forward({ ids, batchSize: batch, seqLen: seq }));
    let ortSessionMs: number | null = null;
    let ortRun: (() => Promise<Float32Array>) | Error;
    try {
      const t1 = performance.now();
      const opened = await ort.open(exported.bytes);
      decoder = opened;
      ortSessionMs = performance.now() - t1;
      ortRun = async () => (await opened.logits(ids, batch, seq)).data;
    } catch (e) {
      ortRun = new Error(message(e));
    }
    const c = await compareBackends(engine, ortRun, { warmup: 1, minMs: model.minMs, maxIters: 50 });
    const tokens = batch * seq;
    const ortTiming = c.ort.ok ? c.ort.timing : null;
    return {
      model: model.label, batch, seq, ortBackend: ort.backend,
      engineMs: c.engine.meanMs, engineTokensPerSec: tokens / (c.engine.meanMs / 1000), engineIterations: c.engine.iterations,
      ortMs: ortTiming?.meanMs ?? null, ortTokensPerSec: ortTiming ? tokens / (ortTiming.meanMs / 1000) : null, ortIterations: ortTiming?.iterations ?? 0,
      ratio: ortTiming ? ortTiming.meanMs / c.engine.meanMs : null,
      exportMs, ortSessionMs, ortFirstRunMs: ortTiming?.warmupMs ?? null, engineFirstRunMs: c.engine.warmupMs,
      relError: ortTiming ? relativeError(c.engine.first, ortTiming.first) : null,
      error: c.ort.ok ? null : c.ort.error,
    };
  } finally {
    await decoder?.release();
    session.destroy();
  }
}

/** Progress of compareForward: a model starts, a model's row is ready. */
export interface ComparisonHooks {
  onStart?(model: BenchModel): void;
  onRow?(row: ForwardComparisonRow): void;
}

/** Every model in turn (their sources opened one at a time, so one model is in memory); onnxruntime's failures become rows. */
export async function compareForward(
  gpu: Gpu, ort: OrtDecoderFactory, models: readonly BenchModel[], source: (m: BenchModel) => FileSource, hooks: ComparisonHooks = {},
): Promise<ForwardComparisonRow[]> {
  const rows: ForwardComparisonRow[] = [];
  for (const model of models) {
    hooks.onStart?.(model);
    const row = await compareModelForward(gpu, ort, model, source(model));
    hooks.onRow?.(row);
    rows.push(row);
  }
  return rows;
}

/**
 * The onnxruntime backend to compare with: `primary` (WebGPU) when it loads, opens `probe` (a small ONNX model) and
 * runs it; else `fallback` (wasm), with the reason. The probe's time is WebGPU's one-time start-up.
 */
export async function pickOrtBackend(
  primary: () => Promise<OrtDecoderFactory>, fallback: () => Promise<OrtDecoderFactory>, probe: Uint8Array,
): Promise<{ factory: OrtDecoderFactory; fallback: string | null; startupMs: number }> {
  const t0 = performance.now();
  try {
    const factory = await primary();
    const decoder = await factory.open(probe);
    try {
      await decoder.logits([1, 2, 3, 4], 1, 4);
    } finally {
      await decoder.release();
    }
    return { factory, fallback: null, startupMs: performance.now() - t0 };
  } catch (e) {
    const factory = await fallback();
    return { factory, fallback: `onnxruntime-web's WebGPU backend could not run here (${message(e)})`, startupMs: performance.now() - t0 };
  }
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (v: number | null, digits = 1) => (v === null ? '–' : v.toFixed(digits));
const secs = (ms: number | null) => (ms === null ? '–' : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

/** The table's header lines. */
export function comparisonHeader(report: Pick<ComparisonReport, 'ortBackend' | 'fallback'>, startupMs: number): string[] {
  return [
    'forward, clora engine against onnxruntime-web on the same model (exported with the engine\'s LoRA merged), same batch, logits read back by both',
    `  onnxruntime-web backend: ${report.ortBackend}${report.fallback ? ` — ${report.fallback}` : ''}; start-up (first session and run) ${secs(startupMs)}`,
    `  ${pad('model', 30)} ${pad('B x T', 9)} ${pad('engine tok/s (ms)', 22)} ${pad('ORT tok/s (ms)', 22)} ${pad('engine/ORT', 11)} ${pad('rel. err', 9)} ORT export + session + first run`,
  ];
}

/** One model's line of the table. */
export function formatComparisonRow(r: ForwardComparisonRow): string {
  const engine = `${num(r.engineTokensPerSec)} (${secs(r.engineMs)})`;
  const ort = r.ortMs === null ? `failed: ${r.error}` : `${num(r.ortTokensPerSec)} (${secs(r.ortMs)})`;
  const ratio = r.ratio === null ? '–' : `${r.ratio.toFixed(2)}x`;
  const err = r.relError === null ? '–' : r.relError.toExponential(1);
  const setup = `${secs(r.exportMs)} + ${secs(r.ortSessionMs)} + ${secs(r.ortFirstRunMs)}`;
  return `  ${pad(r.model, 30)} ${pad(`${r.batch} x ${r.seq}`, 9)} ${pad(engine, 22)} ${pad(ort, 22)} ${pad(ratio, 11)} ${pad(err, 9)} ${setup}`;
}

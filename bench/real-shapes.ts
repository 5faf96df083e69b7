// `npm run bench -- --real-shapes`: forward and LoRA training step of released models' shapes (SmolLM2-360M, Qwen2.5-0.5B,
// Qwen3-0.6B, gemma-3-270m) with random BF16 weights written to a temporary folder as real checkpoints, each loaded in a
// process of its own (bench/real-shape-step.ts) so that its peak resident memory is the load's and the step's alone.
// Prints the checkpoint's size, the load's time and peak RSS, tokens/s and the GPU memory of the training step, and
// writes bench-output/real-shapes.json. 1 x 64 tokens on a software adapter, 8 x 256 on a GPU. Not a test: it asserts nothing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MODEL_SHAPES } from './model-shapes.ts';

export const REAL_SHAPES = ['smollm2-360m', 'qwen2.5-0.5b', 'qwen3-0.6b', 'gemma-3-270m'];

/** One model's figures, as bench/real-shape-step.ts prints them. */
export interface RealShapeRow {
  model: string;
  adapter: string;
  software: boolean;
  batch: number;
  seq: number;
  checkpointBytes: number;
  loadMs: number;
  /** Peak resident memory of the process once the weights are on the GPU (a fresh process: the load's peak). */
  loadPeakRssBytes: number;
  /** Peak resident memory at the end, after the forward passes and training steps. */
  peakRssBytes: number;
  forwardMs: number;
  trainStepMs: number;
  gpuBytes: number;
}

const root = resolve(import.meta.dirname, '..');
const node = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/wgsl-loader.mjs', ...args], {
  cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24,
});

export async function runRealShapes(opts: { models?: string[]; batch?: number; seq?: number }): Promise<void> {
  const names = opts.models ?? REAL_SHAPES;
  for (const n of names) if (!MODEL_SHAPES[n]) throw new Error(`unknown model shape "${n}" (known: ${Object.keys(MODEL_SHAPES).join(', ')})`);
  const work = mkdtempSync(join(tmpdir(), 'clora-real-shapes-'));
  const rows: RealShapeRow[] = [];
  console.log('real model shapes, random BF16 weights (LoRA r=8 on all seven projections; RSS = peak resident memory of a fresh process)');
  try {
    for (const name of names) {
      const dir = join(work, name);
      const configFile = join(work, `${name}.config.json`);
      writeFileSync(configFile, JSON.stringify(MODEL_SHAPES[name]));
      process.stderr.write(`  (writing a random ${name} checkpoint)\n`);
      const written = node(['scripts/random-checkpoint.ts', '--config', configFile, '--out', dir]);
      if (written.status !== 0) throw new Error(`writing the ${name} checkpoint failed (exit ${written.status})`);
      const step = node(['bench/real-shape-step.ts', '--model', dir, '--name', name,
        ...(opts.batch ? ['--batch', String(opts.batch)] : []), ...(opts.seq ? ['--seq', String(opts.seq)] : [])]);
      const last = step.stdout.trim().split('\n').at(-1) ?? '';
      if (step.status !== 0 || !last.startsWith('{')) throw new Error(`${name}: the step process failed (exit ${step.status}): ${last}`);
      const row = JSON.parse(last) as RealShapeRow;
      rows.push(row);
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      const tokens = row.batch * row.seq;
      console.log(`  ${name.padEnd(14)} ${row.batch} x ${row.seq}  checkpoint ${mib(row.checkpointBytes)}  load ${(row.loadMs / 1000).toFixed(1)} s,` +
        ` peak RSS ${mib(row.loadPeakRssBytes)} (${(row.loadPeakRssBytes / row.checkpointBytes).toFixed(2)}x)` +
        `  forward ${(tokens / (row.forwardMs / 1000)).toFixed(1)} tok/s  train step ${(tokens / (row.trainStepMs / 1000)).toFixed(1)} tok/s` +
        `  GPU ${mib(row.gpuBytes)}  peak RSS at the end ${mib(row.peakRssBytes)}`);
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  mkdirSync('bench-output', { recursive: true });
  writeFileSync('bench-output/real-shapes.json', JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
  console.log('\nwrote bench-output/real-shapes.json');
}

/** The size of a checkpoint folder's weight files. */
export function checkpointBytes(dir: string): number {
  return statSync(join(dir, 'model.safetensors')).size;
}

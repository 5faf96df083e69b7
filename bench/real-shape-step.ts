// One model of `npm run bench -- --real-shapes` in a process of its own: loads the checkpoint folder (weights streamed
// to the GPU), notes the time and the process's peak resident memory, then times a forward pass and a LoRA training
// step and prints one JSON line (bench/real-shapes.ts's RealShapeRow).
import { parseArgs } from 'node:util';
import { Session } from '../src/engine/session.ts';
import { createNodeGpu } from '../src/gpu/node-device.ts';
import { dirSource } from '../src/io/node-files.ts';
import { createRng } from '../src/model/rng.ts';
import { BENCH_LORA } from './models.ts';
import { checkpointBytes, type RealShapeRow } from './real-shapes.ts';

const { values } = parseArgs({ options: { model: { type: 'string' }, name: { type: 'string' }, batch: { type: 'string' }, seq: { type: 'string' } } });
if (!values.model) throw new Error('usage: real-shape-step.ts --model DIR [--name NAME] [--batch N] [--seq N]');
const peakRss = () => process.resourceUsage().maxRSS * 1024;

const gpu = await createNodeGpu();
const software = gpu.adapter.isSoftware;
const batch = Number(values.batch ?? (software ? 1 : 8));
const seq = Number(values.seq ?? (software ? 64 : 256));
const t0 = performance.now();
const session = await Session.open(gpu, dirSource(values.model), { lora: BENCH_LORA, train: { lr: 1e-4 } });
const loadMs = performance.now() - t0;
const loadPeakRssBytes = peakRss();

const V = session.config.vocabSize;
const rng = createRng(2);
const ids = Int32Array.from({ length: batch * seq }, () => Math.floor(rng.uniform() * V));
const tb = { ids, labels: ids.slice(), batchSize: batch, seqLen: seq };
/** The second of two runs: the first compiles the pipelines and builds the plans. */
async function secondRunMs(run: () => Promise<unknown>): Promise<number> {
  await run();
  const t = performance.now();
  await run();
  return performance.now() - t;
}
const trainStepMs = await secondRunMs(() => session.trainStep(tb));
const gpuBytes = session.gpuBytes;
const forwardMs = await secondRunMs(() => session.forward(tb));
const row: RealShapeRow = {
  model: values.name ?? values.model, adapter: [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description].filter(Boolean).join(' / '),
  software, batch, seq, checkpointBytes: checkpointBytes(values.model), loadMs, loadPeakRssBytes, peakRssBytes: peakRss(),
  forwardMs, trainStepMs, gpuBytes,
};
console.log(JSON.stringify(row));
session.destroy();
gpu.device.destroy();
process.exit(0);

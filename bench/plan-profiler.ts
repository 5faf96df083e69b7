// `npm run bench -- --plan`: the dispatches of a LoRA training step and of a forward pass, by kernel class and by role,
// with their workgroups, FLOPs and bytes and a modelled time on named device profiles (src/gpu/device-profiles.ts).
// The plans are those a real Session builds, recorded on a device that allocates nothing (src/gpu/recording-device.ts)
// with a device profile's buffer limits, so SmolLM2-sized steps are counted in seconds on any machine. With
// --timestamps the same step also runs on this machine's adapter and each dispatch is timed with timestamp queries.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from '../src/engine/session.ts';
import type { Gpu } from '../src/gpu/context.ts';
import { DEVICE_PROFILES, deviceProfile, type DeviceProfile } from '../src/gpu/device-profiles.ts';
import { planDispatches, profilePass, type GroupProfile, type PassProfile } from '../src/gpu/plan-profile.ts';
import { timeDispatches } from '../src/gpu/plan-timing.ts';
import { createRecordingGpu, type RecordingStats } from '../src/gpu/recording-device.ts';
import type { FileSource } from '../src/io/files.ts';
import { dirSource } from '../src/io/node-files.ts';
import type { MemoryPolicy } from '../src/model/memory-estimate.ts';
import { PROJ_NAMES, type ProjName } from '../src/model/peft.ts';
import { createRng } from '../src/model/rng.ts';
import { analyticFlops } from '../src/model/step-flops.ts';
import { MODEL_SHAPES, shapedModel } from './model-shapes.ts';

export interface PlanProfileOptions {
  /** A named shape (MODEL_SHAPES), a bundled model (public/models/<name>) or a Hugging Face folder. */
  model: string;
  batch: number;
  seq: number;
  rank: number;
  targets: ProjName[];
  /** The profile whose buffer limits the plans are recorded under (default h100). */
  recordAs?: string;
  /** Memory policy fields (default: the engine's default policy). */
  memory?: Partial<MemoryPolicy>;
  /** Also run the step on `timingGpu` and time each dispatch. */
  timingGpu?: Gpu;
  reps?: number;
}

export interface TimedPass extends PassProfile {
  /** FLOPs of the pass over its measured time, in GFLOP/s. */
  gflops: number;
}

export interface PlanProfileResult {
  model: string;
  note: string | null;
  batch: number;
  seq: number;
  lora: { rank: number; targets: ProjName[] };
  recordedAs: string;
  savings: { recompute: boolean; lossChunkRows: number };
  profiles: Record<string, DeviceProfile>;
  train: PassProfile & { analytic_flops: number };
  forward: PassProfile & { analytic_flops: number };
  recording: RecordingStats;
  /** With a timing device: the step and forward pass as that device's plans ran, each dispatch timed. */
  timed?: { device: string; train: TimedPass; forward: TimedPass };
}

export const PROFILE_LIST: DeviceProfile[] = Object.values(DEVICE_PROFILES);

/** Parses `all` or a comma-separated list of projection names (q_proj or q). */
export function parseTargets(spec: string): ProjName[] {
  if (spec === 'all') return [...PROJ_NAMES];
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean).map((s) => (s.endsWith('_proj') ? s : `${s}_proj`));
  const bad = names.filter((n) => !(PROJ_NAMES as readonly string[]).includes(n));
  if (bad.length > 0 || names.length === 0) throw new Error(`--lora-targets ${spec}: expected "all" or a list of ${PROJ_NAMES.join(', ')}`);
  return names as ProjName[];
}

function resolveModel(model: string): { source: FileSource; note: string | null } {
  if (Object.prototype.hasOwnProperty.call(MODEL_SHAPES, model)) {
    const m = shapedModel(model);
    return { source: m.source, note: m.note };
  }
  // Bundled models: under the working directory (a checkout, as the GPU kit runs) or beside this file.
  const bundled = [join('public', 'models', model), join(import.meta.dirname, '..', 'public', 'models', model)].find((d) => existsSync(join(d, 'config.json')));
  if (/^[\w.-]+$/.test(model) && bundled) return { source: dirSource(bundled), note: null };
  if (existsSync(join(model, 'config.json'))) return { source: dirSource(model), note: null };
  throw new Error(`--model ${model}: not a named shape (${Object.keys(MODEL_SHAPES).join(', ')}), a bundled model or a folder with a config.json`);
}

async function openFor(gpu: Gpu, source: FileSource, o: PlanProfileOptions): Promise<Session> {
  return Session.open(gpu, source, { lora: { rank: o.rank, alpha: 2 * o.rank, dropout: 0.05, targets: o.targets }, memory: o.memory });
}

async function timedPasses(gpu: Gpu, source: FileSource, o: PlanProfileOptions): Promise<PlanProfileResult['timed']> {
  const session = await openFor(gpu, source, o);
  try {
    const V = session.config.vocabSize;
    const rng = createRng(3);
    const ids = Int32Array.from({ length: o.batch * o.seq }, () => Math.floor(rng.uniform() * V));
    const batch = { ids, labels: ids.slice(), batchSize: o.batch, seqLen: o.seq };
    // A real step and forward pass first: they write the inputs and step uniforms the timed replays read.
    await session.trainStep(batch);
    const pass = async (mode: 'train' | 'forward'): Promise<TimedPass> => {
      const plans = session.stepPlans(mode, o.batch, o.seq).plans;
      const measured = await timeDispatches(gpu, plans, o.reps ?? 3);
      const p = profilePass(planDispatches(plans), PROFILE_LIST, measured);
      return { ...p, gflops: p.flops / (p.measured_ms! * 1e6) };
    };
    const train = await pass('train');
    await session.forward(batch);
    const forward = await pass('forward');
    const a = gpu.adapter;
    return { device: [a.vendor, a.architecture, a.description].filter(Boolean).join(' / '), train, forward };
  } finally {
    session.destroy();
  }
}

export async function planProfile(o: PlanProfileOptions): Promise<PlanProfileResult> {
  const recordAs = deviceProfile(o.recordAs ?? 'h100');
  const { source, note } = resolveModel(o.model);
  const rec = createRecordingGpu(recordAs.limits, { description: `recording device with ${recordAs.name}'s limits` });
  const session = await openFor(rec.gpu, source, o);
  const { plans: trainPlans, savings: modelPlanSavings } = session.stepPlans('train', o.batch, o.seq);
  const forwardPlans = session.stepPlans('forward', o.batch, o.seq).plans;
  const shape = { batchSize: o.batch, seqLen: o.seq, rank: o.rank, targets: o.targets, recompute: modelPlanSavings.recompute };
  const result: PlanProfileResult = {
    model: o.model, note, batch: o.batch, seq: o.seq, lora: { rank: o.rank, targets: o.targets }, recordedAs: recordAs.name,
    savings: modelPlanSavings,
    profiles: Object.fromEntries(PROFILE_LIST.map((p) => [p.name, p])),
    train: { ...profilePass(planDispatches(trainPlans), PROFILE_LIST), analytic_flops: analyticFlops(session.config, shape, 'train') },
    forward: { ...profilePass(planDispatches(forwardPlans), PROFILE_LIST), analytic_flops: analyticFlops(session.config, shape, 'forward') },
    recording: { ...rec.stats },
  };
  session.destroy();
  if (o.timingGpu) result.timed = await timedPasses(o.timingGpu, source, o);
  return result;
}

/** 1.55 T, 231 G, 6.30 M: three significant figures with an SI prefix. */
function si(n: number): string {
  const [div, unit] = n >= 1e12 ? [1e12, 'T'] : n >= 1e9 ? [1e9, 'G'] : n >= 1e6 ? [1e6, 'M'] : n >= 1e3 ? [1e3, 'k'] : [1, ''];
  const v = n / div;
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${unit}`;
}
const G = (n: number) => si(n);
const MB = (n: number) => `${si(n)}B`;
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toFixed(3));

function groupTable(groups: GroupProfile[], profiles: string[], limit: number, measured: boolean): string[] {
  const head = `    ${'name'.padEnd(30)} ${'count'.padStart(6)} ${'wg min-max'.padStart(14)} ${'FLOPs'.padStart(10)} ${'bytes'.padStart(10)} ` +
    profiles.map((p) => `${p} ms`.padStart(10)).join(' ') + (measured ? ` ${'measured ms'.padStart(12)}` : '');
  const rows = groups.slice(0, limit).map((g) =>
    `    ${g.name.padEnd(30)} ${String(g.dispatches).padStart(6)} ${`${g.minWorkgroups}-${g.maxWorkgroups}`.padStart(14)} ${G(g.flops).padStart(10)} ${MB(g.bytes).padStart(10)} ` +
    profiles.map((p) => ms(g.modelled_ms[p]).padStart(10)).join(' ') + (measured ? ` ${ms(g.measured_ms ?? 0).padStart(12)}` : ''));
  if (groups.length > limit) rows.push(`    ... ${groups.length - limit} more`);
  return [head, ...rows];
}

function passLines(title: string, p: PassProfile & { analytic_flops?: number }, profiles: string[], roles: number): string[] {
  const modelled = profiles.map((n) => `${n} ${ms(p.modelled_ms[n])} ms`).join(', ');
  const lines = [
    `${title}: ${p.dispatches} dispatches, ${G(p.flops)}FLOP${p.analytic_flops !== undefined ? ` (analytic ${G(p.analytic_flops)}FLOP)` : ''}, ${MB(p.bytes)} moved; modelled ${modelled}`
      + (p.measured_ms !== undefined ? `; measured ${ms(p.measured_ms)} ms` : ''),
    `  thin: ${p.thin.dispatches} dispatches of more than 1 MFLOP in fewer than ${p.thin.below} workgroups (${G(p.thin.flops)}FLOP), modelled ` +
      profiles.map((n) => `${n} ${ms(p.thin.modelled_ms[n])} ms`).join(', '),
    '  by kernel class:',
    ...groupTable(p.classes, profiles, 100, p.measured_ms !== undefined),
    `  by role (top ${roles} by ${profiles[0]} time):`,
    ...groupTable(p.roles, profiles, roles, p.measured_ms !== undefined),
  ];
  return lines;
}

export function formatPlanProfile(r: PlanProfileResult, roles = 25): string {
  const names = Object.keys(r.profiles);
  const out = [
    `plan profile: ${r.model}, batch ${r.batch} x seq ${r.seq}, LoRA r ${r.lora.rank} on ${r.lora.targets.join(', ')}`,
    ...(r.note ? [`  note: ${r.note}`] : []),
    `  recorded with ${r.recordedAs}'s buffer limits (maxBufferSize ${r.profiles[r.recordedAs].limits.maxBufferSize}, maxStorageBufferBindingSize ` +
      `${r.profiles[r.recordedAs].limits.maxStorageBufferBindingSize}); memory policy: recompute ${r.savings.recompute ? 'on' : 'off'}, ` +
      `loss chunk ${r.savings.lossChunkRows > 0 ? `${r.savings.lossChunkRows} rows` : 'off'}`,
    `  device profiles: ${Object.values(r.profiles).map((p) => `${p.name} = ${p.description}, ${p.dispatchUs} us a dispatch`).join('; ')}`,
    '',
    ...passLines('training step', r.train, names, roles),
    '',
    ...passLines('forward pass', r.forward, names, Math.min(roles, 12)),
  ];
  if (r.timed) {
    out.push('', `timed on ${r.timed.device} (timestamp queries, one pass per dispatch):`);
    for (const [title, p] of [['training step', r.timed.train], ['forward pass', r.timed.forward]] as const) {
      out.push(...passLines(`  ${title}`, p, names, roles), `  ${title}: ${p.gflops.toFixed(2)} GFLOP/s measured`);
    }
  }
  return out.join('\n');
}

/** The time of a PyTorch step from bench/pytorch/peft_train_step.py's JSON output, or null when unreadable. */
export function pytorchStepMs(file: string): number | null {
  try {
    const v = (JSON.parse(readFileSync(file, 'utf8')) as { step_ms?: unknown }).step_ms;
    return typeof v === 'number' && v > 0 ? v : null;
  } catch {
    return null;
  }
}

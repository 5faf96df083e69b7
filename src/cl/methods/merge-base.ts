// The shared body of the continual-merging methods (OPCM, continual task arithmetic, running average): every task
// trains its own LoRA from the base model, as the oracle does, and is then folded into one merged adapter
// (src/cl/merge/factored-merge.ts) that answers every task without a task id. The merged adapter lives in its own
// one-block bank whose LoRA has the merged rank and lora_alpha = rank (scale 1, so B · A is the merged task vector).
import type { Bank } from '../../engine/bank.ts';
import type { EngineBatch, StepExtras } from '../../engine/session.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loraScale, writePeftAdapter, type LoraConfig } from '../../model/peft.ts';
import type { HostTensor } from '../../model/weights.ts';
import { ContinualMerge, type MergeSettings, type SiteFactors } from '../merge/factored-merge.ts';
import {
  blockAdapterFiles, EpochSampler, loraSpec, newDataBatch, numberOption, padBatch,
  type ContinualMethod, type MethodContext, type MethodOptions, type Routing,
} from './method.ts';
import { emptyState, type MethodState } from './state.ts';

const A_SUFFIX = '.lora_A.weight';
const B_SUFFIX = '.lora_B.weight';

/** The LoRA config of a merged adapter of rank `rank` over the run's projections: alpha = rank, so its scale is 1. */
export function mergedLoraConfig(lora: LoraConfig, rank: number): LoraConfig {
  return { ...lora, rank, alpha: rank, useRslora: false };
}

/** A task's PEFT tensors (A [r, in], B [out, r]) as factors by module (the key without `.lora_A.weight`). */
export function taskFactors(tensors: Map<string, HostTensor>): Map<string, SiteFactors> {
  const out = new Map<string, SiteFactors>();
  for (const [key, a] of tensors) {
    if (!key.endsWith(A_SUFFIX)) continue;
    const site = key.slice(0, -A_SUFFIX.length);
    const b = tensors.get(site + B_SUFFIX);
    if (!b) throw new Error(`the LoRA has ${key} but no ${site}${B_SUFFIX}`);
    const [rank, inDim] = a.shape;
    const [outDim, rankB] = b.shape;
    if (rankB !== rank) throw new Error(`${site}: lora_A has rank ${rank}, lora_B ${rankB}`);
    out.set(site, { a: a.data, b: b.data, out: outDim, in: inDim, rank });
  }
  return out;
}

/** The merged adapter as PEFT-keyed f32 tensors of one rank (the largest over projections, the rest zero-padded). */
export function mergedTensors(merge: ContinualMerge): { rank: number; tensors: Map<string, HostTensor> } {
  const rank = merge.maxRank;
  const tensors = new Map<string, HostTensor>();
  for (const site of merge.siteNames) {
    const f = merge.factors(site, rank);
    tensors.set(site + A_SUFFIX, { shape: [rank, f.in], data: Float32Array.from(f.a) });
    tensors.set(site + B_SUFFIX, { shape: [f.out, rank], data: Float32Array.from(f.b) });
  }
  return { rank, tensors };
}

/** The options every merge takes: the rank cap. */
export function rankCapOption(opts: MethodOptions, method: string): number | null {
  const cap = numberOption(opts, 'rankCap', 0, (v) => Number.isSafeInteger(v) && v >= 0, 'a non-negative integer (0: no cap)', method);
  return cap === 0 ? null : cap;
}

export class MergeMethod implements ContinualMethod {
  /** The bank the current task's own LoRA trains in (a fresh one per task). */
  private taskBank: Bank | null = null;
  /** The merged adapter, answering every task. */
  private mergedBank: Bank | null = null;
  private merge: ContinualMerge;
  private sampler: EpochSampler | null = null;

  constructor(readonly name: string, readonly settings: MergeSettings) {
    this.merge = new ContinualMerge(settings);
  }

  async beforeTask(ctx: MethodContext, t: number): Promise<void> {
    if (this.taskBank) ctx.session.releaseBank(this.taskBank);
    this.taskBank = await ctx.createBank(loraSpec(ctx, 1));
    ctx.session.useBank(this.taskBank);
    this.taskBank.setTrainable({ block: 0, router: false, head: false });
    ctx.session.resetOptimizer();
    this.sampler = new EpochSampler(ctx.tasks[t].train.length, ctx.rng);
  }

  batch(ctx: MethodContext, t: number, _step: number): EngineBatch {
    return padBatch(ctx, newDataBatch(ctx, this.sampler!, t));
  }

  extras(_ctx: MethodContext, _t: number, _step: number): StepExtras {
    return {};
  }

  async afterTask(ctx: MethodContext, t: number): Promise<void> {
    if (this.merge.tasks !== t) throw new Error(`${this.name}: merging task ${t + 1} after ${this.merge.tasks} merged tasks`);
    this.merge.add(taskFactors(await this.taskBank!.blockTensors(0)), loraScale(ctx.settings.lora));
    await this.uploadMerged(ctx);
  }

  /** Replaces the merged bank by one holding the current merge. */
  private async uploadMerged(ctx: MethodContext): Promise<void> {
    const { rank, tensors } = mergedTensors(this.merge);
    if (this.mergedBank) ctx.session.releaseBank(this.mergedBank);
    this.mergedBank = await ctx.createBank(loraSpec(ctx, 1, { lora: mergedLoraConfig(ctx.settings.lora, rank) }));
    this.mergedBank.params.upload(tensors);
  }

  async route(_ctx: MethodContext, _e: number, _prompts: number[][]): Promise<Routing> {
    if (!this.mergedBank) throw new Error(`${this.name} has merged no task yet`);
    return { bank: this.mergedBank };
  }

  async artifacts(ctx: MethodContext, t: number): Promise<Record<string, Uint8Array | string>> {
    const task = ctx.tasks[t].task.name;
    const { rank, tensors } = mergedTensors(this.merge);
    const merged = writePeftAdapter(mergedLoraConfig(ctx.settings.lora, rank), ctx.session.config, tensors);
    return {
      ...(await blockAdapterFiles(ctx, this.taskBank!, 0, `adapters/${task}`)),
      [`merged/${task}/${ADAPTER_CONFIG}`]: merged[ADAPTER_CONFIG],
      [`merged/${task}/${ADAPTER_WEIGHTS}`]: merged[ADAPTER_WEIGHTS],
    };
  }

  async saveState(_ctx: MethodContext, _t: number): Promise<MethodState> {
    const state = emptyState();
    const { json, float64 } = this.merge.pack();
    state.json.merge = json;
    for (const [key, v] of float64) state.float64.set(`merge/${key}`, v);
    return state;
  }

  async loadState(ctx: MethodContext, t: number, state: MethodState): Promise<void> {
    const json = state.json.merge as Record<string, unknown> | undefined;
    if (!json) throw new Error(`the saved ${this.name} state has no merge`);
    const float64 = new Map<string, Float64Array>();
    for (const [key, v] of state.float64) if (key.startsWith('merge/')) float64.set(key.slice('merge/'.length), v);
    const merge = ContinualMerge.unpack(json, float64, `${this.name} state`);
    if (merge.tasks !== t + 1) throw new Error(`the saved ${this.name} state merged ${merge.tasks} tasks, expected ${t + 1}`);
    if (JSON.stringify(merge.settings) !== JSON.stringify(this.settings)) {
      throw new Error(`the saved ${this.name} state merged with ${JSON.stringify(merge.settings)}, this run asks for ${JSON.stringify(this.settings)}`);
    }
    this.merge = merge;
    await this.uploadMerged(ctx);
    ctx.session.useBank(this.mergedBank);
  }

  dispose(ctx: MethodContext): void {
    if (this.taskBank) ctx.session.releaseBank(this.taskBank);
    if (this.mergedBank) ctx.session.releaseBank(this.mergedBank);
    this.taskBank = null;
    this.mergedBank = null;
  }
}

// The base of methods that add a LoRA block per task to a growing bank and freeze the earlier
// ones: IncLoRA (all blocks summed), O-LoRA (summed, with the orthogonality term), oracle per-task
// LoRA (the true task's block) and the task modules of dynamic ConPET.
import type { Bank, BankSpec, TrainSelection } from '../../engine/bank.ts';
import type { EngineBatch, StepExtras } from '../../engine/session.ts';
import {
  allBlocks, blockAdapterFiles, EpochSampler, loraSpec, newDataBatch, oneHot, padBatch, replaceBank,
  type ContinualMethod, type MethodContext, type Routing,
} from './method.ts';
import { emptyState, loadBank, saveBank, type MethodState } from './state.ts';

export abstract class BlockBankMethod implements ContinualMethod {
  protected bank: Bank | null = null;
  protected sampler: EpochSampler | null = null;

  constructor(readonly name: string) {}

  /** The bank's layout for `blocks` blocks (SAPT adds its router). */
  protected spec(ctx: MethodContext, blocks: number): BankSpec {
    return loraSpec(ctx, blocks);
  }

  /** What trains on task t: its block (and, for SAPT, the shared router). */
  protected trainSelection(_ctx: MethodContext, t: number): TrainSelection {
    return { block: t, router: false, head: false };
  }

  /** The mixture of a training batch of task t (rows rows), or undefined when the bank routes itself. */
  protected abstract trainMix(t: number, rows: number): Float32Array | undefined;

  async beforeTask(ctx: MethodContext, t: number): Promise<void> {
    const next = await ctx.createBank(this.spec(ctx, t + 1), this.bank ?? undefined);
    this.bank = replaceBank(ctx, this.bank, next);
    this.bank.setTrainable(this.trainSelection(ctx, t));
    ctx.session.resetOptimizer();
    this.sampler = new EpochSampler(ctx.tasks[t].train.length, ctx.rng);
  }

  batch(ctx: MethodContext, t: number, _step: number): EngineBatch {
    const b = padBatch(ctx, newDataBatch(ctx, this.sampler!, t));
    const mix = this.trainMix(t, b.batchSize);
    return mix ? { ...b, mix } : b;
  }

  extras(_ctx: MethodContext, _t: number, _step: number): StepExtras {
    return {};
  }

  async afterTask(_ctx: MethodContext, _t: number): Promise<void> {}

  abstract route(ctx: MethodContext, e: number, prompts: number[][]): Promise<Routing>;

  async artifacts(ctx: MethodContext, t: number): Promise<Record<string, Uint8Array | string>> {
    return blockAdapterFiles(ctx, this.bank!, t, `adapters/${ctx.tasks[t].task.name}`);
  }

  async saveState(_ctx: MethodContext, _t: number): Promise<MethodState> {
    const state = emptyState();
    await saveBank(state, 'blocks', this.bank!);
    return state;
  }

  async loadState(ctx: MethodContext, _t: number, state: MethodState): Promise<void> {
    this.bank = await loadBank(ctx, state, 'blocks');
    ctx.session.useBank(this.bank);
  }

  dispose(ctx: MethodContext): void {
    if (this.bank) ctx.session.releaseBank(this.bank);
    this.bank = null;
  }
}

/** IncLoRA: a new LoRA per task, the earlier ones frozen, all summed at inference. */
export class IncLoraMethod extends BlockBankMethod {
  protected trainMix(t: number, rows: number): Float32Array {
    return allBlocks(t + 1, rows);
  }

  async route(_ctx: MethodContext, _e: number, prompts: number[][]): Promise<Routing> {
    const J = this.bank!.blocks;
    return { bank: this.bank!, mix: prompts.map(() => new Float32Array(J).fill(1)) };
  }
}

/**
 * Oracle per-task LoRA: each task trains its own block from the base model; the task id picks it at test time.
 * A task not trained yet (evaluating unseen tasks) has no block: it is answered by the base model alone (every
 * block weighted 0), which is what a LoRA trained on that task alone starts from.
 */
export class OracleMethod extends BlockBankMethod {
  protected trainMix(t: number, rows: number): Float32Array {
    return oneHot(t + 1, rows, t);
  }

  async route(_ctx: MethodContext, e: number, prompts: number[][]): Promise<Routing> {
    const J = this.bank!.blocks;
    return { bank: this.bank!, mix: prompts.map(() => (e < J ? oneHot(J, 1, e) : new Float32Array(J))) };
  }
}

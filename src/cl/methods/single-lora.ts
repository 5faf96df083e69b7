// SeqLoRA: one LoRA trained on each task in turn (the baseline that forgets), and the base class of
// the methods that keep a single LoRA and add replay or a regulariser to it (Replay, EWC, LwF,
// static ConPET).
import type { Bank } from '../../engine/bank.ts';
import type { EngineBatch, StepExtras } from '../../engine/session.ts';
import {
  blockAdapterFiles, checkOptions, EpochSampler, loraSpec, newDataBatch, padBatch,
  type ContinualMethod, type MethodContext, type MethodOptions, type Routing,
} from './method.ts';
import { emptyState, loadBank, saveBank, type MethodState } from './state.ts';

export class SingleLoraMethod implements ContinualMethod {
  protected bank: Bank | null = null;
  protected sampler: EpochSampler | null = null;

  constructor(readonly name: string) {}

  async beforeTask(ctx: MethodContext, t: number): Promise<void> {
    if (!this.bank) {
      this.bank = await ctx.createBank(loraSpec(ctx, 1));
      ctx.session.useBank(this.bank);
    }
    ctx.session.useBank(this.bank);
    this.bank.setTrainable({ block: 0, router: false, head: false });
    ctx.session.resetOptimizer();
    this.sampler = new EpochSampler(ctx.tasks[t].train.length, ctx.rng);
  }

  batch(ctx: MethodContext, t: number, _step: number): EngineBatch {
    return padBatch(ctx, newDataBatch(ctx, this.sampler!, t));
  }

  extras(_ctx: MethodContext, _t: number, _step: number): StepExtras {
    return {};
  }

  async afterTask(_ctx: MethodContext, _t: number): Promise<void> {}

  async route(_ctx: MethodContext, _e: number, _prompts: number[][]): Promise<Routing> {
    return { bank: this.bank! };
  }

  async artifacts(ctx: MethodContext, t: number): Promise<Record<string, Uint8Array | string>> {
    return blockAdapterFiles(ctx, this.bank!, 0, `adapters/after-${ctx.tasks[t].task.name}`);
  }

  async saveState(_ctx: MethodContext, _t: number): Promise<MethodState> {
    const state = emptyState();
    await saveBank(state, 'lora', this.bank!);
    return state;
  }

  async loadState(ctx: MethodContext, _t: number, state: MethodState): Promise<void> {
    this.bank = await loadBank(ctx, state, 'lora');
    ctx.session.useBank(this.bank);
  }

  dispose(ctx: MethodContext): void {
    if (this.bank) ctx.session.releaseBank(this.bank);
    this.bank = null;
  }
}

export function createSeqLora(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, [], 'seqlora');
  return new SingleLoraMethod('seqlora');
}

// EWC: a single LoRA with the quadratic penalty (lambda/2) Σ F_i (θ_i − θ*_i)², F the diagonal
// empirical Fisher of the LoRA parameters (mean squared gradient over batches of the task just
// learnt, summed over tasks) and θ* the parameters after the latest task. The penalty's gradient
// is added on the GPU at every step.
import type { StepExtras } from '../../engine/session.ts';
import { exampleAt } from '../../data/lazy-encode.ts';
import { SingleLoraMethod } from './single-lora.ts';
import {
  checkOptions, EpochSampler, numberOption, padBatch,
  type ContinualMethod, type MethodContext, type MethodOptions,
} from './method.ts';
import type { MethodState } from './state.ts';

/** Adds the mean of squared gradients over batches to a running Fisher sum. */
export function accumulateFisher(fisher: Float64Array, gradBatches: Float32Array[]): void {
  if (gradBatches.length === 0) return;
  const w = 1 / gradBatches.length;
  for (const g of gradBatches) for (let i = 0; i < fisher.length; i++) fisher[i] += w * g[i] * g[i];
}

export class EwcMethod extends SingleLoraMethod {
  private fisher: Float64Array | null = null;
  private anchorBuf: GPUBuffer | null = null;
  private fisherBuf: GPUBuffer | null = null;

  constructor(private readonly lambda: number, private readonly fisherBatches: number) {
    super('ewc');
  }

  override extras(_ctx: MethodContext, _t: number, _step: number): StepExtras {
    if (!this.anchorBuf || !this.fisherBuf) return {};
    return { ewc: { lambda: this.lambda, anchor: this.anchorBuf, fisher: this.fisherBuf } };
  }

  override async afterTask(ctx: MethodContext, t: number): Promise<void> {
    const bank = this.bank!;
    const sampler = new EpochSampler(ctx.tasks[t].train.length, ctx.rng);
    const grads: Float32Array[] = [];
    const rows = Math.max(1, Math.min(ctx.settings.batchSize, ctx.tasks[t].train.length));
    for (let i = 0; i < this.fisherBatches; i++) {
      const batch = padBatch(ctx, sampler.take(rows).map((j) => exampleAt(ctx.tasks[t].train, j)));
      grads.push((await ctx.session.flatGradients(batch)).grads);
    }
    this.fisher ??= new Float64Array(bank.params.totalFloats);
    accumulateFisher(this.fisher, grads);
    await this.uploadPenalty(ctx);
  }

  /** The anchor (the weights after the last task) and the Fisher sum, on the GPU for the penalty. */
  private async uploadPenalty(ctx: MethodContext): Promise<void> {
    const bank = this.bank!;
    const gpu = ctx.session.gpu;
    this.anchorBuf ??= gpu.createBuffer('ewc.anchor', bank.params.totalFloats * 4);
    this.fisherBuf ??= gpu.createBuffer('ewc.fisher', bank.params.totalFloats * 4);
    gpu.write(this.anchorBuf, await bank.params.readFlat('params'));
    gpu.write(this.fisherBuf, Float32Array.from(this.fisher!));
  }

  override async saveState(ctx: MethodContext, t: number): Promise<MethodState> {
    const state = await super.saveState(ctx, t);
    if (this.fisher) state.float64.set('fisher', this.fisher.slice());
    return state;
  }

  override async loadState(ctx: MethodContext, t: number, state: MethodState): Promise<void> {
    await super.loadState(ctx, t, state);
    this.fisher = state.float64.get('fisher')?.slice() ?? null;
    if (this.fisher) {
      if (this.fisher.length !== this.bank!.params.totalFloats) throw new Error('the saved EWC Fisher estimate does not fit this adapter');
      await this.uploadPenalty(ctx);
    }
  }

  override dispose(ctx: MethodContext): void {
    super.dispose(ctx);
    for (const b of [this.anchorBuf, this.fisherBuf]) if (b) ctx.session.gpu.destroyBuffer(b);
    this.anchorBuf = this.fisherBuf = null;
  }
}

export function createEwc(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, ['lambda', 'fisherBatches'], 'ewc');
  return new EwcMethod(
    numberOption(opts, 'lambda', 5000, (v) => v >= 0, 'non-negative', 'ewc'),
    numberOption(opts, 'fisherBatches', 8, (v) => Number.isInteger(v) && v >= 1, 'a positive integer', 'ewc'),
  );
}

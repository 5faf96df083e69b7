// MTL: one LoRA trained jointly on the union of all tasks (shuffled together), the usual upper
// bound of continual learning; the runner gives it a single stage and evaluates every task once.
import type { EngineBatch } from '../../engine/session.ts';
import { concatLists, exampleAt, type ExampleList } from '../../data/lazy-encode.ts';
import { SingleLoraMethod } from './single-lora.ts';
import { blockAdapterFiles, checkOptions, EpochSampler, padBatch, type ContinualMethod, type MethodContext, type MethodOptions } from './method.ts';

export class MtlMethod extends SingleLoraMethod {
  readonly joint = true;
  private union: ExampleList = [];

  constructor() {
    super('mtl');
  }

  override async beforeTask(ctx: MethodContext, t: number): Promise<void> {
    await super.beforeTask(ctx, t);
    this.union = concatLists(ctx.tasks.map((enc) => enc.train));
    this.sampler = new EpochSampler(this.union.length, ctx.rng);
  }

  override batch(ctx: MethodContext, _t: number, _step: number): EngineBatch {
    return padBatch(ctx, this.sampler!.take(ctx.settings.batchSize).map((i) => exampleAt(this.union, i)));
  }

  override async artifacts(ctx: MethodContext, _t: number): Promise<Record<string, Uint8Array | string>> {
    return blockAdapterFiles(ctx, this.bank!, 0, 'adapters/joint');
  }
}

export function createMtl(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, [], 'mtl');
  return new MtlMethod();
}

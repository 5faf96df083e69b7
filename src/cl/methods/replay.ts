// Replay: a single LoRA whose batches mix new examples with real samples stored from earlier tasks
// (a share of every batch), and static ConPET: the same with batches half new and half old, a
// fixed number of batches per task, and old samples drawn task-first.
import type { EngineBatch } from '../../engine/session.ts';
import { SingleLoraMethod } from './single-lora.ts';
import {
  checkOptions, newDataBatch, numberOption, padBatch, ReplayMemory,
  type ContinualMethod, type MethodContext, type MethodOptions,
} from './method.ts';
import type { MethodState } from './state.ts';

export class ReplayMethod extends SingleLoraMethod {
  readonly memory: ReplayMemory;

  constructor(name: string, private readonly replayShare: number, memoryFraction: number, memoryMin: number) {
    super(name);
    this.memory = new ReplayMemory(memoryFraction, memoryMin);
  }

  /** How many of a batch's rows are replayed samples (none before the first task is stored). */
  replayRows(batchSize: number): number {
    if (this.memory.size === 0) return 0;
    return Math.min(batchSize - 1, Math.max(1, Math.round(batchSize * this.replayShare)));
  }

  override batch(ctx: MethodContext, t: number, _step: number): EngineBatch {
    const old = this.replayRows(ctx.settings.batchSize);
    const fresh = newDataBatch(ctx, this.sampler!, t, ctx.settings.batchSize - old);
    return padBatch(ctx, fresh.concat(this.memory.draw(old, ctx.rng)));
  }

  override async afterTask(ctx: MethodContext, t: number): Promise<void> {
    this.memory.store(ctx.tasks[t], ctx.rng);
  }

  override async saveState(ctx: MethodContext, t: number): Promise<MethodState> {
    const state = await super.saveState(ctx, t);
    state.json.memory = this.memory.toJSON();
    return state;
  }

  override async loadState(ctx: MethodContext, t: number, state: MethodState): Promise<void> {
    await super.loadState(ctx, t, state);
    this.memory.restore(ctx.tasks, state.json.memory);
  }

  override async artifacts(ctx: MethodContext, t: number): Promise<Record<string, Uint8Array | string>> {
    return { ...(await super.artifacts(ctx, t)), [`replay/${ctx.tasks[t].task.name}.jsonl`]: this.memory.jsonl(t) };
  }
}

const MEMORY_OPTIONS = ['memoryFraction', 'memoryMin'] as const;

function memoryOptions(opts: MethodOptions, method: string) {
  return {
    fraction: numberOption(opts, 'memoryFraction', 0.02, (v) => v > 0 && v <= 1, 'in (0, 1]', method),
    min: numberOption(opts, 'memoryMin', 8, (v) => Number.isInteger(v) && v >= 1, 'a positive integer', method),
  };
}

export function createReplay(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, ['replayShare', ...MEMORY_OPTIONS], 'replay');
  const share = numberOption(opts, 'replayShare', 0.25, (v) => v > 0 && v < 1, 'in (0, 1)', 'replay');
  const mem = memoryOptions(opts, 'replay');
  return new ReplayMethod('replay', share, mem.fraction, mem.min);
}

export function createConpetStatic(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, [...MEMORY_OPTIONS], 'conpet-static');
  const mem = memoryOptions(opts, 'conpet-static');
  return new ReplayMethod('conpet-static', 0.5, mem.fraction, mem.min);
}

export { memoryOptions, MEMORY_OPTIONS };

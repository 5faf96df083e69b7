// Dynamic ConPET: a LoRA module per task (a growing bank, earlier modules frozen) plus a module
// selector: the backbone with its own LoRA and a linear head over "which task", one row more per
// task. Each task first trains the selector (cross-entropy on task labels at the last prompt
// token, batches half new and half replayed), then its own module with the true module selected
// (teacher forcing). At inference the selector's top-k modules run, weighted by its renormalised
// probabilities (k = 1: the single best module).
import type { Bank } from '../../engine/bank.ts';
import { IGNORE_INDEX, makeBatch, type EncodedExample } from '../../data/encode.ts';
import { exampleAt } from '../../data/lazy-encode.ts';
import { OracleMethod } from './block-bank.ts';
import { memoryOptions, MEMORY_OPTIONS } from './replay.ts';
import {
  bankStateFile, blockAdapterFiles, checkOptions, EpochSampler, inBatches, loraSpec, numberOption, promptExamples, ReplayMemory,
  type ContinualMethod, type MethodContext, type MethodOptions, type Routing,
} from './method.ts';
import { loadBank, saveBank, type MethodState } from './state.ts';

/** The selector's training example: the prompt, one filler token, and the task as the label after the prompt. */
export function selectorExample(ex: EncodedExample, task: number, padId: number): EncodedExample {
  const ids = ex.ids.slice(0, ex.promptLength).concat([padId]);
  const labels = ids.map(() => IGNORE_INDEX);
  labels[ex.promptLength] = task;
  return { ids, labels, promptLength: ex.promptLength, truncated: 0 };
}

/** Top-k of the logits as a mixture: softmax over the k best, zero elsewhere. */
export function topKMixture(logits: ArrayLike<number>, k: number): Float32Array {
  const n = logits.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, Math.min(k, n));
  const max = logits[order[0]];
  const out = new Float32Array(n);
  let sum = 0;
  for (const i of order) sum += Math.exp(logits[i] - max);
  for (const i of order) out[i] = Math.exp(logits[i] - max) / sum;
  return out;
}

export class ConpetDynamicMethod extends OracleMethod {
  private selector: Bank | null = null;
  readonly memory: ReplayMemory;

  constructor(private readonly selectorSteps: number, private readonly topK: number, memoryFraction: number, memoryMin: number) {
    super('conpet-dynamic');
    this.memory = new ReplayMemory(memoryFraction, memoryMin);
  }

  override async beforeTask(ctx: MethodContext, t: number): Promise<void> {
    // 1. The selector grows a class and learns to tell task t from the stored samples of earlier tasks.
    const grown = await ctx.createBank(loraSpec(ctx, 1, { head: { classes: t + 1 } }), this.selector ?? undefined);
    if (this.selector) ctx.session.releaseBank(this.selector);
    this.selector = grown;
    ctx.session.useBank(grown);
    grown.setTrainable({ block: 0, router: false, head: true });
    ctx.session.resetOptimizer();
    const sampler = new EpochSampler(ctx.tasks[t].train.length, ctx.rng);
    const B = ctx.settings.batchSize;
    const steps = this.selectorSteps || Math.max(1, Math.round(ctx.settings.steps / 2));
    await ctx.train('selector', steps, () => {
      const old = this.memory.size > 0 ? Math.floor(B / 2) : 0;
      const fresh = sampler.take(B - old).map((i) => selectorExample(exampleAt(ctx.tasks[t].train, i), t, ctx.settings.padId));
      const replay = this.drawOld(ctx, old);
      return makeBatch(fresh.concat(replay), { padId: ctx.settings.padId, seqLen: ctx.settings.seqLen });
    });
    // 2. Task t's own module, trained with the true module selected.
    await super.beforeTask(ctx, t);
  }

  private drawOld(ctx: MethodContext, count: number): EncodedExample[] {
    const out: EncodedExample[] = [];
    for (let i = 0; i < count; i++) {
      const m = this.memory.perTask[Math.floor(ctx.rng.uniform() * this.memory.perTask.length)];
      out.push(selectorExample(m.examples[Math.floor(ctx.rng.uniform() * m.examples.length)], m.task, ctx.settings.padId));
    }
    return out;
  }

  override async afterTask(ctx: MethodContext, t: number): Promise<void> {
    this.memory.store(ctx.tasks[t], ctx.rng);
  }

  /** The selector's mixture for each prompt. */
  async select(ctx: MethodContext, prompts: number[][]): Promise<Float32Array[]> {
    const selector = this.selector!;
    const classes = selector.spec.head!.classes;
    const modules = this.bank!;
    ctx.session.useBank(selector);
    try {
      const seqLen = Math.max(ctx.settings.seqLen, ...prompts.map((p) => p.length));
      return await inBatches(prompts, ctx.settings.batchSize, async (chunk) => {
        const logits = await ctx.session.forward(makeBatch(promptExamples(chunk), { padId: ctx.settings.padId, seqLen }));
        return chunk.map((ids, r) => {
          const at = (ids.length - 1) * classes;
          return topKMixture(logits[r].subarray(at, at + classes), this.topK);
        });
      });
    } finally {
      ctx.session.useBank(modules);
    }
  }

  override async route(ctx: MethodContext, _e: number, prompts: number[][]): Promise<Routing> {
    return { bank: this.bank!, mix: await this.select(ctx, prompts) };
  }

  override async saveState(ctx: MethodContext, t: number): Promise<MethodState> {
    const state = await super.saveState(ctx, t);
    await saveBank(state, 'selector', this.selector!);
    state.json.memory = this.memory.toJSON();
    return state;
  }

  override async loadState(ctx: MethodContext, t: number, state: MethodState): Promise<void> {
    this.selector = await loadBank(ctx, state, 'selector');
    await super.loadState(ctx, t, state);
    this.memory.restore(ctx.tasks, state.json.memory);
  }

  override async artifacts(ctx: MethodContext, t: number): Promise<Record<string, Uint8Array | string>> {
    return {
      ...(await super.artifacts(ctx, t)),
      'selector/head.safetensors': await bankStateFile(this.selector!),
      ...(await blockAdapterFiles(ctx, this.selector!, 0, 'selector')),
      [`replay/${ctx.tasks[t].task.name}.jsonl`]: this.memory.jsonl(t),
    };
  }

  override dispose(ctx: MethodContext): void {
    super.dispose(ctx);
    if (this.selector) ctx.session.releaseBank(this.selector);
    this.selector = null;
  }
}

export function createConpetDynamic(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, ['selectorSteps', 'topK', ...MEMORY_OPTIONS], 'conpet-dynamic');
  const mem = memoryOptions(opts, 'conpet-dynamic');
  return new ConpetDynamicMethod(
    numberOption(opts, 'selectorSteps', 0, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer (0: half the task steps)', 'conpet-dynamic'),
    numberOption(opts, 'topK', 1, (v) => Number.isInteger(v) && v >= 1, 'a positive integer', 'conpet-dynamic'),
    mem.fraction, mem.min,
  );
}

// SAPT: a LoRA block and a key per task, a shared query projector trained on every task, and the
// attentive selection (SALS) that mixes every block's output by softmax(<k_j, x>/sqrt(d)) computed
// on the GPU from the prompt. ARM keeps the selection from forgetting: after each task the mean
// attention of its examples is stored with a few real samples, and later tasks add
// klRatio · KL(stored || current attention) on those samples to the router's loss.
import type { BankSpec, TrainSelection } from '../../engine/bank.ts';
import { ROUTER_NORM_EPS, ROUTER_POOLS, SAPT_CONFIG_FILE, SAPT_ROUTER_FILE, saptAdapterFolder, saptConfigJson, type RouterPool } from '../../model/sapt-files.ts';
import type { StepExtras } from '../../engine/session.ts';
import type { HostTensor } from '../../model/weights.ts';
import { makeBatch } from '../../data/encode.ts';
import { exampleAt } from '../../data/lazy-encode.ts';
import { BlockBankMethod } from './block-bank.ts';
import { memoryOptions, MEMORY_OPTIONS } from './replay.ts';
import {
  bankStateFile, blockAdapterFiles, checkOptions, choiceOption, EpochSampler, inBatches, loraSpec, numberOption, promptExamples, promptOnly, ReplayMemory,
  type ContinualMethod, type MethodContext, type MethodOptions, type Routing,
} from './method.ts';
import type { MethodState } from './state.ts';

/** A stored attention vector padded with zeros for the blocks added after it. */
export function padReference(ref: Float32Array, blocks: number): Float32Array {
  const out = new Float32Array(blocks);
  out.set(ref.subarray(0, Math.min(ref.length, blocks)));
  return out;
}

/** Mean of the rows of a [rows, cols] matrix. */
export function meanRows(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c] += m[r * cols + c] / rows;
  return out;
}

export class SaptMethod extends BlockBankMethod {
  readonly memory: ReplayMemory;
  /** Per finished task, its mean attention over the blocks that existed then. */
  readonly references: Float32Array[] = [];

  constructor(private readonly bottleneck: number, private readonly pool: RouterPool, private readonly klRatio: number, private readonly armRows: number,
    private readonly referenceSamples: number, memoryFraction: number, memoryMin: number, private readonly routerLr: number | null = null) {
    super('sapt');
    this.memory = new ReplayMemory(memoryFraction, memoryMin);
  }

  /** The current block, its key and the norm at the run's rate; the shared projector's linears at `routerLr` when given. */
  protected override trainSelection(ctx: MethodContext, t: number): TrainSelection {
    return { block: t, router: true, head: false, routerLrScale: this.routerLr === null ? 1 : this.routerLr / ctx.settings.lr };
  }

  protected override spec(ctx: MethodContext, blocks: number): BankSpec {
    return loraSpec(ctx, blocks, { router: { bottleneck: this.bottleneck, pool: this.pool } });
  }

  protected trainMix(): undefined {
    return undefined;
  }

  override extras(ctx: MethodContext, t: number, _step: number): StepExtras {
    if (t === 0 || this.klRatio === 0 || this.memory.perTask.length === 0) return {};
    const J = this.bank!.blocks;
    const rows = this.armRows || Math.max(1, Math.floor(ctx.settings.batchSize / 2));
    const examples = [];
    const targets = new Float32Array(rows * J);
    for (let r = 0; r < rows; r++) {
      const m = this.memory.perTask[Math.floor(ctx.rng.uniform() * this.memory.perTask.length)];
      examples.push(promptOnly(m.examples[Math.floor(ctx.rng.uniform() * m.examples.length)]));
      targets.set(padReference(this.references[m.task], J), r * J);
    }
    const batch = makeBatch(examples, { padId: ctx.settings.padId, seqLen: ctx.settings.seqLen });
    return { arm: { batch, targets, klScale: this.klRatio / rows } };
  }

  override async afterTask(ctx: MethodContext, t: number): Promise<void> {
    const enc = ctx.tasks[t];
    // The reference: mean attention over (a sample of) the task's training prompts.
    const n = Math.min(enc.train.length, this.referenceSamples);
    const picks = new EpochSampler(enc.train.length, ctx.rng).take(n).map((i) => promptOnly(exampleAt(enc.train, i)));
    const J = this.bank!.blocks;
    const B = ctx.settings.batchSize;
    const rows = await inBatches(picks, B, async (chunk) => {
      const w = await ctx.session.routing(makeBatch(chunk, { padId: ctx.settings.padId, seqLen: ctx.settings.seqLen }));
      return Array.from({ length: chunk.length }, (_, r) => w.slice(r * J, (r + 1) * J));
    });
    const flat = new Float32Array(rows.length * J);
    rows.forEach((r, i) => flat.set(r, i * J));
    this.references[t] = meanRows(flat, rows.length, J);
    this.memory.store(enc, ctx.rng);
  }

  async route(_ctx: MethodContext, _e: number, _prompts: number[][]): Promise<Routing> {
    return { bank: this.bank! };
  }

  /** The router's attention over the blocks for each prompt (the playground's chart). */
  async attention(ctx: MethodContext, prompts: number[][]): Promise<Float32Array[]> {
    const J = this.bank!.blocks;
    const seqLen = Math.max(ctx.settings.seqLen, ...prompts.map((p) => p.length));
    return inBatches(prompts, ctx.settings.batchSize, async (chunk) => {
      const w = await ctx.session.routing(makeBatch(promptExamples(chunk), { padId: ctx.settings.padId, seqLen }));
      return chunk.map((_, r) => w.slice(r * J, (r + 1) * J));
    });
  }

  override async saveState(ctx: MethodContext, t: number): Promise<MethodState> {
    const state = await super.saveState(ctx, t);
    state.json.memory = this.memory.toJSON();
    this.references.forEach((r, i) => state.tensors.set(`reference::${i}`, { shape: [r.length], data: r.slice() }));
    return state;
  }

  override async loadState(ctx: MethodContext, t: number, state: MethodState): Promise<void> {
    await super.loadState(ctx, t, state);
    this.memory.restore(ctx.tasks, state.json.memory);
    for (let i = 0; i <= t; i++) {
      const r = state.tensors.get(`reference::${i}`);
      if (!r) throw new Error(`the saved SAPT state has no attention reference for task ${i + 1}`);
      this.references[i] = r.data.slice();
    }
  }

  /** The router's files for the blocks so far (with adapters/<task>/ of each block, what `clora export --sapt` reads). */
  private async routerFiles(ctx: MethodContext, all?: Map<string, HostTensor>): Promise<Record<string, Uint8Array | string>> {
    const bank = this.bank!;
    return {
      [SAPT_ROUTER_FILE]: await bankStateFile(bank, all),
      [SAPT_CONFIG_FILE]: saptConfigJson({
        pool: this.pool, bottleneck: this.bottleneck, normEps: ROUTER_NORM_EPS, blocks: ctx.tasks.slice(0, bank.blocks).map((e) => e.task.name),
      }),
    };
  }

  async routedModelFiles(ctx: MethodContext): Promise<Record<string, Uint8Array | string>> {
    // One readback of the bank serves the router file and every block.
    const all = await this.bank!.params.download();
    const files = await this.routerFiles(ctx, all);
    for (let j = 0; j < this.bank!.blocks; j++) Object.assign(files, await blockAdapterFiles(ctx, this.bank!, j, saptAdapterFolder(ctx.tasks[j].task.name), all));
    return files;
  }

  override async artifacts(ctx: MethodContext, t: number): Promise<Record<string, Uint8Array | string>> {
    // Earlier blocks are frozen after their task, so their adapters/<task>/ written then still hold.
    return {
      ...(await super.artifacts(ctx, t)),
      ...(await this.routerFiles(ctx)),
      'references.json': JSON.stringify(this.references.map((r) => Array.from(r))),
      [`replay/${ctx.tasks[t].task.name}.jsonl`]: this.memory.jsonl(t),
    };
  }
}

export function createSapt(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, ['bottleneck', 'pool', 'klRatio', 'armRows', 'referenceSamples', 'routerLr', ...MEMORY_OPTIONS], 'sapt');
  const mem = memoryOptions(opts, 'sapt');
  return new SaptMethod(
    numberOption(opts, 'bottleneck', 100, (v) => Number.isInteger(v) && v >= 1, 'a positive integer', 'sapt'),
    choiceOption(opts, 'pool', ROUTER_POOLS, 'mean', 'sapt'),
    numberOption(opts, 'klRatio', 1, (v) => v >= 0, 'non-negative', 'sapt'),
    numberOption(opts, 'armRows', 0, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer (0: half the batch)', 'sapt'),
    numberOption(opts, 'referenceSamples', 64, (v) => Number.isInteger(v) && v >= 1, 'a positive integer', 'sapt'),
    mem.fraction, mem.min,
    opts.routerLr === undefined ? null : numberOption(opts, 'routerLr', 0, (v) => v > 0, 'positive', 'sapt'),
  );
}

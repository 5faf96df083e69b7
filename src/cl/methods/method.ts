// The interface every continual-learning method implements (hooks before and after a task, how a
// training batch is mixed, its extra loss terms, how modules are routed at inference), and the
// shared pieces methods build on: the encoded task stream, seeded samplers and replay memories.
import type { Bank, BankSpec } from '../../engine/bank.ts';
import type { EngineBatch, Session, StepExtras } from '../../engine/session.ts';
import { IGNORE_INDEX, makeBatch, type EncodedExample } from '../../data/encode.ts';
import { exampleAt, type ExampleList } from '../../data/lazy-encode.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, writePeftAdapter, type LoraConfig } from '../../model/peft.ts';
import { writeSafetensors } from '../../model/safetensors.ts';
import { shuffleInPlace, type Rng } from '../../model/rng.ts';
import type { HostTensor } from '../../model/weights.ts';
import type { Example, Task } from '../../data/task.ts';
import type { ScoreMetric } from '../scoring.ts';
import { didYouMean } from '../../io/closest-name.ts';
import { preview } from '../../io/value-preview.ts';
import type { MethodState } from './state.ts';

/** A task with its examples tokenised once for the whole run. */
export interface EncodedTask {
  task: Task;
  index: number;
  /** Prompt + answer, answer-only labels; large tasks encode on demand (see lazy-encode.ts). */
  train: ExampleList;
  /** Test prompts (prompt tokens only) and their gold answers. */
  test: { prompt: number[]; gold: string }[];
  metric: ScoreMetric;
}

export interface RunSettings {
  /** Optimizer steps per task. */
  steps: number;
  batchSize: number;
  /** Every training batch is padded to this length. */
  seqLen: number;
  padId: number;
  lora: LoraConfig;
  lr: number;
  seed: number;
}

/** What a method may use: the engine session, the stream, the settings and a seeded generator. */
export interface MethodContext {
  session: Session;
  tasks: EncodedTask[];
  settings: RunSettings;
  rng: Rng;
  /**
   * Runs `steps` optimizer steps with batches and extra terms from the callbacks, reporting each
   * loss (methods with extra training phases, like ConPET's selector, call this from their hooks).
   */
  train(phase: string, steps: number, batch: (step: number) => EngineBatch, extras?: (step: number) => StepExtras): Promise<void>;
  /** A bank on the session's model. */
  createBank(spec: BankSpec, from?: Bank): Promise<Bank>;
}

/** How a method answers at inference: which bank, and the block mixture of each prompt (when it picks blocks itself). */
export interface Routing {
  bank: Bank;
  mix?: Float32Array[];
}

export interface ContinualMethod {
  readonly name: string;
  /** Trains one LoRA on all tasks at once (MTL): the runner gives it a single stage over the union. */
  readonly joint?: boolean;
  /** Before training task t: create or grow modules, snapshot a teacher, reset the optimizer. */
  beforeTask(ctx: MethodContext, t: number): Promise<void>;
  /** The training batch of task t at step `step` (new data, possibly mixed with replayed samples). */
  batch(ctx: MethodContext, t: number, step: number): EngineBatch;
  /** Extra loss terms of that step (distillation, EWC, orthogonality, ARM). */
  extras(ctx: MethodContext, t: number, step: number): StepExtras;
  /** After training task t: store replay samples, Fisher estimates, attention references. */
  afterTask(ctx: MethodContext, t: number): Promise<void>;
  /** The routing used to answer task e's prompts; `e` is only looked at by methods given task ids (oracle). */
  route(ctx: MethodContext, e: number, prompts: number[][]): Promise<Routing>;
  /** For methods that select modules themselves (SAPT): the selector's weights over the modules for each prompt. */
  attention?(ctx: MethodContext, prompts: number[][]): Promise<Float32Array[]>;
  /**
   * A method whose blocks are mixed per prompt by a router that exports with them (SAPT): the model folder
   * `clora export --sapt` reads, for the blocks trained so far.
   */
  routedModelFiles?(ctx: MethodContext): Promise<Record<string, Uint8Array | string>>;
  /** Files to persist after task t, relative to the method's folder (adapters in PEFT format, replay samples). */
  artifacts(ctx: MethodContext, t: number): Promise<Record<string, Uint8Array | string>>;
  /** Everything needed to go on after task t (called after `afterTask`): the checkpoint a run resumes from. */
  saveState(ctx: MethodContext, t: number): Promise<MethodState>;
  /** Rebuilds the state `saveState` returned after task t, on a fresh method; the next call is `beforeTask(t + 1)`. */
  loadState(ctx: MethodContext, t: number, state: MethodState): Promise<void>;
  dispose(ctx: MethodContext): void;
}

/** Hyperparameters as given in the experiment file, validated by each method. */
export type MethodOptions = Record<string, unknown>;

export function numberOption(opts: MethodOptions, key: string, def: number, check: (v: number) => boolean, rule: string, method: string): number {
  const v = opts[key];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new Error(`method "${method}": ${key} must be ${rule}, got ${preview(v)}`);
  return v;
}

/** A string option that must be one of `choices`; `def` when absent. */
export function choiceOption<T extends string>(opts: MethodOptions, key: string, choices: readonly T[], def: T, method: string): T {
  const v = opts[key];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new Error(`method "${method}": ${key} must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${preview(v)}`);
  }
  return v as T;
}

export function checkOptions(opts: MethodOptions, allowed: readonly string[], method: string): void {
  for (const key of Object.keys(opts)) {
    if (key === 'method' || key === 'name') continue;
    if (!allowed.includes(key)) throw new Error(`method "${method}": unknown option "${key}"${didYouMean(key, allowed)} (known: ${allowed.join(', ') || 'none'})`);
  }
}

/** Epoch-wise shuffled draws from a task's training examples, seeded. */
export class EpochSampler {
  private order: number[] = [];
  private next = 0;

  constructor(private readonly n: number, private readonly rng: Rng) {
    if (n <= 0) throw new Error('cannot sample from an empty training split');
  }

  take(count: number): number[] {
    const out: number[] = [];
    while (out.length < count) {
      if (this.next >= this.order.length) {
        this.order = shuffleInPlace(Array.from({ length: this.n }, (_, i) => i), this.rng);
        this.next = 0;
      }
      out.push(this.order[this.next++]);
    }
    return out;
  }
}

/** Per-task stores of real training samples, drawn uniformly without replacement after each task. */
export class ReplayMemory {
  readonly perTask: { task: number; indices: number[]; examples: EncodedExample[]; raw: Example[] }[] = [];

  constructor(readonly fraction: number, readonly min: number) {}

  /** Keeps max(min, round(fraction * n)) samples of task t (all of them when it has fewer). */
  store(enc: EncodedTask, rng: Rng): void {
    const n = enc.train.length;
    const keep = Math.min(n, Math.max(this.min, Math.round(this.fraction * n)));
    const picked = shuffleInPlace(Array.from({ length: n }, (_, i) => i), rng).slice(0, keep).sort((a, b) => a - b);
    this.keep(enc, picked);
  }

  private keep(enc: EncodedTask, indices: number[]): void {
    this.perTask.push({ task: enc.index, indices, examples: indices.map((i) => exampleAt(enc.train, i)), raw: indices.map((i) => enc.task.train[i]) });
  }

  /** The stored samples as training-split indices per task, for a checkpoint. */
  toJSON(): { task: number; indices: number[] }[] {
    return this.perTask.map((m) => ({ task: m.task, indices: m.indices.slice() }));
  }

  /** Refills an empty memory from `toJSON()`'s output. */
  restore(tasks: EncodedTask[], saved: unknown): void {
    if (this.perTask.length > 0) throw new Error('restore needs an empty replay memory');
    if (!Array.isArray(saved)) throw new Error('the saved replay memory is not a list');
    for (const m of saved as { task: number; indices: number[] }[]) {
      const enc = tasks[m.task];
      if (!enc || !Array.isArray(m.indices) || m.indices.some((i) => !Number.isInteger(i) || i < 0 || i >= enc.train.length)) {
        throw new Error(`the saved replay memory does not fit task ${m.task + 1} of this stream`);
      }
      this.keep(enc, m.indices.slice());
    }
  }

  get size(): number {
    return this.perTask.reduce((s, m) => s + m.examples.length, 0);
  }

  /** ConPET's draw: a stored task uniformly, then a stored sample of it uniformly. */
  draw(count: number, rng: Rng): EncodedExample[] {
    if (this.perTask.length === 0) return [];
    return Array.from({ length: count }, () => {
      const m = this.perTask[Math.floor(rng.uniform() * this.perTask.length)];
      return m.examples[Math.floor(rng.uniform() * m.examples.length)];
    });
  }

  /** The stored samples of task t as JSON lines {input, output}. */
  jsonl(t: number): string {
    const m = this.perTask.find((p) => p.task === t);
    return m ? m.raw.map((e) => JSON.stringify(e)).join('\n') + (m.raw.length ? '\n' : '') : '';
  }
}

/** Pads examples to the run's fixed sequence length. */
export function padBatch(ctx: MethodContext, examples: EncodedExample[]): EngineBatch {
  return makeBatch(examples, { padId: ctx.settings.padId, seqLen: ctx.settings.seqLen });
}

/** A batch of task t's new examples only. */
export function newDataBatch(ctx: MethodContext, sampler: EpochSampler, t: number, count = ctx.settings.batchSize): EncodedExample[] {
  return sampler.take(count).map((i) => exampleAt(ctx.tasks[t].train, i));
}

/** A block mixture that weights every block equally (IncLoRA, O-LoRA: all branches summed). */
export function allBlocks(blocks: number, rows: number): Float32Array {
  return new Float32Array(rows * blocks).fill(1);
}

/** One-hot mixtures selecting block j for every row. */
export function oneHot(blocks: number, rows: number, j: number): Float32Array {
  const m = new Float32Array(rows * blocks);
  for (let b = 0; b < rows; b++) m[b * blocks + j] = 1;
  return m;
}

/** A bank spec with the run's LoRA settings. */
export function loraSpec(ctx: MethodContext, blocks: number, extra: Partial<BankSpec> = {}): BankSpec {
  return { lora: ctx.settings.lora, blocks, router: null, head: null, ...extra };
}

/** Releases `old` once `next` replaces it. */
export function replaceBank(ctx: MethodContext, old: Bank | null, next: Bank): Bank {
  if (old && old !== next) ctx.session.releaseBank(old);
  ctx.session.useBank(next);
  return next;
}

/** Block j of a bank as PEFT files under `folder/` (`all`: the bank's parameters, when already read back). */
export async function blockAdapterFiles(ctx: MethodContext, bank: Bank, j: number, folder: string,
  all?: Map<string, HostTensor>): Promise<Record<string, Uint8Array | string>> {
  const files = writePeftAdapter(bank.spec.lora, ctx.session.config, await bank.blockTensors(j, all), ctx.session.baseModel);
  return {
    [`${folder}/${ADAPTER_CONFIG}`]: files[ADAPTER_CONFIG],
    [`${folder}/${ADAPTER_WEIGHTS}`]: files[ADAPTER_WEIGHTS],
  };
}

/** The tensors of a bank that are not LoRA blocks (router, keys, head) as one safetensors file (`all`: as above). */
export async function bankStateFile(bank: Bank, all?: Map<string, HostTensor>): Promise<Uint8Array> {
  const params = all ?? (await bank.params.download());
  return writeSafetensors(new Map([...params].filter(([key]) => !key.includes('.lora_'))));
}

/** The prompt of a training example alone (no answer, nothing trained on): what routers look at. */
export function promptOnly(ex: EncodedExample): EncodedExample {
  const ids = ex.ids.slice(0, ex.promptLength);
  return { ids, labels: ids.map(() => IGNORE_INDEX), promptLength: ids.length, truncated: 0 };
}

/** Test prompts as examples without answers. */
export function promptExamples(prompts: number[][]): EncodedExample[] {
  return prompts.map((ids) => ({ ids, labels: ids.map(() => IGNORE_INDEX), promptLength: ids.length, truncated: 0 }));
}

/** Runs `fn` over `items` in batches of at most `size` (the last one padded by repeating the first item), collecting the first `n` results of each. */
export async function inBatches<T, R>(items: T[], size: number, fn: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    const chunk = items.slice(i, i + size);
    const n = chunk.length;
    while (chunk.length < size) chunk.push(chunk[0]);
    out.push(...(await fn(chunk)).slice(0, n));
  }
  return out;
}

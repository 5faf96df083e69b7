// The engine's public facade: opens a Hugging Face model (and optionally a PEFT adapter) on a GPU,
// and runs forward passes, gradient computations, AdamW training steps (with continual-learning
// loss terms) and greedy decoding on it, through an adapter bank. The CLI, the continual-learning
// runner and the browser worker all use this.
import type { Gpu } from '../gpu/context.ts';
import { deviceMemoryOf } from '../gpu/device-memory.ts';
import type { MatmulCompute } from '../gpu/kernels/matmul.ts';
import type { Plan } from '../gpu/plan.ts';
import { StepParams } from '../gpu/step-params.ts';
import type { FileSource } from '../io/files.ts';
import { readJson } from '../io/files.ts';
import { parseModelConfig, type ModelConfig } from '../model/config.ts';
import {
  initLoraTensors, loraTensorShapes, readPeftAdapter, validateLoraConfig, writePeftAdapter,
  type BaseModelRef, type LoraConfig, type PeftFiles, type ProjName,
} from '../model/peft.ts';
import { DEFAULT_MEMORY_POLICY, resolveMemorySavings, type MemoryPolicy, type MemorySavings } from '../model/memory-estimate.ts';
import { createRng } from '../model/rng.ts';
import { loadTokenizer, type TextTokenizer } from '../model/tokenizer.ts';
import { expectedWeightShapes, type HostTensor, type WeightsProgress } from '../model/weights.ts';
import { prepareBatch, type TokenBatch } from './batch.ts';
import { Bank, bankFromAdapter, type BankSpec } from './bank.ts';
import { buildDecodePlan, type DecodePlan } from './decode-graph.ts';
import { buildEwcPlan, buildL2Plan, buildOrthoPlan, buildRouterPlan, buildUpdatePlan, type RouterPlan } from './extras.ts';
import { buildModelPlan, isInference, type ModelPlan, type PlanMode } from './graph.ts';
import { argmaxRow, GreedyOutputs } from './greedy.ts';
import { uploadCheckpoint, type GpuWeights } from './gpu-weights.ts';
import { ReadbackPool } from './readback.ts';

export interface TrainHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 disables it. */
  maxGradNorm: number;
}

export const DEFAULT_TRAIN: TrainHyper = { lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

export const DEFAULT_LORA: LoraConfig = { rank: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'], useRslora: false, layers: null };

export interface OpenOptions {
  /** A PEFT adapter to load; otherwise a fresh one is initialised from `lora`. */
  adapter?: FileSource;
  /** LoRA settings of a fresh adapter (defaults: DEFAULT_LORA). */
  lora?: Partial<LoraConfig>;
  /** No adapter at all: inference of the base model only. */
  baseOnly?: boolean;
  seed?: number;
  train?: Partial<TrainHyper>;
  /** Layer recomputation and the chunked loss (default DEFAULT_MEMORY_POLICY: both automatic). */
  memory?: Partial<MemoryPolicy>;
  /**
   * Keep projection weights the checkpoint stores in F16 or BF16 in that precision on the GPU (half their f32 memory;
   * exact, since the values are the checkpoint's; the kernels compute in f32). Default true.
   */
  halfWeights?: boolean;
  /**
   * The base projections' forward arithmetic: 'f32' (default), or 'f16': products in f16 summed in f32, on devices with
   * shader-f16. LoRA, attention, norms, the head and every backward matmul stay f32.
   */
  compute?: MatmulCompute;
  /** Stack q/k/v and gate/up weights into one matmul each where the weights allow (default true; gpu-weights.ts). */
  fuseProjections?: boolean;
  onProgress?: (p: WeightsProgress) => void;
  /** What adapters written from this session record as their base model (PEFT's base_model_name_or_path, revision). */
  baseModel?: BaseModelRef | null;
}

/** A batch with what routing needs: the prompt mask (SAPT pools the prompt) and a block mixture (several blocks, no router). */
export interface EngineBatch extends TokenBatch {
  /** [batchSize * seqLen] 1 on prompt tokens. Required when the bank has a router. */
  promptMask?: Uint8Array;
  /** [batchSize, J] block weights. Required when the bank has several blocks and no router. */
  mix?: Float32Array;
}

/** Extra loss terms of a training step, each added on the GPU before the optimizer runs. */
export interface StepExtras {
  /** LwF: weight · T² · KL(teacher || student) on the counted target positions. */
  distill?: { teacher: Bank; temperature: number; weight: number };
  /** EWC: (lambda/2) Σ F (θ − θ*)², with anchor θ* and Fisher F laid out like the bank. */
  ewc?: { lambda: number; anchor: GPUBuffer; fisher: GPUBuffer };
  /** O-LoRA: lambda · Σ |A_old A_newᵀ| over the adapted projections. */
  orthoLambda?: number;
  /** O-LoRA: lambda · Σ ||θ||₂ over the active block's LoRA tensors. */
  l2Lambda?: number;
  /** SAPT ARM: klScale · KL(target || router attention) on replayed inputs (router only). */
  arm?: { batch: { ids: Int32Array; promptMask: Uint8Array; batchSize: number; seqLen: number }; targets: Float32Array; klScale: number };
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** Ids that end a sequence (default: the tokenizer's stop ids). */
  stopIds?: readonly number[];
  /** Per prompt, the block mixture (several blocks and no router). */
  mix?: Float32Array[];
  /** Prompts decoded together (default 8). */
  batchSize?: number;
}

export interface SessionInfo {
  arch: string;
  numParams: number;
  numLayers: number;
  hiddenSize: number;
  vocabSize: number;
  loraParams: number;
  weightBytes: number;
  /** Vocabulary slices the embedding table is stored in (1 where it fits one binding; see vocab-table.ts). */
  vocabSlices: number;
}

const MAX_CACHED_PLANS = 12;

interface CachedPlan {
  bankId: number;
  destroy(): void;
}

export class Session {
  readonly config: ModelConfig;
  readonly tokenizer: TextTokenizer | null;
  readonly info: SessionInfo;
  /** The base model's name and revision that written adapters record. */
  readonly baseModel: BaseModelRef | null;
  train: TrainHyper;
  /** How loss, gradient and training plans trade time for memory; a change applies to plans built after it. */
  memory: MemoryPolicy;
  readonly gpu: Gpu;
  private readonly weights: GpuWeights;
  private activeBank: Bank | null;
  private readonly step: StepParams;
  private readonly plans = new Map<string, CachedPlan>();
  /** Resolved memory savings by plan shape and policy, so a training step does not re-run the memory estimate. */
  private readonly savings = new Map<string, MemorySavings>();
  private readonly staging: GPUBuffer[] = [];
  /** Staging for forward()'s logits, reused from call to call. */
  private readonly logitsReadback: ReadbackPool;
  private stepCount = 0;
  private readonly seed: number;
  private banksCreated = 0;
  private destroyed = false;

  private constructor(gpu: Gpu, init: {
    config: ModelConfig; tokenizer: TextTokenizer | null; weights: GpuWeights;
    bank: Bank | null; numParams: number; seed: number; train: TrainHyper; memory: MemoryPolicy; baseModel: BaseModelRef | null;
  }) {
    this.baseModel = init.baseModel;
    this.gpu = gpu;
    this.config = init.config;
    this.tokenizer = init.tokenizer;
    this.weights = init.weights;
    this.activeBank = init.bank;
    this.seed = init.seed;
    this.train = init.train;
    this.memory = init.memory;
    this.logitsReadback = new ReadbackPool(gpu, 'logits.readback');
    this.step = new StepParams(gpu);
    this.info = {
      arch: init.config.arch,
      numParams: init.numParams,
      numLayers: init.config.numLayers,
      hiddenSize: init.config.hiddenSize,
      vocabSize: init.config.vocabSize,
      loraParams: init.bank?.params.parameterCount ?? 0,
      weightBytes: init.weights.bytes,
      vocabSlices: init.weights.embed.slices.length,
    };
  }

  static async open(gpu: Gpu, src: FileSource, opts: OpenOptions = {}): Promise<Session> {
    const config = parseModelConfig(await readJson(src, 'config.json'), 'config.json');
    let lora: LoraConfig | null = null;
    let loraTensors: Map<string, HostTensor> | null = null;
    const seed = opts.seed ?? 0;
    if (opts.adapter) {
      const adapter = await readPeftAdapter(opts.adapter, config);
      lora = adapter.config;
      loraTensors = adapter.tensors;
    } else if (!opts.baseOnly) {
      lora = { ...DEFAULT_LORA, ...opts.lora, targets: [...((opts.lora?.targets ?? DEFAULT_LORA.targets) as ProjName[])] };
      validateLoraConfig(lora, config);
      loraTensors = initLoraTensors(lora, config, null, createRng(seed));
    }
    const tokenizer = await loadTokenizer(src);
    let numParams = 0;
    for (const shape of expectedWeightShapes(config).values()) numParams += shape.reduce((a, b) => a * b, 1);
    const weights = await uploadCheckpoint(gpu, src, config, { halfProjections: opts.halfWeights ?? true, compute: opts.compute, fuse: opts.fuseProjections, onProgress: opts.onProgress });
    let bank: Bank | null = null;
    if (lora && loraTensors) {
      bank = await bankFromAdapter(gpu, config, lora, loraTensors, createRng(seed));
      bank.setTrainable({ block: 0, router: false, head: false });
    }
    await gpu.flush();
    return new Session(gpu, {
      config, tokenizer, weights, bank, numParams, seed, train: { ...DEFAULT_TRAIN, ...opts.train }, memory: { ...DEFAULT_MEMORY_POLICY, ...opts.memory },
      baseModel: opts.baseModel ?? null,
    });
  }

  /** The LoRA settings of the active bank. */
  get lora(): LoraConfig | null {
    return this.activeBank?.spec.lora ?? null;
  }

  get bank(): Bank | null {
    return this.activeBank;
  }

  /** Makes `bank` the one forward, loss, training and decoding use (the session keeps no ownership of it). */
  useBank(bank: Bank | null): void {
    this.activeBank = bank;
  }

  /** A new bank on this session's model, seeded from the session's seed; `from` supplies its leading blocks. */
  async createBank(spec: BankSpec, from?: Bank): Promise<Bank> {
    this.banksCreated++;
    return Bank.create(this.gpu, this.config, spec, createRng((this.seed * 7919 + this.banksCreated) >>> 0), from);
  }

  /** How many banks this session has created; it seeds the next bank's initial values, so checkpoints keep it. */
  get bankCount(): number {
    return this.banksCreated;
  }

  /** Sets the bank counter from a checkpoint, so banks created after a resume start from the same values. */
  restoreBankCount(count: number): void {
    if (!Number.isSafeInteger(count) || count < 0) throw new Error(`bank count must be a non-negative integer, got ${count}`);
    this.banksCreated = count;
  }

  /** Destroys a bank and every cached plan built for it. */
  releaseBank(bank: Bank): void {
    for (const [key, p] of this.plans) {
      if (p.bankId === bank.id) {
        p.destroy();
        this.plans.delete(key);
      }
    }
    for (const key of this.savings.keys()) if (key.split(':')[1] === String(bank.id)) this.savings.delete(key);
    if (this.activeBank === bank) this.activeBank = null;
    bank.destroy();
  }

  encode(text: string): number[] {
    if (!this.tokenizer) throw new Error('this model has no tokenizer.json');
    return this.tokenizer.encode(text);
  }

  /** Logits [seqLen * width] for each sequence of the batch (width: the vocabulary, or a head's classes). */
  async forward(batch: Pick<EngineBatch, 'ids' | 'batchSize' | 'seqLen' | 'promptMask' | 'mix'>): Promise<Float32Array[]> {
    const { plan } = this.prepare('forward', { ...batch, labels: new Int32Array(batch.ids.length).fill(-100) });
    this.writeStep(0);
    plan.plan.submit(this.gpu.device);
    const all = await this.logitsReadback.readF32(plan.logits);
    const per = batch.seqLen * plan.width;
    return Array.from({ length: batch.batchSize }, (_, b) => all.slice(b * per, (b + 1) * per));
  }

  /** SAPT: the router's attention over the bank's blocks, [batchSize * J]. */
  async routing(batch: Pick<EngineBatch, 'ids' | 'batchSize' | 'seqLen' | 'promptMask'>): Promise<Float32Array> {
    const bank = this.requireBank();
    if (!bank.spec.router) throw new Error('this bank has no router');
    if (!batch.promptMask) throw new Error('routing needs a prompt mask');
    const plan = this.routerPlan(bank, batch.batchSize, batch.seqLen, null);
    this.writeTokens(plan.ids, batch.ids);
    this.gpu.write(plan.mask, maskWords(batch.promptMask, batch.ids.length));
    plan.plan.submit(this.gpu.device);
    return this.gpu.readF32(plan.w);
  }

  /** Mean cross-entropy over counted labels, without gradients. */
  async loss(batch: EngineBatch): Promise<number> {
    const { plan, prepared } = this.prepare('loss', batch);
    this.writeStep(prepared.counted);
    plan.plan.submit(this.gpu.device);
    return this.readLoss(plan);
  }

  /** The loss and the gradient of every bank tensor (no dropout, no update). */
  async gradients(batch: EngineBatch): Promise<{ loss: number; grads: Map<string, HostTensor> }> {
    const loss = await this.computeGradients(batch);
    return { loss, grads: await this.requireBank().params.download('grads') };
  }

  /** The loss and the active bank's whole flat gradient buffer (EWC's Fisher estimate). */
  async flatGradients(batch: EngineBatch): Promise<{ loss: number; grads: Float32Array }> {
    const loss = await this.computeGradients(batch);
    return { loss, grads: await this.requireBank().params.readFlat('grads') };
  }

  /** Runs the gradient plan on the batch; resolves to the loss. */
  private async computeGradients(batch: EngineBatch): Promise<number> {
    const { plan, prepared } = this.prepare('grad', batch);
    this.writeStep(prepared.counted);
    plan.plan.submit(this.gpu.device);
    return this.readLoss(plan);
  }

  /**
   * One AdamW step on the batch, with the extra loss terms; resolves to the language-model loss
   * before the update. Steps may be queued without awaiting.
   */
  trainStep(batch: EngineBatch, extras: StepExtras = {}): Promise<number> {
    const bank = this.requireBank();
    const distill = extras.distill ? { temperature: extras.distill.temperature, weight: extras.distill.weight } : null;
    const { plan, prepared } = this.prepare('train', batch, distill);
    this.stepCount++;
    this.writeStep(prepared.counted);
    const enc = this.gpu.device.createCommandEncoder({ label: 'train-step' });
    if (extras.distill && plan.teacher) {
      const teacher = this.modelPlan('forward', extras.distill.teacher, batch.batchSize, batch.seqLen);
      this.writeInputs(teacher, extras.distill.teacher, batch, prepared.ids, prepared.targets);
      teacher.plan.encode(enc);
      enc.copyBufferToBuffer(teacher.logits.buffer, teacher.logits.offset, plan.teacher.buffer, plan.teacher.offset, plan.teacher.size);
    }
    plan.plan.encode(enc);
    if (extras.ewc) {
      const e = extras.ewc;
      this.cached(`ewc:${bank.id}:${e.lambda}:${this.bufferId(e.anchor)}:${this.bufferId(e.fisher)}`, bank, () => buildEwcPlan(this.gpu, bank, e.lambda, e.anchor, e.fisher)).plan.encode(enc);
    }
    if (extras.l2Lambda) {
      const lambda = extras.l2Lambda;
      this.cached(`l2:${bank.id}:${bank.trainSelection.block}:${lambda}`, bank, () => buildL2Plan(this.gpu, bank, lambda)).plan.encode(enc);
    }
    if (extras.orthoLambda) {
      const lambda = extras.orthoLambda;
      this.cached(`olora:${bank.id}:${bank.trainSelection.block}:${lambda}`, bank, () => buildOrthoPlan(this.gpu, bank, lambda)).plan.encode(enc);
    }
    if (extras.arm) {
      const a = extras.arm;
      const arm = this.routerPlan(bank, a.batch.batchSize, a.batch.seqLen, { klScale: a.klScale });
      this.writeTokens(arm.ids, a.batch.ids);
      this.gpu.write(arm.mask, maskWords(a.batch.promptMask, a.batch.ids.length));
      if (a.targets.length !== a.batch.batchSize * bank.blocks) throw new Error(`ARM targets have ${a.targets.length} values, expected ${a.batch.batchSize} x ${bank.blocks}`);
      this.gpu.write(arm.target, a.targets);
      arm.plan.encode(enc);
    }
    this.cached(`update:${bank.id}`, bank, () => buildUpdatePlan(this.gpu, bank, this.step)).plan.encode(enc);
    this.gpu.device.queue.submit([enc.finish()]);
    return this.readLoss(plan);
  }

  get steps(): number {
    return this.stepCount;
  }

  /**
   * GPU dispatches one forward pass, or one plain training step (model plan and AdamW update, no extra loss terms),
   * records for a batch of this shape with the active adapter: what the GPU launches per call (the bench reports it).
   */
  dispatchCount(mode: 'forward' | 'train', batchSize: number, seqLen: number): number {
    return this.stepPlans(mode, batchSize, seqLen).plans.reduce((n, p) => n + p.dispatchCount, 0);
  }

  /** The plans behind dispatchCount, in submission order, and the memory savings they were built with (the plan profiler reads them). */
  stepPlans(mode: 'forward' | 'train', batchSize: number, seqLen: number): { plans: Plan[]; savings: MemorySavings } {
    const bank = mode === 'train' ? this.requireBank() : this.activeBank;
    const model = this.modelPlan(mode, bank, batchSize, seqLen);
    if (mode === 'forward') return { plans: [model.plan], savings: model.savings };
    return { plans: [model.plan, this.cached(`update:${bank!.id}`, bank, () => buildUpdatePlan(this.gpu, bank!, this.step)).plan], savings: model.savings };
  }

  /** Starts a fresh optimizer (moments and step count), keeping the adapter's weights. */
  resetOptimizer(): void {
    this.requireBank().params.resetOptimizer();
    this.stepCount = 0;
  }

  /**
   * Greedy decoding with a KV cache: each prompt's continuation (without the prompt), stopping at a
   * stop id (not included) or after maxNewTokens (the rules of ./greedy.ts).
   */
  async generate(prompts: number[][], opts: GenerateOptions): Promise<number[][]> {
    const head = this.activeBank?.spec.head;
    if (head) throw new Error(`generate decodes with the language-model head, but the active adapter has a classification head of ${head.classes} classes`);
    const stop = new Set(opts.stopIds ?? this.tokenizer?.stopIds ?? []);
    const B = Math.max(1, Math.min(opts.batchSize ?? 8, prompts.length));
    const out: number[][] = [];
    for (let start = 0; start < prompts.length; start += B) {
      const chunk = prompts.slice(start, start + B);
      const mix = opts.mix?.slice(start, start + B);
      out.push(...(await this.generateChunk(chunk, B, opts.maxNewTokens, stop, mix)));
    }
    return out;
  }

  async adapterTensors(): Promise<Map<string, HostTensor>> {
    return this.requireBank().params.download('params');
  }

  /** The active bank's adapter in PEFT format: its only block, or block `block` of several. */
  async exportAdapter(baseModel: BaseModelRef | string | null = this.baseModel, block = 0): Promise<PeftFiles> {
    const bank = this.requireBank();
    const tensors = bank.blocks === 1 && block === 0 ? await this.adapterBlockOnly(bank) : await bank.blockTensors(block);
    return writePeftAdapter(bank.spec.lora, this.config, tensors, baseModel);
  }

  /** Bytes of GPU memory held by weights, banks, optimizer state and cached plans. */
  get gpuBytes(): number {
    return this.gpu.bytesAllocated;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.plans.values()) p.destroy();
    this.plans.clear();
    this.weights.destroy();
    this.activeBank?.destroy();
    for (const s of this.staging) s.destroy();
    this.logitsReadback.destroy();
  }

  private async adapterBlockOnly(bank: Bank): Promise<Map<string, HostTensor>> {
    const all = await bank.params.download();
    for (const key of [...all.keys()]) if (!key.includes('.lora_')) all.delete(key);
    return all;
  }

  private requireBank(): Bank {
    if (!this.activeBank) throw new Error('this session has no adapter');
    return this.activeBank;
  }

  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  /** A stable number per GPU buffer, for plan cache keys. */
  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(b, id);
    }
    return id;
  }

  private cached<T extends { destroy(): void }>(key: string, bank: Bank | null, build: () => T): T {
    const hit = this.plans.get(key) as (CachedPlan & { value: T }) | undefined;
    if (hit) {
      // Keep most recently used last.
      this.plans.delete(key);
      this.plans.set(key, hit);
      return hit.value;
    }
    if (this.plans.size >= MAX_CACHED_PLANS) {
      const [oldKey, old] = this.plans.entries().next().value as [string, CachedPlan];
      old.destroy();
      this.plans.delete(oldKey);
    }
    const value = build();
    this.plans.set(key, { bankId: bank?.id ?? 0, destroy: () => value.destroy(), value } as CachedPlan & { value: T });
    return value;
  }

  private modelPlan(mode: PlanMode, bank: Bank | null, batch: number, seq: number, distill: { temperature: number; weight: number } | null = null): ModelPlan {
    // Backward plans bake in what the bank trains (the block its gradients go to, router, head).
    const sel = bank && (mode === 'grad' || mode === 'train') ? bank.trainSelection : null;
    const trains = sel ? `${sel.block},${sel.router ? 1 : 0},${sel.head ? 1 : 0}` : '';
    const savings = this.savingsFor(mode, bank, batch, seq, distill !== null);
    const key = `model:${bank?.id ?? 0}:${mode}:${batch}x${seq}:${trains}:${distill ? `${distill.temperature},${distill.weight}` : ''}:` +
      `${savings.recompute ? 1 : 0},${savings.lossChunkRows}`;
    return this.cached(key, bank, () => buildModelPlan(this.gpu, { cfg: this.config, weights: this.weights, bank, step: this.step, distill }, mode, batch, seq, savings));
  }

  /** The memory policy resolved for a plan: forward plans need none; a head or distillation computes the whole loss at once. */
  private savingsFor(mode: PlanMode, bank: Bank | null, batch: number, seq: number, distill: boolean): MemorySavings {
    if (isInference(mode)) return { recompute: false, lossChunkRows: 0 };
    const m = this.memory;
    const key = `${mode}:${bank?.id ?? 0}:${batch}x${seq}:${distill ? 1 : 0}:${m.recompute},${m.lossChunkRows},${m.budgetBytes}`;
    let hit = this.savings.get(key);
    if (!hit) {
      hit = this.resolveSavings(mode, bank, batch, seq, distill);
      this.savings.set(key, hit);
    }
    return hit;
  }

  private resolveSavings(mode: PlanMode, bank: Bank | null, batch: number, seq: number, distill: boolean): MemorySavings {
    const wholeLoss = distill || bank?.spec.head != null;
    const lora = bank?.spec.lora;
    return resolveMemorySavings(this.config, {
      batchSize: batch, seqLen: seq, rank: lora?.rank ?? 0, targets: lora?.targets ?? [], blocks: bank?.blocks ?? 0, dropout: mode === 'train' ? lora?.dropout : 0,
      memory: { ...this.memory, ...(wholeLoss ? { lossChunkRows: 0 } : {}) }, weightsBytes: this.info.weightBytes, device: deviceMemoryOf(this.gpu),
    });
  }

  private prepare(mode: PlanMode, batch: EngineBatch, distill: { temperature: number; weight: number } | null = null) {
    if (this.destroyed) throw new Error('session was destroyed');
    const prepared = prepareBatch(batch, this.config.vocabSize, this.activeBank?.spec.head?.classes ?? this.config.vocabSize);
    const plan = this.modelPlan(mode, this.activeBank, batch.batchSize, batch.seqLen, distill);
    this.writeInputs(plan, this.activeBank, batch, prepared.ids, prepared.targets);
    return { plan, prepared };
  }

  private routerPlan(bank: Bank, rows: number, seq: number, arm: { klScale: number } | null): RouterPlan {
    const key = `router:${bank.id}:${rows}x${seq}:${arm ? arm.klScale : 'forward'}`;
    return this.cached(key, bank, () => buildRouterPlan(this.gpu, bank, this.weights, rows, seq, arm));
  }

  private writeInputs(plan: ModelPlan, bank: Bank | null, batch: EngineBatch, ids: Uint32Array, targets: Int32Array): void {
    this.gpu.write(plan.ids, ids);
    this.gpu.write(plan.targets, targets);
    if (plan.promptMask) {
      if (!batch.promptMask) throw new Error('this adapter routes on the prompt: the batch needs a prompt mask');
      this.gpu.write(plan.promptMask, maskWords(batch.promptMask, ids.length));
    } else if (plan.mix && bank) {
      const expected = batch.batchSize * bank.blocks;
      if (!batch.mix || batch.mix.length !== expected) {
        throw new Error(`this adapter has ${bank.blocks} blocks and no router: the batch needs a block mixture of ${expected} weights`);
      }
      this.gpu.write(plan.mix, batch.mix);
    }
  }

  private writeTokens(target: { buffer: GPUBuffer; offset: number; size: number }, ids: Int32Array): void {
    const words = new Uint32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) throw new Error(`token id ${id} at position ${i} is outside the vocabulary [0, ${this.config.vocabSize})`);
      words[i] = id;
    }
    this.gpu.write(target, words);
  }

  private writeStep(counted: number): void {
    const t = this.train;
    this.step.write({
      invCount: counted > 0 ? 1 / counted : 0,
      lr: t.lr, beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weightDecay, maxGradNorm: t.maxGradNorm,
      step: Math.max(1, this.stepCount),
      seed: (this.seed * 0x9e3779b1 + this.stepCount) >>> 0,
    });
  }

  private async generateChunk(prompts: number[][], B: number, maxNew: number, stop: Set<number>, mix: Float32Array[] | undefined): Promise<number[][]> {
    const bank = this.activeBank;
    const V = this.config.vocabSize;
    const lengths = prompts.map((p) => p.length);
    if (lengths.some((n) => n === 0)) throw new Error('cannot generate from an empty prompt');
    // Prompt lengths are rounded up so a handful of plan shapes serve a whole evaluation.
    const T = Math.ceil(Math.max(...lengths) / 16) * 16;
    const maxSeq = T + Math.max(1, maxNew);
    const ids = new Int32Array(B * T);
    const promptMask = new Uint8Array(B * T);
    prompts.forEach((p, b) => {
      ids.set(p, b * T);
      promptMask.fill(1, b * T, b * T + p.length);
    });
    let mixFlat: Float32Array | undefined;
    if (bank && bank.blocks > 1 && !bank.spec.router) {
      if (!mix || mix.length !== prompts.length) throw new Error(`this adapter has ${bank.blocks} blocks and no router: give a block mixture per prompt`);
      mixFlat = new Float32Array(B * bank.blocks);
      mix.forEach((m, b) => mixFlat!.set(m, b * bank.blocks));
    }
    const prefill = this.modelPlan('prefill', bank, B, T);
    const promptBatch = { ids, labels: new Int32Array(B * T).fill(-100), batchSize: B, seqLen: T, promptMask, mix: mixFlat };
    const prepared = prepareBatch(promptBatch, V);
    this.writeInputs(prefill, bank, promptBatch, prepared.ids, prepared.targets);
    this.gpu.write(prefill.lastRows!, Uint32Array.from({ length: B }, (_, b) => b * T + Math.max(0, (lengths[b] ?? 1) - 1)));
    const decode = this.cached(`decode:${bank?.id ?? 0}:${B}x${maxSeq}`, bank,
      () => buildDecodePlan(this.gpu, { cfg: this.config, weights: this.weights, bank, step: this.step }, B, maxSeq)) as DecodePlan;
    this.writeStep(0);
    const enc = this.gpu.device.createCommandEncoder({ label: 'prefill' });
    prefill.plan.encode(enc);
    for (let l = 0; l < this.config.numLayers; l++) {
      const kvBytes = T * decode.kvDim * 4;
      for (let b = 0; b < B; b++) {
        const src = prefill.kv[l];
        enc.copyBufferToBuffer(src.k.buffer, src.k.offset + b * kvBytes, decode.caches[l].k.buffer, decode.caches[l].k.offset + b * maxSeq * decode.kvDim * 4, kvBytes);
        enc.copyBufferToBuffer(src.v.buffer, src.v.offset + b * kvBytes, decode.caches[l].v.buffer, decode.caches[l].v.offset + b * maxSeq * decode.kvDim * 4, kvBytes);
      }
    }
    if (decode.mix && prefill.mix) enc.copyBufferToBuffer(prefill.mix.buffer, prefill.mix.offset, decode.mix.buffer, decode.mix.offset, decode.mix.size);
    this.gpu.device.queue.submit([enc.finish()]);
    if (decode.mix && mixFlat && !prefill.mix) this.gpu.write(decode.mix, mixFlat);
    const logits = await this.gpu.readF32(prefill.logits);
    const greedy = new GreedyOutputs(prompts.length, maxNew, stop);
    if (greedy.done) return greedy.tokens;
    let next = prompts.map((_, b) => argmaxRow(logits, b * V, V));
    for (let s = 0; !greedy.accept(next); s++) {
      const stepIds = new Uint32Array(B);
      const pos = new Uint32Array(B);
      for (let b = 0; b < B; b++) {
        stepIds[b] = b < prompts.length ? next[b] : 0;
        pos[b] = b < prompts.length ? Math.min(lengths[b] + s, maxSeq - 1) : 0;
      }
      this.gpu.write(decode.ids, stepIds);
      this.gpu.write(decode.pos, pos);
      decode.plan.submit(this.gpu.device);
      const stepLogits = await this.gpu.readF32(decode.logits);
      next = prompts.map((_, b) => argmaxRow(stepLogits, b * V, V));
    }
    return greedy.tokens;
  }

  /** Copies the loss into a pooled staging buffer right behind the submitted work and maps it. */
  private async readLoss(plan: ModelPlan): Promise<number> {
    const staging = this.staging.pop() ?? this.gpu.device.createBuffer({
      label: 'loss.readback', size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    const enc = this.gpu.device.createCommandEncoder({ label: 'loss.readback' });
    enc.copyBufferToBuffer(plan.loss.buffer, plan.loss.offset, staging, 0, 4);
    this.gpu.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const value = new Float32Array(staging.getMappedRange(0, 4))[0];
    staging.unmap();
    this.staging.push(staging);
    this.gpu.throwIfFailed();
    return value;
  }
}

/** A 0/1 byte mask as the u32 words the kernels read. */
function maskWords(mask: Uint8Array, n: number): Uint32Array {
  if (mask.length !== n) throw new Error(`prompt mask has ${mask.length} entries, expected ${n}`);
  return Uint32Array.from(mask, (v) => (v ? 1 : 0));
}

export async function openSession(gpu: Gpu, src: FileSource, opts?: OpenOptions): Promise<Session> {
  return Session.open(gpu, src, opts);
}

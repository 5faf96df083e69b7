// The engine's public facade: opens a Hugging Face model (and optionally a PEFT adapter) on a GPU,
// and runs forward passes, gradient computations and AdamW training steps on it. The CLI and the
// browser worker both use this.
import type { Gpu } from '../gpu/context.ts';
import { StepParams } from '../gpu/step-params.ts';
import type { FileSource } from '../io/files.ts';
import { readJson } from '../io/files.ts';
import { parseModelConfig, type ModelConfig } from '../model/config.ts';
import {
  initLoraTensors, loraTensorShapes, readPeftAdapter, validateLoraConfig, writePeftAdapter,
  type LoraConfig, type PeftFiles, type ProjName,
} from '../model/peft.ts';
import { createRng } from '../model/rng.ts';
import { loadTokenizer, type TextTokenizer } from '../model/tokenizer.ts';
import { loadWeights, type HostTensor, type WeightsProgress } from '../model/weights.ts';
import { prepareBatch, type TokenBatch } from './batch.ts';
import { buildModelPlan, type ModelPlan, type PlanMode } from './graph.ts';
import { uploadWeights, type GpuWeights } from './gpu-weights.ts';
import { LoraParams } from './lora-params.ts';

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
  onProgress?: (p: WeightsProgress) => void;
}

export interface SessionInfo {
  arch: string;
  numParams: number;
  numLayers: number;
  hiddenSize: number;
  vocabSize: number;
  loraParams: number;
  weightBytes: number;
}

const MAX_CACHED_PLANS = 4;

export class Session {
  readonly config: ModelConfig;
  readonly tokenizer: TextTokenizer | null;
  readonly lora: LoraConfig | null;
  readonly info: SessionInfo;
  train: TrainHyper;
  private readonly gpu: Gpu;
  private readonly weights: GpuWeights;
  private readonly loraParams: LoraParams | null;
  private readonly step: StepParams;
  private readonly plans = new Map<string, ModelPlan>();
  private readonly staging: GPUBuffer[] = [];
  private stepCount = 0;
  private readonly seed: number;
  private destroyed = false;

  private constructor(gpu: Gpu, init: {
    config: ModelConfig; tokenizer: TextTokenizer | null; lora: LoraConfig | null; weights: GpuWeights;
    loraParams: LoraParams | null; numParams: number; seed: number; train: TrainHyper;
  }) {
    this.gpu = gpu;
    this.config = init.config;
    this.tokenizer = init.tokenizer;
    this.lora = init.lora;
    this.weights = init.weights;
    this.loraParams = init.loraParams;
    this.seed = init.seed;
    this.train = init.train;
    this.step = new StepParams(gpu);
    this.info = {
      arch: init.config.arch,
      numParams: init.numParams,
      numLayers: init.config.numLayers,
      hiddenSize: init.config.hiddenSize,
      vocabSize: init.config.vocabSize,
      loraParams: init.loraParams?.parameterCount ?? 0,
      weightBytes: init.weights.bytes,
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
    const host = await loadWeights(src, config, opts.onProgress);
    let numParams = 0;
    for (const t of host.values()) numParams += t.data.length;
    const weights = uploadWeights(gpu, config, host);
    let loraParams: LoraParams | null = null;
    if (lora && loraTensors) {
      loraParams = new LoraParams(gpu, loraTensorShapes(lora, config));
      loraParams.upload(loraTensors);
    }
    await gpu.flush();
    return new Session(gpu, { config, tokenizer, lora, weights, loraParams, numParams, seed, train: { ...DEFAULT_TRAIN, ...opts.train } });
  }

  encode(text: string): number[] {
    if (!this.tokenizer) throw new Error('this model has no tokenizer.json');
    return this.tokenizer.encode(text);
  }

  /** Logits [seqLen * vocab] for each sequence of the batch. */
  async forward(batch: Pick<TokenBatch, 'ids' | 'batchSize' | 'seqLen'>): Promise<Float32Array[]> {
    const { plan, prepared } = this.prepare('forward', { ...batch, labels: new Int32Array(batch.ids.length).fill(-100) });
    this.submit(plan, prepared.counted);
    const all = await this.gpu.readF32(plan.logits);
    const per = batch.seqLen * this.config.vocabSize;
    return Array.from({ length: batch.batchSize }, (_, b) => all.slice(b * per, (b + 1) * per));
  }

  /** Mean cross-entropy over counted labels, without gradients. */
  async loss(batch: TokenBatch): Promise<number> {
    const { plan, prepared } = this.prepare('loss', batch);
    this.submit(plan, prepared.counted);
    return this.readLoss(plan);
  }

  /** The loss and the gradient of every LoRA tensor (no dropout, no update). */
  async gradients(batch: TokenBatch): Promise<{ loss: number; grads: Map<string, HostTensor> }> {
    const { plan, prepared } = this.prepare('grad', batch);
    this.submit(plan, prepared.counted);
    const loss = await this.readLoss(plan);
    return { loss, grads: await this.requireLora().download('grads') };
  }

  /** One AdamW step on the batch; resolves to the loss before the update. Steps may be queued without awaiting. */
  trainStep(batch: TokenBatch): Promise<number> {
    const { plan, prepared } = this.prepare('train', batch);
    this.stepCount++;
    this.submit(plan, prepared.counted);
    return this.readLoss(plan);
  }

  get steps(): number {
    return this.stepCount;
  }

  /** Starts a fresh optimizer (moments and step count), keeping the adapter's weights. */
  resetOptimizer(): void {
    this.requireLora().resetOptimizer();
    this.stepCount = 0;
  }

  async adapterTensors(): Promise<Map<string, HostTensor>> {
    return this.requireLora().download('params');
  }

  async exportAdapter(baseModelName: string | null = null): Promise<PeftFiles> {
    if (!this.lora) throw new Error('this session has no adapter');
    return writePeftAdapter(this.lora, this.config, await this.adapterTensors(), baseModelName);
  }

  /** Bytes of GPU memory held by weights, adapter, optimizer state and cached plans. */
  get gpuBytes(): number {
    return this.gpu.bytesAllocated;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.plans.values()) p.destroy();
    this.plans.clear();
    this.weights.destroy();
    this.loraParams?.destroy();
    for (const s of this.staging) s.destroy();
  }

  private requireLora(): LoraParams {
    if (!this.loraParams) throw new Error('this session has no adapter');
    return this.loraParams;
  }

  private prepare(mode: PlanMode, batch: TokenBatch) {
    if (this.destroyed) throw new Error('session was destroyed');
    const prepared = prepareBatch(batch, this.config.vocabSize);
    const plan = this.planFor(mode, batch.batchSize, batch.seqLen);
    this.gpu.write(plan.ids, prepared.ids);
    this.gpu.write(plan.targets, prepared.targets);
    return { plan, prepared };
  }

  private planFor(mode: PlanMode, batch: number, seq: number): ModelPlan {
    const key = `${mode}:${batch}x${seq}`;
    let plan = this.plans.get(key);
    if (plan) {
      // Keep most recently used last.
      this.plans.delete(key);
      this.plans.set(key, plan);
      return plan;
    }
    if (this.plans.size >= MAX_CACHED_PLANS) {
      const [oldKey, old] = this.plans.entries().next().value as [string, ModelPlan];
      old.destroy();
      this.plans.delete(oldKey);
    }
    const lora = this.lora && this.loraParams ? { config: this.lora, params: this.loraParams } : null;
    plan = buildModelPlan(this.gpu, { cfg: this.config, weights: this.weights, lora, step: this.step }, mode, batch, seq);
    this.plans.set(key, plan);
    return plan;
  }

  private submit(plan: ModelPlan, counted: number): void {
    const t = this.train;
    this.step.write({
      invCount: counted > 0 ? 1 / counted : 0,
      lr: t.lr, beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weightDecay, maxGradNorm: t.maxGradNorm,
      step: Math.max(1, this.stepCount),
      seed: (this.seed * 0x9e3779b1 + this.stepCount) >>> 0,
    });
    plan.plan.submit(this.gpu.device);
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

export async function openSession(gpu: Gpu, src: FileSource, opts?: OpenOptions): Promise<Session> {
  return Session.open(gpu, src, opts);
}

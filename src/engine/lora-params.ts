// All trainable tensors of an adapter bank in one flat f32 GPU buffer (each tensor at a 256-byte
// aligned offset), with gradient, AdamW moment and trainable-mask buffers of the same layout, so
// clipping and the optimizer are one dispatch each over the whole bank.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import type { HostTensor } from '../model/weights.ts';

const ALIGN_FLOATS = 64;

export interface LoraSlot {
  offset: number;
  shape: [number, number];
  count: number;
}

export class LoraParams {
  readonly slots = new Map<string, LoraSlot>();
  readonly totalFloats: number;
  readonly params: GPUBuffer;
  private training: { grads: GPUBuffer; m: GPUBuffer; v: GPUBuffer; mask: GPUBuffer } | null = null;
  private maskData: Float32Array;

  constructor(private readonly gpu: Gpu, shapes: Map<string, number[]>) {
    let offset = 0;
    for (const [key, shape] of shapes) {
      const count = shape[0] * shape[1];
      this.slots.set(key, { offset, shape: [shape[0], shape[1]], count });
      offset += Math.ceil(count / ALIGN_FLOATS) * ALIGN_FLOATS;
    }
    this.totalFloats = Math.max(offset, ALIGN_FLOATS);
    this.params = gpu.createBuffer('lora.params', this.totalFloats * 4);
    this.maskData = new Float32Array(this.totalFloats);
    for (const sl of this.slots.values()) this.maskData.fill(1, sl.offset, sl.offset + sl.count);
  }

  get parameterCount(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.count;
    return n;
  }

  /** Gradient, moment and trainable-mask buffers, created on first use (inference never allocates them). */
  get trainingBuffers(): { grads: GPUBuffer; m: GPUBuffer; v: GPUBuffer; mask: GPUBuffer } {
    if (!this.training) {
      this.training = {
        grads: this.gpu.createBuffer('lora.grads', this.totalFloats * 4),
        m: this.gpu.createBuffer('lora.adam_m', this.totalFloats * 4),
        v: this.gpu.createBuffer('lora.adam_v', this.totalFloats * 4),
        mask: this.gpu.createBuffer('lora.train_mask', this.totalFloats * 4),
      };
      this.gpu.write(this.training.mask, this.maskData);
    }
    return this.training;
  }

  /**
   * Marks what the optimizer trains: for each slot, null (frozen), 'all', or a [start, end) range of
   * elements within the slot; `lrScale` gives a slot its own learning rate (a multiple of the run's,
   * default 1). Gradients are zeroed so nothing stale reaches the norm or a Fisher sum.
   */
  setTrainable(which: (key: string, slot: LoraSlot) => 'all' | [number, number] | null, lrScale: (key: string) => number = () => 1): void {
    this.maskData = new Float32Array(this.totalFloats);
    for (const [key, sl] of this.slots) {
      const w = which(key, sl);
      const scale = lrScale(key);
      if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`learning-rate scale of ${key} must be positive, got ${scale}`);
      if (w === 'all') this.maskData.fill(scale, sl.offset, sl.offset + sl.count);
      else if (w) this.maskData.fill(scale, sl.offset + w[0], sl.offset + w[1]);
    }
    if (this.training) {
      this.gpu.write(this.training.mask, this.maskData);
      this.gpu.write(this.training.grads, new Float32Array(this.totalFloats));
    }
  }

  /** Number of parameters the optimizer currently trains. */
  get trainableCount(): number {
    let n = 0;
    for (const v of this.maskData) if (v !== 0) n++;
    return n;
  }

  slot(key: string): LoraSlot {
    const s = this.slots.get(key);
    if (!s) throw new Error(`LoRA tensor ${key} is not part of this adapter`);
    return s;
  }

  ref(buffer: GPUBuffer, key: string): BufferRef {
    const s = this.slot(key);
    return { buffer, offset: s.offset * 4, size: s.count * 4 };
  }

  /** Writes every slot from `tensors` (all must be present, with matching sizes). */
  upload(tensors: Map<string, HostTensor>): void {
    const flat = new Float32Array(this.totalFloats);
    for (const [key, s] of this.slots) {
      const t = tensors.get(key);
      if (!t) throw new Error(`LoRA tensor ${key} is missing`);
      if (t.data.length !== s.count) throw new Error(`LoRA tensor ${key} has ${t.data.length} values, expected ${s.count}`);
      flat.set(t.data, s.offset);
    }
    this.gpu.write(this.params, flat);
  }

  /** Zeroes the AdamW moments (a new task or a reloaded adapter starts a fresh optimizer). */
  resetOptimizer(): void {
    if (!this.training) return;
    const zeros = new Float32Array(this.totalFloats);
    this.gpu.write(this.training.m, zeros);
    this.gpu.write(this.training.v, zeros);
  }

  /** The whole flat buffer (params or grads), e.g. for snapshots, anchors and Fisher estimates. */
  async readFlat(which: 'params' | 'grads' = 'params'): Promise<Float32Array> {
    const buffer = which === 'params' ? this.params : this.trainingBuffers.grads;
    return this.gpu.readF32(buffer, this.totalFloats);
  }

  async download(which: 'params' | 'grads' = 'params'): Promise<Map<string, HostTensor>> {
    const flat = await this.readFlat(which);
    const out = new Map<string, HostTensor>();
    for (const [key, s] of this.slots) {
      out.set(key, { shape: [...s.shape], data: flat.slice(s.offset, s.offset + s.count) });
    }
    return out;
  }

  destroy(): void {
    this.gpu.destroyBuffer(this.params);
    if (this.training) {
      this.gpu.destroyBuffer(this.training.grads);
      this.gpu.destroyBuffer(this.training.m);
      this.gpu.destroyBuffer(this.training.v);
      this.gpu.destroyBuffer(this.training.mask);
    }
  }
}

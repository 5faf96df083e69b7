// The engine's handle on a WebGPU device: cached shader modules and pipelines, labelled buffers,
// uploads, readbacks, and loud reporting of validation errors.
import { formatBytes } from '../report/format.ts';

export interface ShaderSource {
  /** Stable name used in pipeline cache keys and error messages, e.g. "matmul". */
  name: string;
  code: string;
}

/** A byte range of a GPU buffer, used as one binding. */
export interface BufferRef {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

export type Bindable = GPUBuffer | BufferRef;

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
  /** True for the CPU (SwiftShader) fallback: its timings say nothing about a GPU. */
  isSoftware: boolean;
}

// GPUBufferUsage flag values, spelled out so modules can be evaluated before Node's WebGPU globals exist.
export const Usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
export const STORAGE_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;

export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  return summarizeInfo(adapter.info, adapter.features);
}

/** The summary from adapter info and features (a worker holding only a device passes device.adapterInfo). */
export function summarizeInfo(info: GPUAdapterInfo | undefined, features: GPUSupportedFeatures): AdapterSummary {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const text = `${vendor} ${architecture} ${device} ${description}`.toLowerCase();
  return {
    vendor, architecture, device, description,
    features: [...features].map(String).sort(),
    isSoftware: text.includes('swiftshader') || text.includes('llvmpipe') || text.includes('lavapipe'),
  };
}

/** Requests a device with the adapter's largest buffer limits (models need more than the defaults). */
export async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const l = adapter.limits;
  const requiredFeatures: GPUFeatureName[] = [];
  for (const f of ['subgroups', 'shader-f16', 'timestamp-query'] as const) {
    if (adapter.features.has(f)) requiredFeatures.push(f as GPUFeatureName);
  }
  return adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
}

export class Gpu {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  /** The device was created with the `subgroups` feature (requestDevice asks for it where the adapter has it). */
  readonly hasSubgroups: boolean;
  /** The device was created with `shader-f16` (f16 in shaders: the f16-compute matmul). */
  readonly hasF16: boolean;
  /** A 16-byte buffer bound where a kernel's optional input is absent. */
  readonly dummy: GPUBuffer;
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly errors: string[] = [];
  private allocated = 0;
  private lost: string | null = null;
  private subgroupsOn: boolean;
  private bindingCap: number | null = null;
  private readonly advice = new WeakMap<GPUBuffer, string>();

  constructor(device: GPUDevice, adapter: AdapterSummary) {
    this.device = device;
    this.adapter = adapter;
    this.hasSubgroups = device.features.has('subgroups');
    this.hasF16 = device.features.has('shader-f16');
    this.subgroupsOn = this.hasSubgroups;
    device.addEventListener('uncapturederror', (ev) => {
      this.errors.push((ev as GPUUncapturedErrorEvent).error.message);
    });
    void device.lost.then((info) => {
      this.lost = info.message || info.reason || 'device lost';
    });
    this.dummy = this.createBuffer('dummy', 16);
  }

  /** Throws, naming `what` and this device, unless the device has shader-f16. */
  requireF16(what: string): void {
    if (!this.hasF16) throw new Error(`${what} needs the shader-f16 feature, which this device (${this.adapter.description || this.adapter.vendor}) lacks`);
  }

  /** Bytes of GPU buffers created through this context and not destroyed. */
  get bytesAllocated(): number {
    return this.allocated;
  }

  /**
   * Whether kernels with a subgroup variant (the row reductions, src/gpu/kernels/row-reduce.ts) are built
   * with it: on wherever the device has `subgroups`. Switching it off builds their fallback instead, so
   * tests can run both paths on one device; pipelines recorded earlier keep the variant they were built with.
   */
  get useSubgroups(): boolean {
    return this.subgroupsOn;
  }

  set useSubgroups(on: boolean) {
    if (on && !this.hasSubgroups) throw new Error('useSubgroups: this device was created without the "subgroups" feature');
    this.subgroupsOn = on;
  }

  /**
   * The largest binding (and buffer) the engine plans its vocabulary-sized tensors for: the embedding table and the
   * LM head are stored in slices of at most this many bytes, and logits are computed and bound in pieces that fit it.
   * The device's maxStorageBufferBindingSize (or maxBufferSize if smaller), unless lowered: tests lower it to a few KiB
   * so tiny models take the sliced paths (CLORA_BINDING_LIMIT in Node, see node-device.ts). Plans recorded earlier keep
   * the slicing they were built with; weights keep the slices they were uploaded in.
   */
  get bindingLimit(): number {
    const device = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    return this.bindingCap === null ? device : Math.min(device, this.bindingCap);
  }

  set bindingLimit(bytes: number | null) {
    if (bytes !== null && !(Number.isSafeInteger(bytes) && bytes >= 1024)) throw new Error(`binding limit must be an integer of at least 1024 bytes, got ${bytes}`);
    this.bindingCap = bytes;
  }

  /** What to do when `buffer` is too large to bind: said by the error of record() (default: a smaller batch or sequence length). */
  setBindingAdvice(buffer: GPUBuffer, advice: string): void {
    this.advice.set(buffer, advice);
  }

  bindingAdvice(buffer: GPUBuffer): string {
    return this.advice.get(buffer) ?? 'use a smaller batch or sequence length';
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  pipeline(shader: ShaderSource, entryPoint: string, constants: Record<string, number | boolean> = {}): GPUComputePipeline {
    const constKeys = Object.keys(constants).sort();
    const key = `${shader.name}:${entryPoint}:${constKeys.map((k) => `${k}=${constants[k]}`).join(',')}`;
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    let module = this.modules.get(shader.name);
    if (!module) {
      module = this.device.createShaderModule({ label: shader.name, code: shader.code });
      this.modules.set(shader.name, module);
    }
    const numeric: Record<string, number> = {};
    for (const k of constKeys) numeric[k] = Number(constants[k]);
    pipeline = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint, constants: numeric },
    });
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  createBuffer(label: string, byteSize: number, usage: number = STORAGE_USAGE): GPUBuffer {
    const size = Math.max(16, Math.ceil(byteSize / 16) * 16);
    const max = this.device.limits.maxBufferSize;
    if (size > max) {
      throw new Error(`buffer "${label}" needs ${formatBytes(size)} (${size} bytes), more than this device's maxBufferSize of ${formatBytes(max)} (${max} bytes)`);
    }
    const buffer = this.device.createBuffer({ label, size, usage });
    this.allocated += size;
    return buffer;
  }

  destroyBuffer(buffer: GPUBuffer): void {
    this.allocated -= buffer.size;
    buffer.destroy();
  }

  upload(label: string, data: Float32Array | Int32Array | Uint32Array, usage: number = STORAGE_USAGE): GPUBuffer {
    const buffer = this.createBuffer(label, data.byteLength, usage);
    this.write(buffer, data);
    return buffer;
  }

  write(target: Bindable, data: Float32Array | Int32Array | Uint32Array, byteOffset = 0): void {
    const ref = toRef(target);
    if (data.byteLength === 0) return;
    this.device.queue.writeBuffer(ref.buffer, ref.offset + byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  uniform(label: string, words: ArrayLike<number>, types: ('u32' | 'f32' | 'i32')[]): GPUBuffer {
    const size = Math.max(16, Math.ceil((words.length * 4) / 16) * 16);
    const data = new ArrayBuffer(size);
    const u = new Uint32Array(data);
    const f = new Float32Array(data);
    const s = new Int32Array(data);
    for (let i = 0; i < words.length; i++) {
      if (types[i] === 'f32') f[i] = words[i];
      else if (types[i] === 'i32') s[i] = words[i];
      else u[i] = words[i];
    }
    const buffer = this.createBuffer(label, size, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  }

  /** Copies a buffer range into a fresh staging buffer and maps it; throws on any recorded GPU error. */
  async read(source: Bindable, byteLength?: number): Promise<ArrayBuffer> {
    const ref = toRef(source);
    const length = byteLength ?? ref.size;
    const staging = this.device.createBuffer({
      label: 'readback',
      size: Math.max(16, Math.ceil(length / 16) * 16),
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    const enc = this.device.createCommandEncoder({ label: 'readback' });
    enc.copyBufferToBuffer(ref.buffer, ref.offset, staging, 0, Math.ceil(length / 4) * 4);
    this.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ);
      const out = staging.getMappedRange(0, Math.ceil(length / 4) * 4).slice(0, length);
      staging.unmap();
      this.throwIfFailed();
      return out;
    } finally {
      staging.destroy();
    }
  }

  async readF32(source: Bindable, count?: number): Promise<Float32Array> {
    const ref = toRef(source);
    return new Float32Array(await this.read(ref, (count ?? ref.size / 4) * 4));
  }

  /** Throws the first validation or out-of-memory error reported since the last check. */
  throwIfFailed(): void {
    if (this.lost) throw new Error(`WebGPU device lost: ${this.lost}`);
    if (this.errors.length > 0) {
      const all = this.errors.splice(0);
      throw new Error(`WebGPU error: ${all[0]}${all.length > 1 ? ` (and ${all.length - 1} more)` : ''}`);
    }
  }

  async flush(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfFailed();
  }
}

export function toRef(b: Bindable): BufferRef {
  return 'buffer' in b ? b : { buffer: b, offset: 0, size: b.size };
}

/** A [x, y] workgroup grid covering `count` workgroups with x <= 65535 (kernels flatten x and y). */
export function grid(count: number): [number, number] {
  if (count <= 65535) return [Math.max(1, count), 1];
  return [65535, Math.ceil(count / 65535)];
}

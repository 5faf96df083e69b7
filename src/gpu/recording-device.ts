// A stand-in GPUDevice that records what the engine asks of WebGPU and allocates nothing: buffers are sizes and labels,
// pipelines and bind groups are empty objects, writes and submissions are counted and dropped. A real Session opened on
// it builds exactly the plans it would build on a device with these limits, so the plan profiler can count the
// dispatches of a SmolLM2-sized training step in seconds without memory for its activations. Nothing recorded on it
// can run or be read back.
import { Gpu, Usage, type AdapterSummary } from './context.ts';

/** WebGPU's constant tables, for a process where no WebGPU implementation has installed them. */
export function ensureWebGpuGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  g.GPUBufferUsage ??= { MAP_READ: 0x1, MAP_WRITE: 0x2, COPY_SRC: 0x4, COPY_DST: 0x8, INDEX: 0x10, VERTEX: 0x20, UNIFORM: Usage.UNIFORM, STORAGE: Usage.STORAGE, INDIRECT: 0x100, QUERY_RESOLVE: 0x200 };
  g.GPUMapMode ??= { READ: 0x1, WRITE: 0x2 };
  g.GPUShaderStage ??= { VERTEX: 0x1, FRAGMENT: 0x2, COMPUTE: 0x4 };
}

/** WebGPU's default limits where the engine reads none of them; the two buffer limits are the caller's. */
const DEFAULT_LIMITS = {
  maxUniformBufferBindingSize: 65536, maxStorageBuffersPerShaderStage: 8, maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535, maxBindGroups: 4, minStorageBufferOffsetAlignment: 256, minUniformBufferOffsetAlignment: 256,
};

export interface RecordingLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** What the engine asked of the device so far. */
export interface RecordingStats {
  buffers: number;
  /** Bytes of buffers created and not destroyed. */
  bytes: number;
  /** The most `bytes` has been. */
  peakBytes: number;
  bindGroups: number;
  pipelines: number;
  writes: number;
  submits: number;
}

class RecordedBuffer {
  readonly mapState = 'unmapped';
  destroyed = false;
  constructor(readonly label: string, readonly size: number, readonly usage: number, private readonly owner: RecordingDevice) {}
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.owner.stats.bytes -= this.size;
  }
  mapAsync(): Promise<never> {
    return Promise.reject(new Error(`buffer "${this.label}": a recording device holds no data to read back`));
  }
}

class RecordingDevice extends EventTarget {
  readonly stats: RecordingStats = { buffers: 0, bytes: 0, peakBytes: 0, bindGroups: 0, pipelines: 0, writes: 0, submits: 0 };
  readonly limits: Record<string, number>;
  readonly features: Set<string>;
  readonly lost = new Promise<never>(() => {});
  readonly label = 'recording device';
  readonly queue = {
    writeBuffer: () => { this.stats.writes++; },
    submit: () => { this.stats.submits++; },
    onSubmittedWorkDone: () => Promise.resolve(),
  };

  constructor(limits: RecordingLimits, features: readonly string[]) {
    super();
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.features = new Set(features);
  }

  createBuffer(d: GPUBufferDescriptor): RecordedBuffer {
    if (d.size > this.limits.maxBufferSize) throw new Error(`buffer "${d.label}" of ${d.size} bytes exceeds maxBufferSize`);
    this.stats.buffers++;
    this.stats.bytes += d.size;
    this.stats.peakBytes = Math.max(this.stats.peakBytes, this.stats.bytes);
    return new RecordedBuffer(d.label ?? '', d.size, d.usage, this);
  }

  createShaderModule(d: GPUShaderModuleDescriptor): object {
    return { label: d.label };
  }

  createComputePipeline(d: GPUComputePipelineDescriptor): object {
    this.stats.pipelines++;
    return { label: d.label, getBindGroupLayout: () => ({}) };
  }

  createBindGroup(d: GPUBindGroupDescriptor): object {
    this.stats.bindGroups++;
    return { label: d.label };
  }

  createCommandEncoder(): object {
    const pass = { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups() {}, end() {} };
    return { beginComputePass: () => pass, clearBuffer() {}, copyBufferToBuffer() {}, finish: () => ({}) };
  }

  destroy(): void {}
}

export interface RecordingGpu {
  gpu: Gpu;
  stats: RecordingStats;
}

/**
 * A Gpu on a recording device with these buffer limits. It presents itself as a hardware adapter unless `software`, so
 * kernels pick their GPU variants (the tiled matmul, staged attention); `features` defaults to subgroups.
 */
export function createRecordingGpu(limits: RecordingLimits, opts: { features?: readonly string[]; description?: string; software?: boolean } = {}): RecordingGpu {
  ensureWebGpuGlobals();
  const device = new RecordingDevice(limits, opts.features ?? ['subgroups']);
  const adapter: AdapterSummary = {
    vendor: 'clora', architecture: 'recording', device: '', description: opts.description ?? 'recording device (plans only)',
    features: [...device.features].sort(), isSoftware: opts.software ?? false,
  };
  return { gpu: new Gpu(device as unknown as GPUDevice, adapter), stats: device.stats };
}

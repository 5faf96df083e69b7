// Acquires and caches the worker's one WebGPU adapter and device, and describes them for the UI.
import type { GpuReport } from './protocol.ts';

/** Optional features the engine can use when present; each is requested only if the adapter has it. */
const WANTED_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

/** Limits that bound model size and kernel shape: the device asks for the adapter's maximum of each. */
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxBindingsPerBindGroup',
] as const;

export interface Gpu {
  adapter: GPUAdapter;
  device: GPUDevice;
  acquireMs: number;
}

let current: Promise<Gpu> | null = null;

/** The worker's device, requested on first use and again after a loss. */
export function getGpu(): Promise<Gpu> {
  if (!current) {
    current = acquire();
    // A failed request is not cached, so the next call tries again.
    current.catch(() => {
      current = null;
    });
  }
  return current;
}

async function acquire(): Promise<Gpu> {
  const t0 = performance.now();
  const gpu = (self.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new Error('WebGPU is not available in the worker (navigator.gpu is undefined).');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('The worker got no WebGPU adapter (navigator.gpu.requestAdapter() returned null).');

  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'clora worker device' });
  const gpuState = { adapter, device, acquireMs: performance.now() - t0 };
  void device.lost.then((info) => {
    console.warn(`WebGPU device lost (${info.reason}): ${info.message}`);
    if (current && gpuState.device === device) current = null;
  });
  return gpuState;
}

function limitsRecord(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  // WebIDL attributes live on the prototype and are enumerable, so for..in sees them all.
  for (const key in limits) {
    const value = (limits as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}

/** Describes the cached adapter and device as plain data. */
export function describeGpu({ adapter, device, acquireMs }: Gpu): GpuReport {
  const info = adapter.info as GPUAdapterInfo & Partial<Pick<GPUAdapterInfo, 'isFallbackAdapter'>>;
  const legacyFallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const wgsl = (self.navigator as Navigator).gpu.wgslLanguageFeatures;
  return {
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: info.isFallbackAdapter ?? legacyFallback ?? null,
      subgroupMinSize: info.subgroupMinSize ?? null,
      subgroupMaxSize: info.subgroupMaxSize ?? null,
    },
    adapterFeatures: [...adapter.features].sort(),
    deviceFeatures: [...device.features].sort(),
    adapterLimits: limitsRecord(adapter.limits),
    deviceLimits: limitsRecord(device.limits),
    wgslLanguageFeatures: wgsl ? [...wgsl].sort() : [],
    acquireMs,
    userAgent: self.navigator.userAgent,
  };
}

// Named device profiles for the plan profiler's modelled times (src/gpu/plan-profile.ts): an H100, an M2-class laptop
// and an integrated GPU. Figures are vendors' published peaks, not measurements; docs/PROFILER.md says where each comes
// from and what the model leaves out.

export interface DeviceProfile {
  name: string;
  description: string;
  /** Peak f32 arithmetic (FMA counted as 2), without tensor cores or matrix units, in TFLOP/s. */
  f32Tflops: number;
  /** Peak memory bandwidth in GB/s (1e9 bytes). */
  bandwidthGBs: number;
  /** Cores a workgroup runs on (NVIDIA SMs, Apple GPU cores, AMD CUs): a dispatch of fewer workgroups leaves the rest idle. */
  computeUnits: number;
  /**
   * Resident workgroups a compute unit needs to reach its peak: with fewer, nothing hides its memory latency. The
   * engine's workgroups are 64 to 256 invocations (2 to 8 warps); an SM wants about 16 to 32 warps in flight.
   */
  workgroupsPerUnit: number;
  /** Fixed cost of one dispatch (launch, barrier, bind group switch) in microseconds: an assumption, see docs/PROFILER.md. */
  dispatchUs: number;
  /** The buffer limits a browser or Dawn grants on such a device, which the profiler records plans under (assumptions). */
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

const GiB = 2 ** 30;

export const DEVICE_PROFILES: Record<'h100' | 'm2' | 'igpu', DeviceProfile> = {
  h100: {
    name: 'h100', description: 'NVIDIA H100 SXM (132 SMs, 67 TFLOP/s f32, 3.35 TB/s HBM3)',
    f32Tflops: 67, bandwidthGBs: 3350, computeUnits: 132, workgroupsPerUnit: 4, dispatchUs: 4,
    limits: { maxBufferSize: 8 * GiB, maxStorageBufferBindingSize: 4 * GiB - 4 },
  },
  m2: {
    name: 'm2', description: 'Apple M2, 10-core GPU (3.6 TFLOP/s f32, 100 GB/s unified LPDDR5)',
    f32Tflops: 3.6, bandwidthGBs: 100, computeUnits: 10, workgroupsPerUnit: 4, dispatchUs: 8,
    limits: { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 2 * GiB },
  },
  igpu: {
    name: 'igpu', description: 'integrated GPU, Radeon 780M class (12 CUs, 4.1 TFLOP/s f32 without dual issue, 90 GB/s shared DDR5)',
    f32Tflops: 4.1, bandwidthGBs: 90, computeUnits: 12, workgroupsPerUnit: 4, dispatchUs: 10,
    limits: { maxBufferSize: 2 * GiB, maxStorageBufferBindingSize: 128 * 2 ** 20 },
  },
};

export type DeviceProfileName = keyof typeof DEVICE_PROFILES;

export function deviceProfile(name: string): DeviceProfile {
  const p = (DEVICE_PROFILES as Record<string, DeviceProfile>)[name];
  if (!p) throw new Error(`unknown device profile "${name}" (known: ${Object.keys(DEVICE_PROFILES).join(', ')})`);
  return p;
}

/**
 * Modelled milliseconds of one dispatch: a fixed cost plus the slower of its arithmetic at peak and its traffic at
 * peak bandwidth, both scaled by the share of the device its workgroups can keep busy, min(1, workgroups /
 * (compute units x workgroups per unit)): a dispatch of 14 workgroups on an H100 gets 14/528 of it, however little
 * work it has. An optimistic model otherwise (peaks, no cache misses, no tile padding): docs/PROFILER.md.
 */
export function modelledDispatchMs(p: DeviceProfile, d: { workgroups: number; flops: number; bytes: number }): number {
  const share = Math.min(1, Math.max(1, d.workgroups) / (p.computeUnits * p.workgroupsPerUnit));
  const computeMs = d.flops / (p.f32Tflops * 1e9 * share);
  const memoryMs = d.bytes / (p.bandwidthGBs * 1e6 * share);
  return p.dispatchUs / 1000 + Math.max(computeMs, memoryMs);
}

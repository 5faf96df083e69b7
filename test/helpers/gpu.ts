// The WebGPU device for GPU test suites. There is no skip: without an adapter the suite fails.
import { createNodeGpu } from '../../src/gpu/node-device.ts';
import type { Gpu } from '../../src/gpu/context.ts';

let shared: Promise<Gpu> | null = null;

export function testGpu(): Promise<Gpu> {
  shared ??= createNodeGpu({ verbose: false });
  return shared;
}

export async function releaseTestGpu(): Promise<void> {
  if (!shared) return;
  const gpu = await shared;
  gpu.device.destroy();
  shared = null;
}

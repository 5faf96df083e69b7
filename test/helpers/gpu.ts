// The WebGPU device for GPU test suites. There is no skip: without an adapter the suite fails.
import { createNodeGpu } from '../../src/gpu/node-device.ts';
import type { BufferRef, Gpu } from '../../src/gpu/context.ts';
import { Plan } from '../../src/gpu/plan.ts';

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

/**
 * Buffer helpers of the kernel suites, bound to the suite's device (read lazily, after `before`):
 * `up` uploads data as an exact-size view (buffers are padded to 16 bytes), `zeros` makes a zeroed
 * output, `run` records a plan, submits it and waits for the device.
 */
export function kernelHarness(device: () => Gpu) {
  const up = (data: Float32Array | Int32Array | Uint32Array, label = 'in'): BufferRef =>
    ({ buffer: device().upload(label, data), offset: 0, size: data.byteLength });
  const zeros = (n: number, label = 'out'): BufferRef => ({ buffer: device().createBuffer(label, n * 4), offset: 0, size: n * 4 });
  const run = async (build: (plan: Plan) => void): Promise<Plan> => {
    const plan = new Plan('test');
    build(plan);
    plan.submit(device().device);
    await device().flush();
    return plan;
  };
  return { up, zeros, run };
}

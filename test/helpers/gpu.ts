// The WebGPU device for GPU test suites. There is no skip: without an adapter the suite fails.
import assert from 'node:assert/strict';
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

/** The two builds of the row-reduction kernels (src/gpu/kernels/row-reduce.ts); suites test each kernel on both. */
export const REDUCTION_PATHS = ['subgroups', 'tree'] as const;
export type ReductionPath = (typeof REDUCTION_PATHS)[number];

/**
 * Runs `body` with the kernels it records built for `path` (through Gpu.useSubgroups), then restores the
 * device's default. A device without the `subgroups` feature fails the test rather than skipping the
 * subgroup path: SwiftShader, the suites' fallback adapter, has it.
 */
export async function withReductionPath<T>(gpu: Gpu, path: ReductionPath, body: () => Promise<T>): Promise<T> {
  assert.ok(gpu.hasSubgroups,
    `the test device (${gpu.adapter.vendor} ${gpu.adapter.description}) lacks the "subgroups" feature, so the subgroup path cannot be tested`);
  const previous = gpu.useSubgroups;
  gpu.useSubgroups = path === 'subgroups';
  try {
    return await body();
  } finally {
    gpu.useSubgroups = previous;
  }
}

/** Asserts that every dispatch of `plan` runs a pipeline built for `path` (the subgroup variants' modules are named `<kernel>+subgroups`). */
export function assertReductionPath(plan: Plan, path: ReductionPath): void {
  const dispatches = plan.ops.filter((op) => op.kind === 'dispatch');
  assert.ok(dispatches.length > 0, `plan ${plan.label} has no dispatch`);
  for (const op of dispatches) {
    assert.equal(op.pipeline.label.includes('+subgroups:'), path === 'subgroups', `dispatch ${op.label} runs pipeline ${op.pipeline.label}, expected the ${path} build`);
  }
}

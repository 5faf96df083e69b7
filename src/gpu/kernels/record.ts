// Shared helper for kernel modules: builds a bind group for one entry point and appends the
// dispatch to a plan with its cost (kernel class, flops, bytes: see ../dispatch-cost.ts), refusing bindings larger than
// the device allows with an error that names them.
import { checkCost, type DispatchCost } from '../dispatch-cost.ts';
import { toRef, type Bindable, type BufferRef, type Gpu, type ShaderSource } from '../context.ts';
import type { Plan } from '../plan.ts';
import { formatBytes } from '../../report/format.ts';

export interface DispatchSpec {
  shader: ShaderSource;
  entry: string;
  constants?: Record<string, number | boolean>;
  /** Binding number -> buffer (or range). Must list exactly the bindings the entry point uses. */
  bindings: Record<number, Bindable>;
  workgroups: [number, number?, number?];
  label: string;
  /** What the dispatch computes and moves, from the shapes the kernel module was given (the plan profiler's input). */
  cost: DispatchCost;
}

export function record(gpu: Gpu, plan: Plan, spec: DispatchSpec): void {
  const cost = checkCost(spec.label, spec.cost);
  const pipeline = gpu.pipeline(spec.shader, spec.entry, spec.constants);
  const entries: GPUBindGroupEntry[] = Object.entries(spec.bindings).map(([binding, b]) => {
    const ref = toRef(b);
    checkBindingSize(gpu, spec.label, ref);
    return { binding: Number(binding), resource: { buffer: ref.buffer, offset: ref.offset, size: ref.size } };
  });
  const bindGroup = gpu.device.createBindGroup({ label: spec.label, layout: pipeline.getBindGroupLayout(0), entries });
  const [x, y = 1, z = 1] = spec.workgroups;
  plan.push({ kind: 'dispatch', label: spec.label, pipeline, bindGroup, x, y, z, cost });
}

/**
 * Throws unless `ref` fits in one binding of this device (maxStorageBufferBindingSize, or maxUniformBufferBindingSize
 * for a uniform buffer). WebGPU would only report it later, as a validation error of the whole submission.
 */
export function checkBindingSize(gpu: Gpu, label: string, ref: BufferRef): void {
  const uniform = (ref.buffer.usage & GPUBufferUsage.UNIFORM) !== 0;
  const limit = uniform ? gpu.device.limits.maxUniformBufferBindingSize : gpu.device.limits.maxStorageBufferBindingSize;
  if (ref.size <= limit) return;
  const name = uniform ? 'maxUniformBufferBindingSize' : 'maxStorageBufferBindingSize';
  throw new Error(`${label}: buffer "${ref.buffer.label}" would bind ${formatBytes(ref.size)} (${ref.size} bytes), more than this device's ` +
    `${name} of ${formatBytes(limit)} (${limit} bytes); ${uniform ? 'this is a bug in the engine' : gpu.bindingAdvice(ref.buffer)}`);
}

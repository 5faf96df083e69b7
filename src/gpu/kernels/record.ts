// Shared helper for kernel modules: builds a bind group for one entry point and appends the
// dispatch to a plan.
import { toRef, type Bindable, type Gpu, type ShaderSource } from '../context.ts';
import type { Plan } from '../plan.ts';

export interface DispatchSpec {
  shader: ShaderSource;
  entry: string;
  constants?: Record<string, number | boolean>;
  /** Binding number -> buffer (or range). Must list exactly the bindings the entry point uses. */
  bindings: Record<number, Bindable>;
  workgroups: [number, number?, number?];
  label: string;
}

export function record(gpu: Gpu, plan: Plan, spec: DispatchSpec): void {
  const pipeline = gpu.pipeline(spec.shader, spec.entry, spec.constants);
  const entries: GPUBindGroupEntry[] = Object.entries(spec.bindings).map(([binding, b]) => {
    const ref = toRef(b);
    return { binding: Number(binding), resource: { buffer: ref.buffer, offset: ref.offset, size: ref.size } };
  });
  const bindGroup = gpu.device.createBindGroup({ label: spec.label, layout: pipeline.getBindGroupLayout(0), entries });
  const [x, y = 1, z = 1] = spec.workgroups;
  plan.push({ kind: 'dispatch', label: spec.label, pipeline, bindGroup, x, y, z });
}

// Records global-norm clipping and the AdamW update over one flat parameter buffer (shaders/adamw.wgsl,
// the norm's reductions from row-reduce.ts).
import source from '../../../shaders/adamw.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';
import { rowReduceShader, rowReduceShaders, rowReductionWidth } from './row-reduce.ts';
import stepSource from '../../../shaders/step.wgsl';

const shaders = rowReduceShaders('adamw', stepSource, source);
const PARTIALS = 256;
/** UPDATE_WG in the shader. */
const UPDATE_WG = 256;

export interface AdamWBuffers {
  step: GPUBuffer;
  params: Bindable;
  grads: Bindable;
  m: Bindable;
  v: Bindable;
  /** 256 floats of scratch. */
  partials: Bindable;
  /** [norm, scale]: the gradient norm before clipping and the factor applied. */
  clip: Bindable;
  /** 1 where the element is trained, 0 where it is frozen (same length as params). */
  mask: Bindable;
}

/** `width`: invocations per workgroup of the norm's reductions (a power of two; default rowReductionWidth). */
export function recordAdamW(gpu: Gpu, plan: Plan, n: number, b: AdamWBuffers, label = 'adamw', width = rowReductionWidth(gpu)): void {
  const p = gpu.uniform(`${label}.params`, [n, 0, 0, 0], ['u32', 'u32', 'u32', 'u32']);
  const constants = { RED_WG: width };
  const shader = rowReduceShader(gpu, shaders);
  record(gpu, plan, { shader, entry: 'grad_sumsq', label: `${label}.sumsq`, constants, bindings: { 0: p, 3: b.grads, 6: b.partials, 8: b.mask }, workgroups: [PARTIALS],
    cost: elementwiseCost('adamw.norm', n, 3, 2, 0, PARTIALS * WORD) });
  record(gpu, plan, { shader, entry: 'grad_clip', label: `${label}.clip`, constants, bindings: { 1: b.step, 6: b.partials, 7: b.clip }, workgroups: [1],
    cost: elementwiseCost('adamw.norm', PARTIALS, 1, 1, 0, 2 * WORD) });
  record(gpu, plan, {
    shader, entry: 'adamw_update', label: `${label}.update`,
    bindings: { 0: p, 1: b.step, 2: b.params, 3: b.grads, 4: b.m, 5: b.v, 7: b.clip, 8: b.mask }, workgroups: grid(Math.ceil(n / UPDATE_WG)),
    // Moments, bias corrections, the square root and the decayed step; params, m and v read and written, grads and mask read.
    cost: elementwiseCost('adamw.update', n, 15, 5, 3),
  });
}

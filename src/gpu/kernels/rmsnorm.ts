// Records RMSNorm forward and backward dispatches (shaders/rmsnorm.wgsl, its row sum from row-reduce.ts).
import source from '../../../shaders/rmsnorm.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';
import { rowReduceShader, rowReduceShaders } from './row-reduce.ts';

const shaders = rowReduceShaders('rmsnorm', source);

export interface RmsNormShape {
  rows: number;
  cols: number;
  eps: number;
  /** Added to the weight: 0 (default) for x * r * w, 1 for Gemma's x * r * (1 + w). */
  wOffset?: number;
}

const PARAM_TYPES = ['u32', 'u32', 'f32', 'u32', 'f32', 'u32', 'u32', 'u32'] as const;

/** y = x * rstd * (w + wOffset), and rstd[row] saved for the backward pass. */
export function recordRmsNormForward(gpu: Gpu, plan: Plan, s: RmsNormShape,
  io: { x: Bindable; w: Bindable; y: Bindable; rstd: Bindable }, label = 'rmsnorm'): void {
  const params = gpu.uniform(`${label}.params`, [s.rows, s.cols, s.eps, 0, s.wOffset ?? 0, 0, 0, 0], [...PARAM_TYPES]);
  record(gpu, plan, {
    shader: rowReduceShader(gpu, shaders), entry: 'rmsnorm_forward', label,
    bindings: { 0: params, 1: io.x, 2: io.w, 3: io.y, 4: io.rstd },
    workgroups: grid(s.rows),
    // Square-and-add, then two products an element; x read, y written, w and rstd per row.
    cost: elementwiseCost('rmsnorm.fwd', s.rows * s.cols, 4, 1, 1, (s.cols + s.rows) * WORD),
  });
}

/** dx = (or +=, when accumulate) the input gradient of RMSNorm given dy; w is frozen. */
export function recordRmsNormBackward(gpu: Gpu, plan: Plan, s: RmsNormShape,
  io: { x: Bindable; w: Bindable; rstd: Bindable; dy: Bindable; dx: Bindable; accumulate: boolean }, label = 'rmsnorm.bwd'): void {
  const params = gpu.uniform(`${label}.params`, [s.rows, s.cols, s.eps, io.accumulate ? 1 : 0, s.wOffset ?? 0, 0, 0, 0], [...PARAM_TYPES]);
  record(gpu, plan, {
    shader: rowReduceShader(gpu, shaders), entry: 'rmsnorm_backward', label,
    bindings: { 0: params, 1: io.x, 2: io.w, 4: io.rstd, 5: io.dy, 6: io.dx },
    workgroups: grid(s.rows),
    cost: elementwiseCost('rmsnorm.bwd', s.rows * s.cols, 7, io.accumulate ? 3 : 2, 1, (s.cols + s.rows) * WORD),
  });
}

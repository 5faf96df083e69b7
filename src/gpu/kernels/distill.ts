// Records the LwF distillation loss on the logits with its in-place student-logit gradient
// (shaders/distill.wgsl, its reductions from row-reduce.ts).
import source from '../../../shaders/distill.wgsl';
import stepSource from '../../../shaders/step.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';
import { rowReduceShader, rowReduceShaders, rowReductionWidth } from './row-reduce.ts';

const shaders = rowReduceShaders('distill', stepSource, source);

/**
 * LwF distillation on the logits, for rows n < rows whose target (i32) is >= 0:
 *   p_s = softmax(student[n,:] / T), p_t = softmax(teacher[n,:] / T)
 *   teacher[n,:] <- weight * T * (p_s - p_t) * step.inv_count       (IN PLACE: the teacher buffer becomes the gradient w.r.t. the student logits)
 *   rowLoss[n]   = weight * T^2 * KL(p_t || p_s) * step.inv_count    (when given)
 * rows whose target is < 0 get teacher[n,:] = 0 and rowLoss[n] = 0. `step` is the per-step uniform buffer (shaders/step.wgsl; inv_count = 1 / counted targets).
 * `width`: invocations per row (a power of two; default rowReductionWidth).
 */
export function recordDistill(gpu: Gpu, plan: Plan, s: { rows: number; vocab: number; temperature: number; weight: number; width?: number },
  io: { step: GPUBuffer; student: Bindable; teacher: Bindable; targets: Bindable; rowLoss?: Bindable }, label = 'distill'): void {
  if (!(s.temperature > 0)) throw new Error(`${label}: temperature must be positive, got ${s.temperature}`);
  const p = gpu.uniform(`${label}.params`, [s.rows, s.vocab, 1 / s.temperature, s.temperature, s.weight, 0, 0, 0],
    ['u32', 'u32', 'f32', 'f32', 'f32', 'u32', 'u32', 'u32']);
  record(gpu, plan, {
    shader: rowReduceShader(gpu, shaders), entry: 'distill', label,
    constants: { WRITE_LOSS: !!io.rowLoss, RED_WG: s.width ?? rowReductionWidth(gpu) },
    bindings: { 0: p, 1: io.step, 2: io.student, 3: io.teacher, 4: io.targets, 5: io.rowLoss ?? gpu.dummy },
    workgroups: grid(s.rows),
    // Two softmaxes, the KL term and the gradient: about 12 operations a logit; student read, teacher read and overwritten.
    cost: elementwiseCost('distill', s.rows * s.vocab, 12, 2, 1, s.rows * 2 * WORD),
  });
}

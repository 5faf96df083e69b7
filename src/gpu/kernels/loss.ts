// Records the cross-entropy loss (with in-place logit gradients) and its mean (shaders/cross_entropy.wgsl,
// its reductions from row-reduce.ts).
import source from '../../../shaders/cross_entropy.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';
import { rowReduceShader, rowReduceShaders, rowReductionWidth } from './row-reduce.ts';
import stepSource from '../../../shaders/step.wgsl';

const shaders = rowReduceShaders('cross_entropy', stepSource, source);

/** `width`: invocations per row (a power of two; default rowReductionWidth). */
export function recordCrossEntropy(gpu: Gpu, plan: Plan, s: { rows: number; vocab: number; writeGrad: boolean; width?: number },
  io: { step: GPUBuffer; logits: Bindable; targets: Bindable; rowLoss: Bindable; loss: Bindable }, label = 'cross_entropy'): void {
  const p = gpu.uniform(`${label}.params`, [s.rows, s.vocab, 0, 0], ['u32', 'u32', 'u32', 'u32']);
  const RED_WG = s.width ?? rowReductionWidth(gpu);
  const shader = rowReduceShader(gpu, shaders);
  record(gpu, plan, {
    shader, entry: 'cross_entropy', label, constants: { WRITE_GRAD: s.writeGrad, RED_WG },
    bindings: { 0: p, 1: io.step, 2: io.logits, 3: io.targets, 4: io.rowLoss }, workgroups: grid(s.rows),
    // Max, exp-sum and (with the gradient) the softmax minus one-hot: about 5 operations a logit, each read once and
    // written once more when the gradient overwrites it.
    cost: elementwiseCost('cross_entropy', s.rows * s.vocab, s.writeGrad ? 5 : 3, 1, s.writeGrad ? 1 : 0, s.rows * 2 * WORD),
  });
  record(gpu, plan, {
    shader, entry: 'loss_mean', label: `${label}.mean`, constants: { RED_WG },
    bindings: { 0: p, 1: io.step, 4: io.rowLoss, 5: io.loss }, workgroups: [1],
    cost: elementwiseCost('cross_entropy', s.rows, 1, 1, 0, WORD),
  });
}

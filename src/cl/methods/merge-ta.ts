// Continual task arithmetic: after task t the model answers with base + λ · Σ_{i<=t} τ_i, τ_i being task i's own
// LoRA trained from the base model.
import { MergeMethod, rankCapOption } from './merge-base.ts';
import { checkOptions, numberOption, type ContinualMethod, type MethodOptions } from './method.ts';

export function createMergeTa(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, ['lambda', 'rankCap'], 'merge-ta');
  return new MergeMethod('merge-ta', {
    kind: 'merge-ta',
    alpha: 0.5,
    lambda: numberOption(opts, 'lambda', 0.3, (v) => v > 0, 'a positive number', 'merge-ta'),
    rankCap: rankCapOption(opts, 'merge-ta'),
  });
}

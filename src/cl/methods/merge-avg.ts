// Running average of task vectors: after task t the model answers with base + (1/t) · Σ_{i<=t} τ_i, τ_i being task
// i's own LoRA trained from the base model.
import { MergeMethod, rankCapOption } from './merge-base.ts';
import { checkOptions, type ContinualMethod, type MethodOptions } from './method.ts';

export function createMergeAvg(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, ['rankCap'], 'merge-avg');
  return new MergeMethod('merge-avg', { kind: 'merge-avg', alpha: 0.5, lambda: 1, rankCap: rankCapOption(opts, 'merge-avg') });
}

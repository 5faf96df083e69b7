// OPCM (sequential projection-based continual model merging): each task's own LoRA task vector is projected away
// from the merged one's dominant singular directions, then the sum is rescaled so that its norm stays at the running
// mean of the task vectors' norms. METHODS.md "Continual model merging" gives the exact definition.
import { MergeMethod, rankCapOption } from './merge-base.ts';
import { checkOptions, numberOption, type ContinualMethod, type MethodOptions } from './method.ts';

export function createOpcm(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, ['alpha', 'rankCap'], 'opcm');
  return new MergeMethod('opcm', {
    kind: 'opcm',
    alpha: numberOption(opts, 'alpha', 0.5, (v) => v >= 0 && v <= 1, 'in [0, 1]', 'opcm'),
    lambda: 1,
    rankCap: rankCapOption(opts, 'opcm'),
  });
}

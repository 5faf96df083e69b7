// O-LoRA: a new LoRA per task with the earlier ones frozen (their A matrices concatenated, which
// the stacked bank already is), all branches summed at inference, and the loss
// CE + lambda1 Σ_modules Σ |A_old A_newᵀ| + lambda2 Σ ||θ||₂ over the new LoRA's tensors (the paper
// sets lambda2 to 0).
import type { StepExtras } from '../../engine/session.ts';
import { IncLoraMethod } from './block-bank.ts';
import { checkOptions, numberOption, type ContinualMethod, type MethodContext, type MethodOptions } from './method.ts';

export class OLoraMethod extends IncLoraMethod {
  constructor(readonly lambda1: number, readonly lambda2 = 0) {
    super('olora');
  }

  override extras(_ctx: MethodContext, t: number, _step: number): StepExtras {
    const extras: StepExtras = {};
    if (t > 0 && this.lambda1 > 0) extras.orthoLambda = this.lambda1;
    if (this.lambda2 > 0) extras.l2Lambda = this.lambda2;
    return extras;
  }
}

export function createOLora(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, ['lambda1', 'lambda2'], 'olora');
  return new OLoraMethod(
    numberOption(opts, 'lambda1', 0.5, (v) => v >= 0, 'non-negative', 'olora'),
    numberOption(opts, 'lambda2', 0, (v) => v >= 0, 'non-negative', 'olora'),
  );
}

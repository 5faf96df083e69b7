// O-LoRA: a new LoRA per task with the earlier ones frozen (their A matrices concatenated, which
// the stacked bank already is), all branches summed at inference, and the loss
// CE + lambda1 Σ_modules Σ |A_old A_newᵀ| (+ lambda2 ||new LoRA||₂, which the paper sets to 0).
import type { StepExtras } from '../../engine/session.ts';
import { IncLoraMethod } from './block-bank.ts';
import { checkOptions, numberOption, type ContinualMethod, type MethodContext, type MethodOptions } from './method.ts';

export class OLoraMethod extends IncLoraMethod {
  constructor(readonly lambda1: number) {
    super('olora');
  }

  override extras(_ctx: MethodContext, t: number, _step: number): StepExtras {
    return t > 0 && this.lambda1 > 0 ? { orthoLambda: this.lambda1 } : {};
  }
}

export function createOLora(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, ['lambda1', 'lambda2'], 'olora');
  // lambda2 is accepted for files written for the paper's code, which sets it to 0.
  numberOption(opts, 'lambda2', 0, (v) => v === 0, '0 (the L2 term is not implemented; the paper uses 0)', 'olora');
  return new OLoraMethod(numberOption(opts, 'lambda1', 0.5, (v) => v >= 0, 'non-negative', 'olora'));
}

// LwF: a single LoRA; before each task after the first, the current model is snapshot as a frozen
// teacher, and weight · T² · KL(teacher || student) over the current task's answer positions is
// added to the loss (computed on the GPU from both models' logits).
import type { Bank } from '../../engine/bank.ts';
import type { StepExtras } from '../../engine/session.ts';
import { SingleLoraMethod } from './single-lora.ts';
import { checkOptions, numberOption, type ContinualMethod, type MethodContext, type MethodOptions } from './method.ts';

export class LwfMethod extends SingleLoraMethod {
  private teacher: Bank | null = null;

  constructor(private readonly temperature: number, private readonly weight: number) {
    super('lwf');
  }

  override async beforeTask(ctx: MethodContext, t: number): Promise<void> {
    await super.beforeTask(ctx, t);
    if (t === 0) return;
    if (this.teacher) ctx.session.releaseBank(this.teacher);
    this.teacher = await this.bank!.clone(ctx.session.gpu);
  }

  override extras(_ctx: MethodContext, _t: number, _step: number): StepExtras {
    return this.teacher ? { distill: { teacher: this.teacher, temperature: this.temperature, weight: this.weight } } : {};
  }

  override dispose(ctx: MethodContext): void {
    super.dispose(ctx);
    if (this.teacher) ctx.session.releaseBank(this.teacher);
    this.teacher = null;
  }
}

export function createLwf(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, ['temperature', 'weight'], 'lwf');
  return new LwfMethod(
    numberOption(opts, 'temperature', 2, (v) => v > 0, 'positive', 'lwf'),
    numberOption(opts, 'weight', 1, (v) => v >= 0, 'non-negative', 'lwf'),
  );
}

// Factories of IncLoRA and the oracle per-task LoRA (both block banks without a learnt router).
import { IncLoraMethod, OracleMethod } from './block-bank.ts';
import { checkOptions, type ContinualMethod, type MethodOptions } from './method.ts';

export function createIncLora(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, [], 'inclora');
  return new IncLoraMethod('inclora');
}

export function createOracle(opts: MethodOptions): ContinualMethod {
  checkOptions(opts, [], 'oracle');
  return new OracleMethod('oracle');
}

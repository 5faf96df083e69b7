// The registry of continual-learning methods by the names experiment files use.
import { createConpetDynamic } from './conpet-dynamic.ts';
import { createEwc } from './ewc.ts';
import { createIncLora, createOracle } from './inclora.ts';
import { createLwf } from './lwf.ts';
import { createMergeAvg } from './merge-avg.ts';
import { createMergeTa } from './merge-ta.ts';
import type { ContinualMethod, MethodOptions } from './method.ts';
import { createMtl } from './mtl.ts';
import { createOLora } from './olora.ts';
import { createOpcm } from './opcm.ts';
import { createConpetStatic, createReplay } from './replay.ts';
import { createSapt } from './sapt.ts';
import { createSeqLora } from './single-lora.ts';

export const METHODS: Record<string, { create: (opts: MethodOptions) => ContinualMethod; summary: string }> = {
  seqlora: { create: createSeqLora, summary: 'one LoRA trained on each task in turn (forgets)' },
  inclora: { create: createIncLora, summary: 'a new LoRA per task, earlier ones frozen, all summed' },
  replay: { create: createReplay, summary: 'one LoRA, batches mixed with stored samples of earlier tasks' },
  ewc: { create: createEwc, summary: 'one LoRA with a diagonal-Fisher quadratic penalty' },
  lwf: { create: createLwf, summary: 'one LoRA distilled from its previous self on new inputs' },
  olora: { create: createOLora, summary: 'a new LoRA per task, orthogonal to the earlier ones' },
  sapt: { create: createSapt, summary: 'LoRA per task mixed by a learnt attentive selector (SALS + ARM)' },
  'conpet-static': { create: createConpetStatic, summary: 'one LoRA, batches half new and half replayed' },
  'conpet-dynamic': { create: createConpetDynamic, summary: 'a LoRA module per task chosen by a learnt selector' },
  mtl: { create: createMtl, summary: 'one LoRA trained on all tasks jointly (upper bound)' },
  oracle: { create: createOracle, summary: 'a LoRA per task, the true task picks it (upper bound of selection)' },
  opcm: { create: createOpcm, summary: 'a LoRA per task merged into one: projected off the merge\'s top directions, norm-rescaled' },
  'merge-ta': { create: createMergeTa, summary: 'a LoRA per task merged into one: lambda times their sum (task arithmetic)' },
  'merge-avg': { create: createMergeAvg, summary: 'a LoRA per task merged into one: their running average' },
};

export function createMethod(name: string, opts: MethodOptions = {}): ContinualMethod {
  const entry = METHODS[name];
  if (!entry) throw new Error(`unknown method "${name}" (known: ${Object.keys(METHODS).join(', ')})`);
  return entry.create(opts);
}

export type { ContinualMethod } from './method.ts';

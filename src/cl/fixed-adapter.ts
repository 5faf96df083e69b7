// Which trained methods answer a task with one LoRA adapter whatever the prompt (so the adapter can be merged into
// an exported model), and that adapter as PEFT files: one block as it is, or a fixed mixture of a bank's blocks
// folded into a single adapter whose rank is the blocks' ranks stacked.
import type { Bank } from '../engine/bank.ts';
import type { ModelConfig } from '../model/config.ts';
import { loraScale, loraTensorShapes, writePeftAdapter, type BaseModelRef, type LoraConfig, type PeftFiles } from '../model/peft.ts';
import type { HostTensor } from '../model/weights.ts';

/**
 * Method kinds (experiment `method` names) whose answers come from a fixed adapter, with what that adapter is. SAPT
 * exports with its router instead (its blocks mixed per prompt inside the graph); any other kind (dynamic ConPET,
 * whose selector picks modules through a classification head; any new method) keeps the engine.
 */
export const FIXED_ADAPTER_METHODS: Readonly<Record<string, string>> = {
  seqlora: 'its one LoRA',
  replay: 'its one LoRA',
  ewc: 'its one LoRA',
  lwf: 'its one LoRA',
  'conpet-static': 'its one LoRA',
  mtl: 'its one LoRA',
  inclora: 'the sum of its task LoRAs',
  olora: 'the sum of its task LoRAs',
  oracle: "the asked task's own LoRA",
  opcm: 'its OPCM merge of the task LoRAs',
  'merge-ta': 'its task-arithmetic merge of the task LoRAs',
  'merge-avg': 'its average of the task LoRAs',
};

/** The method kinds that write, after each task, their merged adapter under `merged/<task>/` beside the task's own LoRA. */
export const MERGING_KINDS: readonly string[] = ['opcm', 'merge-ta', 'merge-avg'];

/** A method folder's subfolder of PEFT adapters: every method's `adapters/`, or the merging methods' `merged/`. */
export type AdapterRoot = 'adapters' | 'merged';

/** Method kinds known to choose their LoRA modules per prompt, with how. */
const PER_PROMPT_METHODS: Readonly<Record<string, string>> = {
  'conpet-dynamic': 'picks its task LoRAs per prompt with a learnt selector',
};

/** Whether a method of kind `kind` exports to one ONNX model: its fixed adapter merged, or SAPT with its selector in the graph. */
export function exportsToOnnx(kind: string): boolean {
  return kind in FIXED_ADAPTER_METHODS || kind === 'sapt';
}

/** Why a method of kind `kind` cannot answer through one merged adapter, or null when it can. */
export function perPromptKind(kind: string): string | null {
  if (kind in FIXED_ADAPTER_METHODS) return null;
  return `${kind} ${PER_PROMPT_METHODS[kind] ?? 'is not known to answer with one fixed adapter'}`;
}

/** Why the bank a routing picked cannot be merged into one adapter (a router or a head), or null when it can. */
export function perPromptBank(kind: string, bank: Bank): string | null {
  if (bank.spec.router) return `${kind} mixes its LoRA blocks per prompt with a learnt router`;
  if (bank.spec.head) return `${kind} answers through a classification head`;
  return null;
}

/** The block weights an answer uses: the routing's mixture, or the only block of a one-block bank. */
export function fixedMixture(bank: Bank, mix: Float32Array | undefined): Float32Array {
  if (mix) {
    if (mix.length !== bank.blocks) throw new Error(`a mixture of ${mix.length} weights for a bank of ${bank.blocks} blocks`);
    return mix;
  }
  if (bank.blocks !== 1) throw new Error(`a bank of ${bank.blocks} blocks answers only with a mixture`);
  return Float32Array.of(1);
}

/**
 * One adapter computing scale · Σ_j mix_j · B_j A_j on every adapted projection (the engine's multi-block LoRA with a
 * fixed mixture): A' stacks the selected blocks' A rows, B' their mix-weighted B columns, and alpha' = scale · r' so
 * that the merged weight W + (alpha'/r') B' A' is the same sum. A single block of weight 1 keeps its own config.
 */
export function mixtureAdapter(lora: LoraConfig, blocks: readonly Map<string, HostTensor>[], mixture: Float32Array, cfg: ModelConfig, base: BaseModelRef | null = null): PeftFiles {
  if (mixture.length !== blocks.length) throw new Error(`a mixture of ${mixture.length} weights for ${blocks.length} blocks`);
  const selected = [...mixture.keys()].filter((j) => mixture[j] !== 0);
  if (selected.length === 0) throw new Error('the mixture gives every block a weight of 0');
  if (selected.length === 1 && mixture[selected[0]] === 1) return writePeftAdapter(lora, cfg, blocks[selected[0]], base);

  const r = lora.rank;
  const rank = r * selected.length;
  const combined: LoraConfig = { ...lora, rank, alpha: loraScale(lora) * rank, useRslora: false };
  const tensors = new Map<string, HostTensor>();
  for (const [key, shape] of loraTensorShapes(combined, cfg)) {
    const parts = selected.map((j) => {
      const t = blocks[j].get(key);
      if (!t) throw new Error(`block ${j} has no tensor ${key}`);
      return t;
    });
    const data = new Float32Array(shape[0] * shape[1]);
    if (key.includes('.lora_A.')) {
      // A' [r', in]: block q's rows at q·r.
      parts.forEach((t, q) => data.set(t.data, q * t.data.length));
    } else {
      // B' [out, r']: row o holds block q's row o, times its weight, at columns q·r .. q·r + r.
      const out = shape[0];
      parts.forEach((t, q) => {
        const w = mixture[selected[q]];
        for (let o = 0; o < out; o++) for (let i = 0; i < r; i++) data[o * rank + q * r + i] = w * t.data[o * r + i];
      });
    }
    tensors.set(key, { shape, data });
  }
  return writePeftAdapter(combined, cfg, tensors, base);
}

/** mixtureAdapter over a bank's blocks (read back from the GPU). */
export async function bankMixtureAdapter(bank: Bank, mixture: Float32Array, cfg: ModelConfig, base: BaseModelRef | null = null): Promise<PeftFiles> {
  const all = await bank.params.download();
  const blocks: Map<string, HostTensor>[] = [];
  for (let j = 0; j < bank.blocks; j++) blocks.push(mixture[j] !== 0 ? await bank.blockTensors(j, all) : new Map());
  return mixtureAdapter(bank.spec.lora, blocks, mixture, cfg, base);
}

// Sizing before training: what one LoRA training step needs (weights, LoRA with its optimizer state, activations, the
// largest single binding) against the device's limits and memory budget, and what to change when it does not fit.
// `clora info` prints it and the app's model panel shows it; the counts are estimateTrainingMemory's, which follow the
// buffers src/engine/graph.ts allocates.
import type { ModelConfig } from './config.ts';
import {
  estimateTrainingMemory, resolveBudget, DEFAULT_MEMORY_POLICY, type DeviceMemory, type MemoryEstimate, type TrainingShape,
} from './memory-estimate.ts';
import { formatBytes } from '../report/format.ts';

const F32 = 4;

export interface StepSizing {
  estimate: MemoryEstimate;
  budgetBytes: number;
  /** Where the budget comes from: the run's setting or the device (src/model/memory-estimate.ts deviceMemoryBudget). */
  budgetFrom: 'setting' | 'device';
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  /** The largest buffer one dispatch binds, and what it holds. */
  largestBinding: { what: string; bytes: number };
  fits: { memory: boolean; binding: boolean };
  /** What to change, most effective first; empty when the step fits. */
  advice: string[];
}

/** The buffers that can be the largest binding of a step, with what each holds. */
function bindings(cfg: ModelConfig, shape: TrainingShape, est: MemoryEstimate): { what: string; bytes: number }[] {
  const tokens = shape.batchSize * shape.seqLen;
  const rows = est.savings.lossChunkRows > 0 ? est.savings.lossChunkRows : tokens;
  return [
    { what: `the embedding table (${cfg.vocabSize} x ${cfg.hiddenSize}, f32)`, bytes: cfg.vocabSize * cfg.hiddenSize * F32 },
    { what: `the logits (${rows} rows x ${cfg.vocabSize})`, bytes: rows * cfg.vocabSize * F32 },
    { what: `an MLP weight (${cfg.intermediateSize} x ${cfg.hiddenSize})`, bytes: cfg.intermediateSize * cfg.hiddenSize * F32 },
    { what: `the MLP activations (${tokens} tokens x ${cfg.intermediateSize})`, bytes: tokens * cfg.intermediateSize * F32 },
  ];
}

/** The most of `dim` (batch or sequence, halving down to 1) at which the step fits the budget, or null. */
function largestFitting(cfg: ModelConfig, shape: TrainingShape, budget: number, key: 'batchSize' | 'seqLen'): number | null {
  for (let v = shape[key] - 1; v >= 1; v = v > 8 ? Math.floor(v * 0.75) : v - 1) {
    const s = { ...shape, [key]: v };
    if (estimateTrainingMemory(cfg, s).totalBytes <= budget) return v;
  }
  return null;
}

export function sizeTrainingStep(cfg: ModelConfig, shape: TrainingShape & { device: DeviceMemory }): StepSizing {
  const policy = { ...DEFAULT_MEMORY_POLICY, ...shape.memory };
  const estimate = estimateTrainingMemory(cfg, shape);
  const budgetBytes = resolveBudget(policy.budgetBytes, shape.device);
  const limits = { maxBufferSize: shape.device.maxBufferSize, maxStorageBufferBindingSize: shape.device.maxStorageBufferBindingSize };
  const all = bindings(cfg, shape, estimate);
  const largestBinding = all.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const bindLimit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const fits = { memory: estimate.totalBytes <= budgetBytes, binding: largestBinding.bytes <= bindLimit };
  const advice: string[] = [];
  const B = formatBytes;

  if (!fits.binding) {
    for (const b of all.filter((x) => x.bytes > bindLimit)) {
      if (b.what.startsWith('the embedding') || b.what.startsWith('an MLP weight')) {
        advice.push(`${b.what} takes ${B(b.bytes)}, more than this device binds at once (${B(bindLimit)}); no batch or length helps: ` +
          'use a device or browser that grants a larger maxStorageBufferBindingSize, or a smaller model');
      } else if (b.what.startsWith('the logits')) {
        const rows = Math.floor(bindLimit / (cfg.vocabSize * F32) / 64) * 64;
        advice.push(`${b.what} take ${B(b.bytes)}, more than one binding (${B(bindLimit)}): chunk the loss (lossChunkRows ${Math.max(64, rows)} or "auto")`);
      } else {
        advice.push(`${b.what} take ${B(b.bytes)}, more than one binding (${B(bindLimit)}): lower the batch size or the sequence length`);
      }
    }
  }
  if (!fits.memory) {
    const over = `the step needs about ${B(estimate.totalBytes)}, over the budget of ${B(budgetBytes)}`;
    const tries: string[] = [];
    if (!estimate.savings.recompute && policy.recompute !== true) {
      const r = estimateTrainingMemory(cfg, { ...shape, memory: { ...shape.memory, recompute: true } });
      tries.push(`turn on layer recomputation (about ${B(r.totalBytes)}, one more forward pass of time)`);
    }
    if (estimate.savings.lossChunkRows === 0 && shape.batchSize * shape.seqLen > 64) {
      const c = estimateTrainingMemory(cfg, { ...shape, memory: { ...shape.memory, lossChunkRows: 64 } });
      if (c.totalBytes < estimate.totalBytes) tries.push(`chunk the loss (about ${B(c.totalBytes)} in chunks of 64 rows)`);
    }
    const batch = largestFitting(cfg, shape, budgetBytes, 'batchSize');
    if (batch !== null) tries.push(`a batch of ${batch}`);
    const seq = largestFitting(cfg, shape, budgetBytes, 'seqLen');
    if (seq !== null) tries.push(`sequences of at most ${seq} tokens`);
    if (shape.targets.length > 2) {
      const qv = estimateTrainingMemory(cfg, { ...shape, targets: ['q_proj', 'v_proj'] });
      tries.push(`LoRA on q_proj and v_proj only (about ${B(qv.totalBytes)})`);
    }
    tries.push('or a larger memory budget if the device has the memory (--memory-budget, memoryBudgetMiB)');
    advice.push(`${over}: ${tries.join('; ')}`);
  }
  const budgetFrom = policy.budgetBytes !== 'auto' ? 'setting' : 'device';
  return { estimate, budgetBytes, budgetFrom, limits, largestBinding, fits, advice };
}

/** Human-readable lines of a sizing, for the CLI's stderr and the app. */
export function formatSizing(s: StepSizing, shape: Pick<TrainingShape, 'batchSize' | 'seqLen' | 'rank' | 'targets'>): string[] {
  const e = s.estimate;
  const B = formatBytes;
  return [
    `training step at batch ${shape.batchSize} x ${shape.seqLen} tokens, LoRA r ${shape.rank} on ${shape.targets.join(', ')}:`,
    `  about ${B(e.totalBytes)}: weights ${B(e.weightsBytes)}, LoRA with gradients and AdamW state ${B(e.loraBytes)}, activations ${B(e.activationBytes)}` +
      `${e.savings.recompute ? ' (layers recomputed in the backward pass)' : ''}${e.savings.lossChunkRows > 0 ? ` (loss in chunks of ${e.savings.lossChunkRows} rows)` : ''}`,
    `  budget ${B(s.budgetBytes)} (${s.budgetFrom === 'setting' ? 'the run\'s setting' : 'from the device'}): ${s.fits.memory ? 'fits' : 'does not fit'}`,
    `  largest binding ${B(s.largestBinding.bytes)}, ${s.largestBinding.what}; the device binds at most ${B(s.limits.maxStorageBufferBindingSize)}` +
      ` (maxBufferSize ${B(s.limits.maxBufferSize)}): ${s.fits.binding ? 'fits' : 'does not fit'}`,
    ...s.advice.map((a) => `  to fit: ${a}`),
  ];
}

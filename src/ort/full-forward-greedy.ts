// Greedy decoding with a model that has no KV cache (an exported ONNX decoder): one full forward pass over
// prompt + tokens so far per generated token, with the engine's greedy rules (src/engine/greedy.ts).
import { argmaxRow, GreedyOutputs } from '../engine/greedy.ts';

/**
 * Logits [batch * seq * vocab] of a right-padded batch of token ids ([batch * seq]); `promptMask` ([batch * seq]) is 1
 * on each row's prompt tokens, 0 on generated tokens and padding (what SAPT's router pools).
 */
export type BatchLogits = (ids: Int32Array, batch: number, seq: number, promptMask: Int32Array) => Promise<{ data: Float32Array; vocab: number }>;

export interface FullForwardGreedyOptions {
  maxNewTokens: number;
  /** Ids that end a sequence; they are not emitted. */
  stopIds: readonly number[];
  /** Id filling the right end of shorter sequences (causal attention never lets it reach earlier positions). */
  padId?: number;
}

/**
 * Each prompt's greedy continuation (without the prompt). Every step runs the sequences still going as one batch,
 * right-padded to the longest, and reads each one's logits at its own last position.
 */
export async function greedyByFullForward(forward: BatchLogits, prompts: readonly (readonly number[])[], opts: FullForwardGreedyOptions): Promise<number[][]> {
  if (prompts.some((p) => p.length === 0)) throw new Error('cannot generate from an empty prompt');
  const greedy = new GreedyOutputs(prompts.length, opts.maxNewTokens, new Set(opts.stopIds));
  const next = prompts.map(() => 0);
  while (!greedy.done) {
    const active = prompts.map((_, b) => b).filter((b) => !greedy.stopped(b));
    const sequences = active.map((b) => [...prompts[b], ...greedy.tokens[b]]);
    const seq = Math.max(...sequences.map((s) => s.length));
    const ids = new Int32Array(active.length * seq).fill(opts.padId ?? 0);
    const promptMask = new Int32Array(active.length * seq);
    sequences.forEach((s, row) => {
      ids.set(s, row * seq);
      promptMask.fill(1, row * seq, row * seq + prompts[active[row]].length);
    });
    const { data, vocab } = await forward(ids, active.length, seq, promptMask);
    sequences.forEach((s, row) => {
      next[active[row]] = argmaxRow(data, (row * seq + s.length - 1) * vocab, vocab);
    });
    greedy.accept(next);
  }
  return greedy.tokens;
}

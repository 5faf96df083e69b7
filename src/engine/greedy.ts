// Greedy decoding's rules, shared by the engine's KV-cache decoder and full-forward decoders (onnxruntime):
// the next token is the argmax of the last position's logits (the lowest id on ties), a stop id ends a
// sequence without being emitted, and no sequence gets more than maxNewTokens tokens.

/** The index of the largest of `width` logits starting at `offset` (the first one on ties). */
export function argmaxRow(logits: Float32Array, offset: number, width: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < width; i++) {
    if (logits[offset + i] > bestValue) {
      bestValue = logits[offset + i];
      best = i;
    }
  }
  return best;
}

/** The tokens emitted so far for a batch of sequences, and whether decoding is over. */
export class GreedyOutputs {
  /** Per sequence, the emitted tokens (stop ids excluded). */
  readonly tokens: number[][];
  private readonly finished: boolean[];
  private steps = 0;

  constructor(count: number, private readonly maxNewTokens: number, private readonly stopIds: ReadonlySet<number>) {
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new Error(`maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
    this.tokens = Array.from({ length: count }, () => []);
    this.finished = Array.from({ length: count }, () => maxNewTokens === 0);
  }

  /** True once every sequence has stopped or reached maxNewTokens: no more forward passes are needed. */
  get done(): boolean {
    return this.steps >= this.maxNewTokens || this.finished.every(Boolean);
  }

  /** Whether sequence `b` has met a stop id (or decoding is over). */
  stopped(b: number): boolean {
    return this.finished[b] || this.done;
  }

  /** Takes each sequence's next token (ignored for stopped sequences); returns `done`. */
  accept(next: readonly number[]): boolean {
    if (this.done) throw new Error('greedy decoding is already over');
    if (next.length !== this.tokens.length) throw new Error(`expected ${this.tokens.length} next tokens, got ${next.length}`);
    next.forEach((token, b) => {
      if (this.finished[b]) return;
      if (this.stopIds.has(token)) this.finished[b] = true;
      else this.tokens[b].push(token);
    });
    this.steps++;
    return this.done;
  }
}

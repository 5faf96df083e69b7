// Turns token ids and Hugging Face causal-LM labels into the engine's GPU inputs: validated ids and
// next-token targets (labels shifted left by one, ignored positions as -1), with the count of
// targets that contribute to the mean loss.

export interface TokenBatch {
  /** [batchSize * seqLen] token ids, row-major. */
  ids: Int32Array;
  /** [batchSize * seqLen] labels in the HF convention: -100 ignored, logits at t predict labels[t+1]. */
  labels: Int32Array;
  batchSize: number;
  seqLen: number;
}

export interface GpuBatch {
  ids: Uint32Array;
  targets: Int32Array;
  counted: number;
}

/** `targetLimit` bounds the labels (default: the vocabulary; a classification head's class count). */
export function prepareBatch(batch: TokenBatch, vocabSize: number, targetLimit = vocabSize): GpuBatch {
  const { batchSize: B, seqLen: T } = batch;
  if (!Number.isSafeInteger(B) || !Number.isSafeInteger(T) || B <= 0 || T <= 0) {
    throw new Error(`batch shape ${B}x${T} must be positive integers`);
  }
  if (batch.ids.length !== B * T) throw new Error(`batch has ${batch.ids.length} ids, expected ${B}x${T} = ${B * T}`);
  if (batch.labels.length !== B * T) throw new Error(`batch has ${batch.labels.length} labels, expected ${B * T}`);
  const ids = new Uint32Array(B * T);
  for (let i = 0; i < ids.length; i++) {
    const id = batch.ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(`token id ${id} at position ${i} is outside the vocabulary [0, ${vocabSize})`);
    }
    ids[i] = id;
  }
  const targets = new Int32Array(B * T).fill(-1);
  let counted = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const label = batch.labels[b * T + t + 1];
      if (label === -100) continue;
      if (!Number.isInteger(label) || label < 0 || label >= targetLimit) {
        throw new Error(`label ${label} at position ${b * T + t + 1} is neither -100 nor ${targetLimit === vocabSize ? 'a token id' : 'a class'} below ${targetLimit}`);
      }
      targets[b * T + t] = label;
      counted++;
    }
  }
  return { ids, targets, counted };
}

/** Packs equal-length sequences (ids and labels as nested arrays) into a TokenBatch. */
export function packSequences(ids: number[][], labels?: number[][]): TokenBatch {
  if (ids.length === 0) throw new Error('no sequences given');
  const T = ids[0].length;
  if (T === 0) throw new Error('sequences must not be empty');
  for (const [i, s] of ids.entries()) if (s.length !== T) throw new Error(`sequence ${i} has length ${s.length}, expected ${T} like the first`);
  if (labels) {
    if (labels.length !== ids.length) throw new Error(`${labels.length} label rows for ${ids.length} sequences`);
    for (const [i, s] of labels.entries()) if (s.length !== T) throw new Error(`label row ${i} has length ${s.length}, expected ${T}`);
  }
  return {
    ids: Int32Array.from(ids.flat()),
    labels: Int32Array.from((labels ?? ids).flat()),
    batchSize: ids.length,
    seqLen: T,
  };
}

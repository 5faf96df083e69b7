// Tokenises prompt + answer into ids and HF causal-LM labels (prompt masked), with left truncation, and pads examples into batches.
import type { TokenBatch } from '../engine/batch.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';
import type { Prompt } from './prompt.ts';

/** Label value of positions that do not count in the loss (the Hugging Face convention). */
export const IGNORE_INDEX = -100;

export interface EncodedExample {
  ids: number[];
  /** Same length as ids: IGNORE_INDEX on prompt tokens, the token id itself on answer tokens (unshifted). */
  labels: number[];
  /** Prompt tokens at the start of `ids`. */
  promptLength: number;
  /** Tokens dropped to fit maxLen (prompt tokens from the left plus answer tokens from the end); 0 when it fit. */
  truncated: number;
}

/** A padded batch; `ids`, `labels`, `batchSize` and `seqLen` are what the engine trains on. */
export interface ExampleBatch extends TokenBatch {
  /** [batchSize * seqLen]: 1 on prompt tokens, 0 on answer tokens and padding. */
  promptMask: Uint8Array;
  /** [batchSize] prompt tokens per row. */
  promptLengths: Int32Array;
  /** [batchSize] real (unpadded) tokens per row. */
  lengths: Int32Array;
}

/**
 * Ids and labels for one example. `prompt` comes from buildPrompt; a plain string is encoded with the tokenizer's
 * default post-processor and the answer appended as given. A chat prompt is encoded with `addSpecialTokens: false`
 * (the template wrote its special tokens). The answer (after the prompt's answerPrefix, before its answerSuffix, the
 * template's end of turn) is encoded without special tokens; without an answerSuffix tokenizer.eosId closes it. `answer: null` encodes the prompt alone
 * (for generation).
 *
 * When prompt plus answer exceed maxLen, the prompt loses tokens from the left (keeping at least its last token);
 * if the answer alone leaves no room for one prompt token, the answer is cut at its end (its EOS goes first).
 */
export function encodeExample(tokenizer: TextTokenizer, prompt: Prompt | string, answer: string | null, maxLen: number): EncodedExample {
  if (!Number.isSafeInteger(maxLen) || maxLen < 2) throw new Error(`maxLen must be an integer of at least 2, got ${maxLen}`);
  const p: Prompt = typeof prompt === 'string' ? { text: prompt, chat: false, answerPrefix: '', answerSuffix: null } : prompt;
  let promptIds = tokenizer.encode(p.text, { addSpecialTokens: !p.chat });
  if (promptIds.length === 0) throw new Error('the prompt encodes to no tokens');
  let answerIds: number[] = [];
  if (answer !== null) {
    answerIds = tokenizer.encode(p.answerPrefix + answer + (p.answerSuffix ?? ''), { addSpecialTokens: false });
    if (p.answerSuffix === null && tokenizer.eosId !== null) answerIds.push(tokenizer.eosId);
  }
  const full = promptIds.length + answerIds.length;
  if (full > maxLen) {
    if (answerIds.length > maxLen - 1) {
      answerIds = answerIds.slice(0, maxLen - 1);
      promptIds = promptIds.slice(promptIds.length - 1);
    } else {
      promptIds = promptIds.slice(promptIds.length - (maxLen - answerIds.length));
    }
  }
  const ids = promptIds.concat(answerIds);
  const labels = new Array<number>(promptIds.length).fill(IGNORE_INDEX).concat(answerIds);
  return { ids, labels, promptLength: promptIds.length, truncated: full - ids.length };
}

/**
 * Right-pads encoded examples into one batch: ids with `padId`, labels with IGNORE_INDEX. seqLen is the longest
 * example unless given, and then no example may be longer.
 */
export function makeBatch(encoded: readonly EncodedExample[], opts: { padId: number; seqLen?: number }): ExampleBatch {
  const B = encoded.length;
  if (B === 0) throw new Error('makeBatch needs at least one example');
  const { padId } = opts;
  if (!Number.isSafeInteger(padId) || padId < 0) throw new Error(`padId must be a token id, got ${padId}`);
  const longest = Math.max(...encoded.map((e) => e.ids.length));
  const T = opts.seqLen ?? longest;
  if (!Number.isSafeInteger(T) || T < 1) throw new Error(`seqLen must be a positive integer, got ${T}`);
  const ids = new Int32Array(B * T).fill(padId);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  const promptMask = new Uint8Array(B * T);
  const promptLengths = new Int32Array(B);
  const lengths = new Int32Array(B);
  encoded.forEach((e, b) => {
    const n = e.ids.length;
    if (n === 0) throw new Error(`example ${b} has no tokens`);
    if (n > T) throw new Error(`example ${b} has ${n} tokens, more than seqLen ${T}`);
    if (e.labels.length !== n) throw new Error(`example ${b} has ${e.labels.length} labels for ${n} ids`);
    if (!(e.promptLength >= 0 && e.promptLength <= n)) throw new Error(`example ${b} has prompt length ${e.promptLength} outside 0..${n}`);
    ids.set(e.ids, b * T);
    labels.set(e.labels, b * T);
    promptMask.fill(1, b * T, b * T + e.promptLength);
    promptLengths[b] = e.promptLength;
    lengths[b] = n;
  });
  return { ids, labels, batchSize: B, seqLen: T, promptMask, promptLengths, lengths };
}

/** The id used for padding: the tokenizer's pad token, else its EOS, else 0. Padded positions are never trained on. */
export function padIdFor(tokenizer: Pick<TextTokenizer, 'padId' | 'eosId'>): number {
  return tokenizer.padId ?? tokenizer.eosId ?? 0;
}

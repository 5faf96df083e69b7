// Encodes a task example (instruction + input + answer) within the run's max length, keeping what a task cannot
// do without: an example too long loses the end of its input, never its instruction, its prompt template or its
// answer. Only when the instruction and the answer alone do not fit does encodeExample's rule apply (the prompt
// loses tokens from the left).
import { encodeExample, type EncodedExample } from './encode.ts';
import { promptFor, type ChatSettings } from './prompt.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';

/** An encoded example and how it was made to fit. */
export interface FittedExample extends EncodedExample {
  /**
   * 'none': it fit; 'input': the input lost its end (instruction and answer whole); 'prompt': even an empty input did
   * not fit, so the prompt lost tokens from the left (the instruction's start first) as encodeExample does.
   */
  cut: 'none' | 'input' | 'prompt';
  /** Tokens prompt plus answer take uncut. */
  fullLength: number;
}

/**
 * The example encoded as encodeExample would, except that when prompt plus answer exceed `maxLen` the input is cut
 * at its end: the longest prefix of the input's tokens (without special tokens) whose prompt, rendered again
 * around it, fits with the whole answer. `truncated` counts the tokens lost against the uncut example. `answer: null`
 * encodes the prompt alone (a test prompt), fitted the same way. `chat`: the chat template's settings, as promptFor takes them.
 */
export function encodeTaskExample(tokenizer: TextTokenizer, instruction: string, input: string, answer: string | null, maxLen: number,
  chat: Partial<ChatSettings> = {}): FittedExample {
  const whole = encodeExample(tokenizer, promptFor(tokenizer, instruction, input, chat), answer, maxLen);
  const fullLength = whole.ids.length + whole.truncated;
  if (whole.truncated === 0) return { ...whole, cut: 'none', fullLength };
  const inputIds = tokenizer.encode(input, { addSpecialTokens: false });
  const withInput = (keep: number) => {
    const text = tokenizer.decode(inputIds.slice(0, keep), { skipSpecialTokens: false });
    return encodeExample(tokenizer, promptFor(tokenizer, instruction, text, chat), answer, maxLen);
  };
  // The longest input prefix that fits: a prompt grows with the tokens its input keeps, so a binary search finds it.
  let lo = 0;
  let hi = inputIds.length - 1;
  let best: EncodedExample | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = withInput(mid);
    if (e.truncated === 0) {
      best = e;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (best === null) return { ...whole, cut: 'prompt', fullLength };
  return { ...best, truncated: fullLength - best.ids.length, cut: 'input', fullLength };
}

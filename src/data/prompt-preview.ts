// What the model reads for a task's examples: the rendered prompt and the answer as token pieces, special tokens
// kept apart so the app's preview can show them (BOS, role markers, the end of turn) exactly where they fall.
import type { TextTokenizer } from '../model/tokenizer.ts';
import { encodeExample } from './encode.ts';
import { promptFor, type ChatSettings } from './prompt.ts';

/** A run of ordinary text, or one special token shown by its name. */
export interface PromptPiece {
  text: string;
  special: boolean;
}

export interface PromptPreview {
  prompt: PromptPiece[];
  answer: PromptPiece[];
}

/** Decodes ids into pieces: consecutive ordinary tokens decoded together, each special token on its own. */
export function tokenPieces(tokenizer: TextTokenizer, ids: readonly number[]): PromptPiece[] {
  const out: PromptPiece[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length > 0) out.push({ text: tokenizer.decode(run), special: false });
    run = [];
  };
  for (const id of ids) {
    if (tokenizer.isSpecial(id)) {
      flush();
      out.push({ text: tokenizer.idToToken(id) ?? `<${id}>`, special: true });
    } else {
      run.push(id);
    }
  }
  flush();
  return out;
}

/** The prompt and answer of each example exactly as training encodes them (without truncation). */
export function previewPrompts(tokenizer: TextTokenizer, instruction: string, examples: { input: string; output: string }[], chat: Partial<ChatSettings> = {}): PromptPreview[] {
  return examples.map((ex) => {
    const e = encodeExample(tokenizer, promptFor(tokenizer, instruction, ex.input, chat), ex.output, Number.MAX_SAFE_INTEGER);
    return { prompt: tokenPieces(tokenizer, e.ids.slice(0, e.promptLength)), answer: tokenPieces(tokenizer, e.ids.slice(e.promptLength)) };
  });
}

// Turns a task instruction and an input into the prompt text: the model's chat template when it has one (rendered as
// transformers renders it), else a plain template; and says how the answer is laid out after it and closed.
import { renderChat, turnFormat, type ChatRenderOptions } from '../model/chat-template.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';

/**
 * A prompt ready for tokenising.
 * - `chat`: rendered from a chat template, which writes its own special tokens (BOS, role markers), so it is
 *   encoded with `addSpecialTokens: false`; otherwise the tokenizer's default post-processor applies.
 * - `answerPrefix`: put before the answer text when training targets are built (a single space for the plain
 *   template; after a chat template's generation prompt, whatever the template puts before a reply).
 * - `answerSuffix`: the text that closes an answer, the template's own end of turn (`<|eot_id|>`, `<|im_end|>`);
 *   null: the tokenizer's EOS token closes it.
 */
export interface Prompt {
  text: string;
  chat: boolean;
  answerPrefix: string;
  answerSuffix: string | null;
}

/** The strings chat templates know as `bos_token` and `eos_token`, the thinking switch and the fixed date. */
export type PromptOptions = ChatRenderOptions;

/** Per-run settings of chat prompts: Qwen3's thinking block (default off) and the date templates see. */
export interface ChatSettings {
  enableThinking: boolean;
  /** YYYY-MM-DD */
  date: string;
}

/**
 * The plain template used when the model has no chat template, exactly:
 * `${instruction}\n\nInput: ${input}\nOutput:`; the answer follows after one space (`Output: positive`).
 */
export function plainPrompt(instruction: string, input: string): string {
  return `${instruction}\n\nInput: ${input}\nOutput:`;
}

/** The single user message given to a chat template: the instruction, a blank line, then the input. */
export function userMessage(instruction: string, input: string): string {
  return `${instruction}\n\n${input}`;
}

/**
 * The prompt for one example. With a chat template it is rendered from
 * `messages: [{role: 'user', content: instruction + '\n\n' + input}]` with `add_generation_prompt: true`, so the
 * text ends where the assistant's reply begins, and the answer's prefix and closing come from the template's own
 * rendering of a reply (turnFormat). Without one it is `plainPrompt(instruction, input)`, the answer after a space
 * and closed by EOS.
 */
export function buildPrompt(template: string | null, instruction: string, input: string, opts: PromptOptions = {}): Prompt {
  if (template === null) return { text: plainPrompt(instruction, input), chat: false, answerPrefix: ' ', answerSuffix: null };
  const text = renderChat(template, [{ role: 'user', content: userMessage(instruction, input) }], true, opts);
  const turn = turnFormat(template, opts);
  return { text, chat: true, answerPrefix: turn?.answerPrefix ?? '', answerSuffix: turn?.endOfTurn ?? null };
}

/** The bos/eos strings a template sees for this tokenizer. */
export function templateTokens(tokenizer: TextTokenizer): Pick<PromptOptions, 'bosToken' | 'eosToken'> {
  const tokenText = (id: number | null) => (id === null ? null : tokenizer.idToToken(id));
  return { bosToken: tokenText(tokenizer.bosId), eosToken: tokenText(tokenizer.eosId) };
}

/** buildPrompt with the tokenizer's chat template, its BOS/EOS token strings and the run's chat settings. */
export function promptFor(tokenizer: TextTokenizer, instruction: string, input: string, chat: Partial<ChatSettings> = {}): Prompt {
  return buildPrompt(tokenizer.chatTemplate, instruction, input, { ...templateTokens(tokenizer), ...chat });
}

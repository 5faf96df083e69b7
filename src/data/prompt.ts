// Turns a task instruction and an input into the prompt text: the model's chat template when it has one, else a plain template.
import { Template } from '@huggingface/jinja';
import type { TextTokenizer } from '../model/tokenizer.ts';

/**
 * A prompt ready for tokenising.
 * - `chat`: rendered from a chat template, which writes its own special tokens (BOS, role markers), so it is
 *   encoded with `addSpecialTokens: false`; otherwise the tokenizer's default post-processor applies.
 * - `answerPrefix`: put before the answer text when training targets are built (a single space for the plain
 *   template, nothing after a chat template's assistant header).
 */
export interface Prompt {
  text: string;
  chat: boolean;
  answerPrefix: string;
}

export interface PromptOptions {
  /** The strings chat templates know as `bos_token` and `eos_token`. */
  bosToken?: string | null;
  eosToken?: string | null;
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

// Parsing a template costs far more than rendering it, and a run renders the same one for every example.
const compiled = new Map<string, Template>();
const MAX_COMPILED = 8;

function compile(template: string): Template {
  let t = compiled.get(template);
  if (t === undefined) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new Error(`chat template does not parse: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(template, t);
  }
  return t;
}

/**
 * The prompt for one example. With a chat template (tokenizer_config.json's `chat_template`) it is rendered with
 * @huggingface/jinja from `messages: [{role: 'user', content: instruction + '\n\n' + input}]`,
 * `add_generation_prompt: true` and the bos/eos token strings when given, so the text ends where the assistant's
 * reply begins. Without one it is `plainPrompt(instruction, input)`.
 */
export function buildPrompt(template: string | null, instruction: string, input: string, opts: PromptOptions = {}): Prompt {
  if (template === null) return { text: plainPrompt(instruction, input), chat: false, answerPrefix: ' ' };
  const context: Record<string, unknown> = {
    messages: [{ role: 'user', content: userMessage(instruction, input) }],
    add_generation_prompt: true,
  };
  if (opts.bosToken != null) context.bos_token = opts.bosToken;
  if (opts.eosToken != null) context.eos_token = opts.eosToken;
  let text: string;
  try {
    text = compile(template).render(context);
  } catch (e) {
    throw new Error(`chat template failed to render: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return { text, chat: true, answerPrefix: '' };
}

/** buildPrompt with the tokenizer's chat template and its BOS/EOS token strings. */
export function promptFor(tokenizer: TextTokenizer, instruction: string, input: string): Prompt {
  const tokenText = (id: number | null) => (id === null ? null : tokenizer.idToToken(id));
  return buildPrompt(tokenizer.chatTemplate, instruction, input, {
    bosToken: tokenText(tokenizer.bosId),
    eosToken: tokenText(tokenizer.eosId),
  });
}

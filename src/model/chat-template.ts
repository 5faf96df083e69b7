// Renders a model's chat template as transformers' apply_chat_template does (bos/eos token strings, add_generation_prompt,
// enable_thinking, strftime_now), with the date fixed so prompts do not change from day to day, and reads the template's
// own turn format (what comes between the generation prompt and the reply, and what closes the reply) off a rendering.
import { Environment, Interpreter, Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRenderOptions {
  bosToken?: string | null;
  eosToken?: string | null;
  /** Qwen3's switch for its thinking block; templates without it ignore it. clora's default: false. */
  enableThinking?: boolean;
  /** The day strftime_now reports, YYYY-MM-DD (UTC). Default DEFAULT_PROMPT_DATE. */
  date?: string;
}

/**
 * The date templates get when none is set: 26 Jul 2024, the date Llama 3.1's own template falls back to when
 * strftime_now is not defined. Fixed, so a task's prompts are the same on every day.
 */
export const DEFAULT_PROMPT_DATE = '2024-07-26';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Checks a YYYY-MM-DD date; throws naming the value. */
export function parsePromptDate(date: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!d || d.getUTCDate() !== Number(m![3]) || d.getUTCMonth() !== Number(m![2]) - 1) throw new Error(`prompt date "${date}" is not a YYYY-MM-DD date`);
  return d;
}

/** Python's strftime in the C locale for the directives templates use (%d %-d %m %b %B %y %Y %a %A %j %H %M %S %%), at midnight UTC. */
export function strftime(date: Date, format: string): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const start = Date.UTC(date.getUTCFullYear(), 0, 1);
  return format.replace(/%(-?)([dmbByYaAjHMS%])/g, (all, dash: string, c: string) => {
    const p = dash ? (n: number) => String(n) : pad;
    switch (c) {
      case 'd': return p(date.getUTCDate());
      case 'm': return p(date.getUTCMonth() + 1);
      case 'b': return MONTHS[date.getUTCMonth()].slice(0, 3);
      case 'B': return MONTHS[date.getUTCMonth()];
      case 'y': return pad(date.getUTCFullYear() % 100);
      case 'Y': return String(date.getUTCFullYear());
      case 'a': return DAYS[date.getUTCDay()].slice(0, 3);
      case 'A': return DAYS[date.getUTCDay()];
      case 'j': return dash ? String(Math.floor((date.getTime() - start) / 864e5) + 1) : pad(Math.floor((date.getTime() - start) / 864e5) + 1, 3);
      case 'H': case 'M': case 'S': return dash ? '0' : '00';
      case '%': return '%';
      default: return all;
    }
  });
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

/** Python's range(), which templates use as a global. */
function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() step must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/**
 * The globals transformers gives a template. The library's own render() declares a strftime_now that reads the
 * clock (in the local time zone and locale) and cannot be replaced, so the environment is built here instead.
 */
function chatEnvironment(date: Date): Environment {
  const env = new Environment();
  for (const [name, value] of [['false', false], ['true', true], ['none', null], ['False', false], ['True', true], ['None', null]] as const) env.set(name, value);
  env.set('raise_exception', (message: unknown) => {
    throw new Error(String(message));
  });
  env.set('range', range);
  env.set('strftime_now', (format: unknown) => strftime(date, String(format)));
  return env;
}

/** apply_chat_template(messages, tokenize=False, add_generation_prompt=...) with clora's fixed date and thinking switch. */
export function renderChat(template: string, messages: ChatMessage[], addGenerationPrompt: boolean, opts: ChatRenderOptions = {}): string {
  const date = parsePromptDate(opts.date ?? DEFAULT_PROMPT_DATE);
  const context: Record<string, unknown> = {
    messages,
    add_generation_prompt: addGenerationPrompt,
    enable_thinking: opts.enableThinking ?? false,
  };
  if (opts.bosToken != null) context.bos_token = opts.bosToken;
  if (opts.eosToken != null) context.eos_token = opts.eosToken;
  try {
    const env = chatEnvironment(date);
    for (const [key, value] of Object.entries(context)) env.set(key, value);
    return String(new Interpreter(env).run(compile(template).parsed).value);
  } catch (e) {
    throw new Error(`chat template failed to render: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** How a template lays out the assistant's reply after the generation prompt. */
export interface TurnFormat {
  /** Text between the generation prompt and the reply (Qwen3 with thinking on: an empty think block). */
  answerPrefix: string;
  /** What closes the reply (`<|eot_id|>`, `<|im_end|>`, `<end_of_turn>`), trailing whitespace dropped; null when the template adds nothing. */
  endOfTurn: string | null;
}

const SENTINEL = 'xq7 clora answer 9zk';
const formats = new Map<string, TurnFormat | null>();

/**
 * Reads the turn format off two renderings: the user turn with the generation prompt, and the same conversation
 * with an assistant reply. When the first is a prefix of the second, what lies between is the answer prefix and
 * what follows the reply closes the turn. Null when the template does not render that way (the caller then ends
 * answers with the EOS token).
 */
export function turnFormat(template: string, opts: ChatRenderOptions = {}): TurnFormat | null {
  const key = JSON.stringify([template, opts.bosToken, opts.eosToken, opts.enableThinking ?? false, opts.date ?? DEFAULT_PROMPT_DATE]);
  if (formats.has(key)) return formats.get(key)!;
  let out: TurnFormat | null = null;
  try {
    const user: ChatMessage = { role: 'user', content: 'Question?' };
    const prompt = renderChat(template, [user], true, opts);
    const full = renderChat(template, [user, { role: 'assistant', content: SENTINEL }], false, opts);
    const at = full.indexOf(SENTINEL, prompt.length);
    if (full.startsWith(prompt) && at >= 0) {
      const end = full.slice(at + SENTINEL.length).replace(/\s+$/, '');
      out = { answerPrefix: full.slice(prompt.length, at), endOfTurn: end.length > 0 ? end : null };
    }
  } catch {
    out = null;
  }
  if (formats.size >= 32) formats.delete(formats.keys().next().value!);
  formats.set(key, out);
  return out;
}

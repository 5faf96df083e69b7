// Wraps @huggingface/tokenizers behind a small interface, adding the special ids and chat template from the config files.
import { Tokenizer } from '@huggingface/tokenizers';
import { FormatError } from '../io/errors.ts';
import { parseJson, type FileSource } from '../io/files.ts';
import { turnFormat } from './chat-template.ts';

export interface TextTokenizer {
  /** `addSpecialTokens` (default true, as in transformers) applies tokenizer.json's post-processor, e.g. a BOS. */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  /** Every id that ends generation: `eosId`, config.json's `eos_token_id` (which may be a list) and the chat template's end of turn. */
  readonly stopIds: readonly number[];
  readonly chatTemplate: string | null;
  /** Largest token id plus one, added tokens included. */
  readonly vocabSize: number;
  tokenToId(token: string): number | null;
  idToToken(id: number): string | null;
  isSpecial(id: number): boolean;
}

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => x !== null && typeof x === 'object' && !Array.isArray(x);

/** tokenizer_config.json writes special tokens either as plain strings or as serialised AddedToken objects. */
function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return null;
}

function pickChatTemplate(v: unknown): string | null {
  if (typeof v === 'string') return v;
  // Some configs list several named templates; transformers uses the one called "default".
  if (Array.isArray(v)) {
    const named = v.filter((t): t is { name?: unknown; template: string } => isObject(t) && typeof t.template === 'string');
    return (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

function configIds(v: unknown): number[] {
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0);
}

/**
 * Builds a tokenizer from already-parsed files. `tokenizerConfig` is tokenizer_config.json (special tokens,
 * chat template), `modelConfig` config.json (fallback bos/eos ids); either may be null.
 */
export function createTokenizer(
  tokenizerJson: unknown,
  tokenizerConfig: unknown = null,
  modelConfig: unknown = null,
  chatTemplateFile: string | null = null,
): TextTokenizer {
  if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) {
    throw new FormatError('tokenizer.json', 'missing "model" object');
  }
  if (tokenizerConfig !== null && !isObject(tokenizerConfig)) {
    throw new FormatError('tokenizer_config.json', 'not a JSON object');
  }
  const tcfg: Json = tokenizerConfig ?? {};
  const mcfg: Json = isObject(modelConfig) ? modelConfig : {};
  // The library requires these keys to exist even when null; hand-made files often leave them out.
  const tjson = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...tokenizerJson };
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tjson, tcfg);
  } catch (e) {
    throw new FormatError('tokenizer.json', 'unsupported or malformed tokenizer', {
      detail: e instanceof Error ? e.message : String(e),
      cause: e,
    });
  }

  let vocabSize = 0;
  for (const id of tok.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);
  const specialIds = new Set<number>();
  for (const [id, t] of tok.get_added_tokens_decoder()) if (t.special) specialIds.add(id);

  const tokenToId = (token: string): number | null => tok.token_to_id(token) ?? null;
  const specialId = (key: string): number | null => {
    const content = tokenContent(tcfg[key]);
    if (content === null) return null;
    const id = tokenToId(content);
    if (id === null) {
      throw new FormatError('tokenizer_config.json', `${key} ${JSON.stringify(content)} is not in tokenizer.json's vocabulary`);
    }
    return id;
  };
  const bosId = specialId('bos_token') ?? configIds(mcfg.bos_token_id)[0] ?? null;
  const eosId = specialId('eos_token') ?? configIds(mcfg.eos_token_id)[0] ?? null;
  const padId = specialId('pad_token');
  // transformers reads chat_template.jinja over tokenizer_config.json's "chat_template" when both exist.
  const chatTemplate = chatTemplateFile ?? pickChatTemplate(tcfg.chat_template);
  // Answers are trained to end with the template's end of turn, so generation stops there too.
  const tokenText = (id: number | null) => (id === null ? null : tok.id_to_token(id) ?? null);
  const turn = chatTemplate !== null ? turnFormat(chatTemplate, { bosToken: tokenText(bosId), eosToken: tokenText(eosId) }) : null;
  const turnIds = turn?.endOfTurn ? tok.encode(turn.endOfTurn, { add_special_tokens: false }).ids : [];
  const endOfTurnId = turnIds.length > 0 && specialIds.has(turnIds[0]) ? turnIds[0] : null;
  const stopIds = [...new Set([...(eosId !== null ? [eosId] : []), ...configIds(mcfg.eos_token_id), ...(endOfTurnId !== null ? [endOfTurnId] : [])])];
  // Llama and Gemma tokenizers rebuild their post-processor from add_bos_token (default true) and add_eos_token
  // (default false) in transformers, whatever tokenizer.json says; other classes keep tokenizer.json's.
  const rebuildsSpecials = typeof tcfg.tokenizer_class === 'string' && /^(Code)?(Llama|Gemma)Tokenizer(Fast)?$/.test(tcfg.tokenizer_class);
  const addBos = rebuildsSpecials && (tcfg.add_bos_token ?? true) === true && bosId !== null;
  const addEos = rebuildsSpecials && tcfg.add_eos_token === true && eosId !== null;
  // transformers stopped cleaning up spaces by default; the library still defaults to doing it.
  const cleanUp = tcfg.clean_up_tokenization_spaces === true;

  return {
    bosId,
    eosId,
    padId,
    stopIds,
    chatTemplate,
    vocabSize,
    tokenToId,
    idToToken: (id) => tok.id_to_token(id) ?? null,
    isSpecial: (id) => specialIds.has(id),
    encode(text, options = {}) {
      const withSpecials = options.addSpecialTokens ?? true;
      if (!rebuildsSpecials || !withSpecials) return tok.encode(text, { add_special_tokens: withSpecials }).ids;
      const ids = tok.encode(text, { add_special_tokens: false }).ids;
      return [...(addBos ? [bosId!] : []), ...ids, ...(addEos ? [eosId!] : [])];
    },
    decode(ids, options = {}) {
      // Embedding matrices are often padded past the tokenizer (Qwen2.5: 151936 rows, 151665 tokens);
      // such ids have no text, so they are dropped rather than decoded as garbage.
      const known: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (Number.isInteger(id) && tok.id_to_token(id) !== undefined) known.push(id);
      }
      if (known.length === 0) return '';
      return tok.decode(known, { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: cleanUp });
    },
  };
}

async function readOptionalJson(src: FileSource, name: string): Promise<unknown> {
  if (!(await src.has(name))) return null;
  return parseJson(await src.readText(name), name);
}

/** Loads tokenizer.json (plus tokenizer_config.json, config.json, chat_template.jinja when present); null without tokenizer.json. */
export async function loadTokenizer(src: FileSource): Promise<TextTokenizer | null> {
  if (!(await src.has('tokenizer.json'))) return null;
  const tokenizerJson = parseJson(await src.readText('tokenizer.json'), 'tokenizer.json');
  const tokenizerConfig = await readOptionalJson(src, 'tokenizer_config.json');
  const modelConfig = await readOptionalJson(src, 'config.json');
  // Recent transformers saves the template as its own file instead of inside tokenizer_config.json.
  const jinja = (await src.has('chat_template.jinja')) ? await src.readText('chat_template.jinja') : null;
  return createTokenizer(tokenizerJson, tokenizerConfig, modelConfig, jinja);
}

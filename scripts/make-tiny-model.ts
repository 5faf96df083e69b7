// Writes public/models/tiny-random/: a deterministic, randomly initialised two-layer Llama with a small byte-level BPE tokenizer.
// Usage: node --import tsx scripts/make-tiny-model.ts [outDir]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseModelConfig } from '../src/model/config.ts';
import { createRng } from '../src/model/rng.ts';
import { writeSafetensors } from '../src/model/safetensors.ts';
import { expectedWeightShapes } from '../src/model/weights.ts';

export const TINY_MODEL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../public/models/tiny-random');
const SEED = 20240601;

/** GPT-2's byte-to-unicode table, in its order: printable Latin-1 bytes map to themselves, the rest above U+0100. */
function byteLevelAlphabet(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return cs.map((c) => String.fromCodePoint(c));
}

/** Frequent English pairs, each built only from tokens that exist before it, as a trained merge list would be. */
const MERGES: [string, string][] = [
  ['Ġ', 't'], ['Ġ', 'a'], ['h', 'e'], ['i', 'n'], ['r', 'e'], ['o', 'n'], ['Ġt', 'he'], ['e', 'r'],
  ['Ġ', 's'], ['a', 't'], ['Ġ', 'w'], ['Ġ', 'o'], ['e', 'n'], ['Ġ', 'c'], ['i', 't'], ['i', 's'],
  ['a', 'n'], ['o', 'r'], ['e', 's'], ['Ġ', 'b'], ['e', 'd'], ['Ġ', 'f'], ['in', 'g'], ['Ġ', 'p'],
  ['o', 'u'], ['Ġa', 'n'], ['a', 'l'], ['a', 'r'], ['Ġt', 'o'], ['Ġ', 'm'], ['Ġo', 'f'], ['Ġ', 'in'],
  ['Ġ', 'd'], ['Ġ', 'h'], ['Ġan', 'd'], ['i', 'c'], ['a', 's'], ['l', 'e'], ['o', 'm'], ['l', 'l'],
  ['Ġ', 're'], ['i', 'on'], ['Ġ', 'l'], ['Ġ', 'y'], ['Ġ', 'n'], ['o', 't'], ['Ġ', 'e'], ['Ġ', 'g'],
  ['Ġs', 't'], ['Ġ', 'is'], ['Ġ', 'it'], ['e', 't'], ['c', 'h'], ['l', 'y'], ['Ġ', 'I'], ['Ġb', 'e'],
  ['Ġw', 'h'], ['Ġc', 'on'], ['en', 't'], ['Ġo', 'n'], ['Ġ', 'T'],
];

const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

const CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

function buildTokenizer() {
  const vocab: Record<string, number> = {};
  const alphabet = byteLevelAlphabet();
  alphabet.forEach((ch, i) => (vocab[ch] = i));
  let next = alphabet.length;
  for (const [a, b] of MERGES) {
    if (!(a in vocab) || !(b in vocab)) throw new Error(`merge ${a} ${b} uses a token that does not exist yet`);
    if (a + b in vocab) throw new Error(`merge ${a} ${b} duplicates ${a + b}`);
    vocab[a + b] = next++;
  }
  const special = SPECIAL_TOKENS.map((content) => ({ id: next++, content }));
  const addedToken = (t: { id: number; content: string }) => ({
    id: t.id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map(addedToken),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
  const id = (content: string) => special.find((s) => s.content === content)!.id;
  const tokenizerConfig = {
    add_bos_token: false,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(special.map((t) => {
      const { id: tokenId, ...rest } = addedToken(t);
      return [String(tokenId), rest];
    })),
    bos_token: '<|endoftext|>',
    chat_template: CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    model_max_length: 512,
    pad_token: '<|endoftext|>',
    tokenizer_class: 'PreTrainedTokenizerFast',
    unk_token: null,
  };
  return { tokenizer, tokenizerConfig, size: next, bosId: id('<|endoftext|>'), eosId: id('<|im_end|>') };
}

/** Every file of the tiny model, byte-for-byte reproducible. */
export function buildTinyModel(): Record<string, string | Uint8Array> {
  const tok = buildTokenizer();
  const config = {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
    head_dim: 16,
    hidden_act: 'silu',
    hidden_size: 64,
    initializer_range: 0.05,
    intermediate_size: 160,
    max_position_embeddings: 512,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: 4,
    num_hidden_layers: 2,
    num_key_value_heads: 2,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: tok.size,
  };
  const cfg = parseModelConfig(config);
  const rng = createRng(SEED);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of expectedWeightShapes(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('norm.weight')) {
      // Norm gains near one, but not exactly, so tests notice a norm weight that is dropped or misplaced.
      for (let i = 0; i < data.length; i++) data[i] = 1 + 0.1 * rng.normal();
    } else {
      const std = name === 'model.embed_tokens.weight' ? 0.1 : 0.05;
      for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
    }
    tensors.set(name, { shape, data });
  }
  return {
    'config.json': JSON.stringify(config, null, 2) + '\n',
    'model.safetensors': writeSafetensors(tensors, { format: 'pt' }),
    'tokenizer.json': JSON.stringify(tok.tokenizer, null, 2) + '\n',
    'tokenizer_config.json': JSON.stringify(tok.tokenizerConfig, null, 2) + '\n',
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = resolve(process.argv[2] ?? TINY_MODEL_DIR);
  mkdirSync(outDir, { recursive: true });
  const files = buildTinyModel();
  for (const [name, content] of Object.entries(files)) writeFileSync(join(outDir, name), content);
  console.log(`wrote ${Object.keys(files).join(', ')} to ${outDir}`);
}

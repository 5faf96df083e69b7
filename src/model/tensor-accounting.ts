// Accounts for every tensor a checkpoint names before any tensor data is read: each one the architecture needs must be
// there with its shape, and each one there must be used. Works on names (and shapes where known) from safetensors
// headers or a sharded checkpoint's index, so any reader can run it first.
import { FormatError } from '../io/errors.ts';
import { ARCHITECTURE_NAMES, type ModelConfig } from './config.ts';

/** One tensor a checkpoint lists: its name, the file that holds it, and its shape when the listing gives one. */
export interface ListedTensor {
  name: string;
  file: string;
  shape?: readonly number[];
}

/**
 * Buffers transformers recomputes and skips when loading (older Llama checkpoints saved RoPE's inverse frequencies);
 * they carry no weights.
 */
const RECOMPUTED = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/** Architectures a stray tensor hints at, for the error message. */
const HINTS: [RegExp, string][] = [
  [/\.self_attn\.[qk]_norm\.weight$/, 'q_norm/k_norm are Qwen3\'s or Gemma 3\'s; is "architectures" right?'],
  [/\.(pre|post)_feedforward_layernorm\.weight$/, 'pre/post_feedforward_layernorm are Gemma\'s; is "architectures" right?'],
];

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Throws a FormatError naming the file and the tensor when a listed tensor is unused (a tied model's lm_head.weight
 * excepted: transformers ties it to the embedding), a needed one is missing (named with `missingIn`, the file that
 * should hold it), or a listed shape differs from the expected one.
 */
export function accountTensors(cfg: ModelConfig, expected: Map<string, number[]>, listed: Iterable<ListedTensor>, missingIn: (name: string) => string): void {
  const arch = ARCHITECTURE_NAMES[cfg.arch];
  const seen = new Set<string>();
  const unused: ListedTensor[] = [];
  for (const t of listed) {
    seen.add(t.name);
    const want = expected.get(t.name);
    if (want) {
      if (t.shape && !sameShape(t.shape, want)) throw new FormatError(t.file, `${t.name} has shape ${fmt(t.shape)}, expected ${fmt(want)}`);
      continue;
    }
    if (RECOMPUTED.test(t.name) || (cfg.tieWordEmbeddings && t.name === 'lm_head.weight')) continue;
    unused.push(t);
  }
  if (unused.length > 0) {
    const first = unused[0];
    const hint = HINTS.find(([re]) => re.test(first.name))?.[1];
    const more = unused.length > 1 ? ` and ${unused.length - 1} more (${unused.slice(1, 4).map((t) => t.name).join(', ')}${unused.length > 4 ? ', ...' : ''})` : '';
    throw new FormatError(first.file, `tensor ${first.name}${more} is not used by ${arch} as config.json describes it${hint ? ` (${hint})` : ''}`);
  }
  for (const name of expected.keys()) {
    if (!seen.has(name)) throw new FormatError(missingIn(name), `missing tensor ${name}, which ${arch} needs`);
  }
}

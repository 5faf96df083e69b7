// Records KV-cache appends and single-query causal attention over the cache for decoding (shaders/attention_decode.wgsl).
import source from '../../../shaders/attention_decode.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';

const shader = { name: 'attention_decode', code: source };
/** The largest head dimension attn_decode supports: two columns per invocation of its 128-wide workgroup. */
const MAX_HEAD_DIM = 256;

/** cache[(b*maxSeq + pos[b]) * dim + c] = src[b*dim + c] for b < batch (pos is u32 [batch]). */
export function recordKvCacheWrite(gpu: Gpu, plan: Plan, s: { batch: number; maxSeq: number; dim: number },
  io: { src: Bindable; cache: Bindable; pos: Bindable }, label = 'kv_cache_write'): void {
  const p = gpu.uniform(`${label}.params`, [s.batch, s.maxSeq, 0, 0, 0, s.dim, 0, 0],
    ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'f32', 'u32']);
  record(gpu, plan, {
    shader, entry: 'kv_cache_write', label,
    bindings: { 0: p, 1: io.src, 2: io.cache, 3: io.pos }, workgroups: grid(Math.ceil((s.batch * s.dim) / 64)),
    cost: elementwiseCost('kv_cache_write', s.batch * s.dim, 0, 1, 1, s.batch * WORD),
  });
}

/**
 * One new query token per sequence, attending causally to the cache positions 0..pos[b] inclusive, or with a sliding
 * window the last `window` of them (GQA: head h uses kv head floor(h / (heads / kvHeads))), scale 1/sqrt(headDim) unless given:
 *   q [batch, heads*headDim], kCache/vCache [batch, maxSeq, kvHeads*headDim], out [batch, heads*headDim].
 */
export function recordAttentionDecode(gpu: Gpu, plan: Plan,
  s: { batch: number; maxSeq: number; heads: number; kvHeads: number; headDim: number; scale?: number; window?: number },
  io: { q: Bindable; kCache: Bindable; vCache: Bindable; pos: Bindable; out: Bindable }, label = 'attention_decode'): void {
  if (s.kvHeads < 1 || s.heads % s.kvHeads !== 0) throw new Error(`${label}: ${s.heads} heads are not a multiple of ${s.kvHeads} key/value heads`);
  if (s.headDim < 1 || s.headDim > MAX_HEAD_DIM) throw new Error(`${label}: head dim ${s.headDim} is outside 1..${MAX_HEAD_DIM}`);
  if (s.maxSeq < 1) throw new Error(`${label}: maxSeq must be at least 1`);
  const p = gpu.uniform(`${label}.params`,
    [s.batch, s.maxSeq, s.heads, s.kvHeads, s.headDim, s.kvHeads * s.headDim, s.scale ?? 1 / Math.sqrt(s.headDim), s.window ?? 0],
    ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'f32', 'u32']);
  record(gpu, plan, {
    shader, entry: 'attn_decode', label,
    bindings: { 0: p, 3: io.pos, 4: io.q, 5: io.kCache, 6: io.vCache, 7: io.out }, workgroups: grid(s.batch * s.heads),
    // At most maxSeq cached keys per query (the positions are only known on the GPU): q·k and p·v, 4·headDim a key.
    cost: {
      kernel: 'attention.decode', flops: 4 * s.batch * s.heads * s.maxSeq * s.headDim,
      bytes: (2 * s.batch * s.heads * s.headDim + 2 * s.batch * s.maxSeq * s.kvHeads * s.headDim + s.batch) * WORD,
    },
  });
}

// Plain-loop f64 CPU reference of KV-cache decoding: the cache append and one query's causal attention over the cache.
import type { Vec } from './ops.ts';

export interface DecodeShape {
  batch: number;
  maxSeq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Multiplies q·k (default 1/sqrt(headDim)). */
  scale?: number;
  /** Keys the query sees, itself included (0: all). */
  window?: number;
}

/** A copy of `cache` [batch, maxSeq, dim] with src[b] written at position pos[b] (skipped when pos[b] >= maxSeq). */
export function kvCacheWrite(cache: Vec, src: Vec, pos: Vec, s: { batch: number; maxSeq: number; dim: number }): Float64Array {
  const out = Float64Array.from(cache);
  for (let b = 0; b < s.batch; b++) {
    if (pos[b] >= s.maxSeq) continue;
    for (let c = 0; c < s.dim; c++) out[(b * s.maxSeq + pos[b]) * s.dim + c] = src[b * s.dim + c];
  }
  return out;
}

/**
 * out[b, h] = softmax_j(q[b,h] · kCache[b,j,g] / sqrt(D)) weighted sum of vCache[b,j,g] over j = 0..min(pos[b], maxSeq-1),
 * g = floor(h / (heads / kvHeads)). q, out [batch, heads*D]; caches [batch, maxSeq, kvHeads*D].
 */
export function attentionDecode(q: Vec, kCache: Vec, vCache: Vec, pos: Vec, s: DecodeShape): Float64Array {
  const { batch: B, maxSeq: S, heads: H, kvHeads: G, headDim: D } = s;
  const scale = s.scale ?? 1 / Math.sqrt(D);
  const out = new Float64Array(B * H * D);
  for (let b = 0; b < B; b++) {
    const last = Math.min(pos[b], S - 1);
    const first = s.window ? Math.max(0, last - s.window + 1) : 0;
    const w = new Float64Array(last + 1);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      const qo = (b * H + h) * D;
      let m = -Infinity;
      for (let j = first; j <= last; j++) {
        const ko = ((b * S + j) * G + g) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qo + d] * kCache[ko + d];
        w[j] = dot * scale;
        m = Math.max(m, w[j]);
      }
      let sum = 0;
      for (let j = first; j <= last; j++) sum += (w[j] = Math.exp(w[j] - m));
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = first; j <= last; j++) acc += w[j] * vCache[((b * S + j) * G + g) * D + d];
        out[qo + d] = acc / sum;
      }
    }
  }
  return out;
}

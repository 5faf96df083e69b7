// Uploads the RoPE cos/sin tables each layer rotates with: one pair per distinct (base, scaling) among the layers
// (Gemma 3's local and global layers use two bases), and none for layers without RoPE (SmolLM3's NoPE layers).
import type { BufferRef } from '../gpu/context.ts';
import type { RopeTables } from '../gpu/kernels/rope.ts';
import { ropeInverseFrequencies, ropeTables, type ModelConfig } from '../model/config.ts';

/** Per layer, the tables for positions 0..positions-1, or null where the layer applies no RoPE. */
export function layerRopeTables(cfg: ModelConfig, positions: number, upload: (label: string, data: Float32Array) => BufferRef): (RopeTables | null)[] {
  const byRope = new Map<string, RopeTables>();
  return cfg.features.layers.map(({ rope }) => {
    if (!rope) return null;
    const key = JSON.stringify(rope);
    let tables = byRope.get(key);
    if (!tables) {
      const t = ropeTables(ropeInverseFrequencies({ headDim: cfg.headDim, ropeTheta: rope.theta, ropeScaling: rope.scaling }), positions);
      const i = byRope.size;
      tables = { cos: upload(`rope${i}.cos`, t.cos), sin: upload(`rope${i}.sin`, t.sin) };
      byRope.set(key, tables);
    }
    return tables;
  });
}

// Records in-place rotary embedding forward and backward dispatches (shaders/rope.wgsl).
import source from '../../../shaders/rope.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';

const shader = { name: 'rope', code: source };

export interface RopeTables {
  /** [positions, headDim/2] cos and sin of position * inv_freq. */
  cos: Bindable;
  sin: Bindable;
}

/** cos/sin tables computed in f64 for positions 0..positions-1. */
export function ropeTables(invFreq: Float32Array | Float64Array, positions: number): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i];
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

export function recordRope(gpu: Gpu, plan: Plan, direction: 'forward' | 'backward',
  s: { tokens: number; heads: number; headDim: number },
  io: { x: Bindable; positions: Bindable; tables: RopeTables }, label = `rope.${direction}`): void {
  if (s.headDim % 2 !== 0) throw new Error(`${label}: head_dim ${s.headDim} must be even for rotary embeddings`);
  const params = gpu.uniform(`${label}.params`, [s.tokens, s.heads, s.headDim, 0], ['u32', 'u32', 'u32', 'u32']);
  record(gpu, plan, {
    shader, entry: `rope_${direction}`, label,
    bindings: { 0: params, 1: io.x, 2: io.positions, 3: io.tables.cos, 4: io.tables.sin },
    workgroups: grid(Math.ceil((s.tokens * s.heads * s.headDim) / 2 / 64)),
  });
}

// Records in-place rotary embedding forward and backward dispatches (shaders/rope.wgsl).
import source from '../../../shaders/rope.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';
export { ropeTables } from '../../model/config.ts';

const shader = { name: 'rope', code: source };

export interface RopeTables {
  /** [positions, headDim/2] cos and sin of position * inv_freq. */
  cos: Bindable;
  sin: Bindable;
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
    // A rotation per pair of elements (4 products, 2 sums), in place; cos and sin rows per token.
    cost: elementwiseCost('rope', (s.tokens * s.heads * s.headDim) / 2, 6, 2, 2, s.tokens * (s.headDim + 1) * WORD),
  });
}

// Records embedding gather and scatter-add dispatches (shaders/embedding.wgsl).
import source from '../../../shaders/embedding.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';

const shader = { name: 'embedding', code: source };

export function recordEmbeddingForward(gpu: Gpu, plan: Plan, s: { tokens: number; cols: number },
  io: { ids: Bindable; table: Bindable; out: Bindable }, label = 'embedding'): void {
  const p = gpu.uniform(`${label}.params`, [s.tokens, s.cols, 0, 0], ['u32', 'u32', 'u32', 'u32']);
  record(gpu, plan, { shader, entry: 'embedding_forward', label, bindings: { 0: p, 1: io.ids, 2: io.table, 3: io.out }, workgroups: grid(Math.ceil((s.tokens * s.cols) / 64)),
    cost: elementwiseCost('embedding', s.tokens * s.cols, 0, 1, 1, s.tokens * WORD) });
}

/** d_table[ids[n]] += d_out[n], deterministic; d_table is not cleared here. */
export function recordEmbeddingBackward(gpu: Gpu, plan: Plan, s: { tokens: number; cols: number },
  io: { ids: Bindable; dOut: Bindable; dTable: Bindable }, label = 'embedding.bwd'): void {
  const p = gpu.uniform(`${label}.params`, [s.tokens, s.cols, 0, 0], ['u32', 'u32', 'u32', 'u32']);
  record(gpu, plan, { shader, entry: 'embedding_backward', label, bindings: { 0: p, 1: io.ids, 4: io.dOut, 5: io.dTable }, workgroups: [Math.ceil(s.cols / 64)],
    cost: elementwiseCost('embedding.bwd', s.tokens * s.cols, 1, 2, 1, s.tokens * WORD) });
}

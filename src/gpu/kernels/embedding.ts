// Records embedding gather and scatter-add dispatches (shaders/embedding.wgsl). The gather reads its table through
// the B-format sections of the matmul (f32, or F16/BF16 packed halves), one vocabulary slice per dispatch.
import source from '../../../shaders/embedding.wgsl';
import bFormatsSource from '../../../shaders/matmul_b_formats.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { section, shaderSections } from '../shader-sections.ts';
import type { MatmulBFormat } from './matmul.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';

const B_FORMATS = shaderSections(bFormatsSource);
const shaders = Object.fromEntries((['f32', 'f16', 'bf16'] as const).map((f) =>
  [f, { name: `embedding_${f}`, code: `${section(B_FORMATS, 'matmul_b_formats.wgsl', f)}\n${source}` }])) as Record<MatmulBFormat, { name: string; code: string }>;

/**
 * out[n, :] = table[ids[n] - first, :] for the tokens whose id lies in [first, first + count) (all ids by default);
 * other rows of `out` are left as they are, so one dispatch per slice of a sliced table fills every row.
 */
export function recordEmbeddingForward(gpu: Gpu, plan: Plan, s: { tokens: number; cols: number; first?: number; count?: number; format?: MatmulBFormat },
  io: { ids: Bindable; table: Bindable; out: Bindable }, label = 'embedding'): void {
  const p = gpu.uniform(`${label}.params`, [s.tokens, s.cols, s.first ?? 0, s.count ?? 0xffffffff], ['u32', 'u32', 'u32', 'u32']);
  record(gpu, plan, {
    shader: shaders[s.format ?? 'f32'], entry: 'embedding_forward', label,
    bindings: { 0: p, 1: io.ids, 2: io.table, 3: io.out }, workgroups: grid(Math.ceil((s.tokens * s.cols) / 64)),
    cost: elementwiseCost('embedding', s.tokens * s.cols, 0, 1, 1, s.tokens * WORD),
  });
}

/** d_table[ids[n]] += d_out[n], deterministic; d_table is not cleared here. */
export function recordEmbeddingBackward(gpu: Gpu, plan: Plan, s: { tokens: number; cols: number },
  io: { ids: Bindable; dOut: Bindable; dTable: Bindable }, label = 'embedding.bwd'): void {
  const p = gpu.uniform(`${label}.params`, [s.tokens, s.cols, 0, 0], ['u32', 'u32', 'u32', 'u32']);
  record(gpu, plan, { shader: shaders.f32, entry: 'embedding_backward', label, bindings: { 0: p, 1: io.ids, 4: io.dOut, 5: io.dTable }, workgroups: [Math.ceil(s.cols / 64)],
    cost: elementwiseCost('embedding.bwd', s.tokens * s.cols, 1, 2, 1, s.tokens * WORD) });
}

// Records SAPT's attentive-selection dispatches (shaders/sapt.wgsl, the row reductions from row-reduce.ts):
// masked max or mean pooling, SiLU + LayerNorm, and the row softmax with the ARM KL term.
import source from '../../../shaders/sapt.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import type { RouterPool } from '../../model/sapt-files.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';
import { rowReduceShader, rowReduceShaders } from './row-reduce.ts';

const shaders = rowReduceShaders('sapt', source);
/** Width of the per-element and per-column entry points (WG in the shader). */
const WG = 64;
/** Widths of the per-row entry points (RED_WG in the shader): the LayerNorm's rows are the model's width, the softmax's a handful of blocks. */
const LAYERNORM_WG = 256;
const SOFTMAX_WG = 64;

const HAS_DY = 1;
const HAS_TARGET = 2;
const HAS_KL = 4;

const TYPES: ('u32' | 'f32')[] = ['u32', 'u32', 'u32', 'u32', 'f32', 'f32', 'u32', 'u32'];

function params(gpu: Gpu, label: string, v: { rows: number; cols: number; seq?: number; flags?: number; eps?: number; klScale?: number }): GPUBuffer {
  for (const [k, n] of [['rows', v.rows], ['cols', v.cols], ['seq', v.seq ?? 1]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${label}: ${k} must be a positive integer, got ${n}`);
  }
  return gpu.uniform(`${label}.params`, [v.rows, v.cols, v.seq ?? 0, v.flags ?? 0, v.eps ?? 0, v.klScale ?? 0, 0, 0], TYPES);
}

const unusedKl = new WeakMap<Gpu, GPUBuffer>();

/**
 * out[b, c] = max (or mean) over t < seq with mask[b*seq+t] != 0 of x[(b*seq+t)*cols + c]; 0 when the example
 * has no masked position. mask is u32.
 */
export function recordMaskedPool(gpu: Gpu, plan: Plan, kind: RouterPool, s: { batch: number; seq: number; cols: number },
  io: { x: Bindable; mask: Bindable; out: Bindable }, label = `masked_${kind}_pool`): void {
  const p = params(gpu, label, { rows: s.batch, cols: s.cols, seq: s.seq });
  record(gpu, plan, {
    shader: rowReduceShader(gpu, shaders), entry: kind === 'max' ? 'masked_max_pool' : 'masked_mean_pool', label,
    bindings: { 0: p, 1: io.x, 2: io.mask, 3: io.out },
    workgroups: grid(Math.ceil((s.batch * s.cols) / WG)),
    cost: elementwiseCost('sapt', s.batch * s.seq * s.cols, 1, 1, 0, (s.batch * s.seq + s.batch * s.cols) * WORD),
  });
}

// ---------------------------------------------------------------------------------------------
// SiLU + LayerNorm

/** y = LayerNorm(silu(h)) * gamma + beta per row (biased variance, eps inside the sqrt, as torch.nn.LayerNorm); saves mean and rstd per row. */
export function recordSiluLayerNormForward(gpu: Gpu, plan: Plan, s: { rows: number; cols: number; eps: number },
  io: { h: Bindable; gamma: Bindable; beta: Bindable; y: Bindable; mean: Bindable; rstd: Bindable }, label = 'silu_layernorm'): void {
  const p = params(gpu, label, { rows: s.rows, cols: s.cols, eps: s.eps });
  record(gpu, plan, {
    shader: rowReduceShader(gpu, shaders), entry: 'silu_layernorm_forward', label, constants: { RED_WG: LAYERNORM_WG },
    bindings: { 0: p, 4: io.h, 5: io.gamma, 6: io.beta, 7: io.y, 8: io.mean, 9: io.rstd },
    workgroups: grid(s.rows),
    cost: elementwiseCost('sapt', s.rows * s.cols, 10, 1, 1, (2 * s.cols + 2 * s.rows) * WORD),
  });
}

/** dh (overwrite), dgamma and dbeta (overwrite, summed over rows) from dy. Two dispatches: per row, then per column. */
export function recordSiluLayerNormBackward(gpu: Gpu, plan: Plan, s: { rows: number; cols: number; eps: number },
  io: { h: Bindable; gamma: Bindable; mean: Bindable; rstd: Bindable; dy: Bindable; dh: Bindable; dgamma: Bindable; dbeta: Bindable },
  label = 'silu_layernorm.bwd'): void {
  const p = params(gpu, label, { rows: s.rows, cols: s.cols, eps: s.eps });
  const shader = rowReduceShader(gpu, shaders);
  record(gpu, plan, {
    shader, entry: 'silu_layernorm_backward', label, constants: { RED_WG: LAYERNORM_WG },
    bindings: { 0: p, 4: io.h, 5: io.gamma, 10: io.mean, 11: io.rstd, 12: io.dy, 13: io.dh },
    workgroups: grid(s.rows),
    cost: elementwiseCost('sapt', s.rows * s.cols, 14, 2, 1, (s.cols + 2 * s.rows) * WORD),
  });
  record(gpu, plan, {
    shader, entry: 'silu_layernorm_params_backward', label: `${label}.params`,
    bindings: { 0: p, 4: io.h, 10: io.mean, 11: io.rstd, 12: io.dy, 14: io.dgamma, 15: io.dbeta },
    workgroups: grid(Math.ceil(s.cols / WG)),
    cost: elementwiseCost('sapt', s.rows * s.cols, 8, 2, 0, (2 * s.cols + 2 * s.rows) * WORD),
  });
}

// ---------------------------------------------------------------------------------------------
// Row softmax

/** y = softmax(x) over each row of [rows, cols]. */
export function recordSoftmaxRows(gpu: Gpu, plan: Plan, s: { rows: number; cols: number },
  io: { x: Bindable; y: Bindable }, label = 'softmax_rows'): void {
  const p = params(gpu, label, { rows: s.rows, cols: s.cols });
  record(gpu, plan, {
    shader: rowReduceShader(gpu, shaders), entry: 'softmax_rows', label, constants: { RED_WG: SOFTMAX_WG },
    bindings: { 0: p, 20: io.x, 21: io.y },
    workgroups: grid(s.rows),
    cost: elementwiseCost('sapt', s.rows * s.cols, 5, 1, 1),
  });
}

/**
 * dx = y ⊙ (dy − Σ_c y·dy)  (+ klScale * (y − target) when target is given)   (overwrite)
 * The second term is the gradient of klScale * KL(target || softmax(x)) for target rows summing to 1.
 * When klLoss is given: klLoss[row] = klScale * Σ_c target·(log target − log y), with 0·log 0 = 0.
 * When dy is omitted it is treated as zero. (klLoss without a target is written as 0.)
 */
export function recordSoftmaxRowsBackward(gpu: Gpu, plan: Plan, s: { rows: number; cols: number; klScale: number },
  io: { y: Bindable; dy?: Bindable; target?: Bindable; dx: Bindable; klLoss?: Bindable }, label = 'softmax_rows.bwd'): void {
  const flags = (io.dy ? HAS_DY : 0) | (io.target ? HAS_TARGET : 0) | (io.klLoss ? HAS_KL : 0);
  const p = params(gpu, label, { rows: s.rows, cols: s.cols, flags, klScale: s.klScale });
  let kl = io.klLoss;
  if (!kl) {
    // A separate placeholder: the shared dummy may already be bound to a read-only slot here.
    kl = unusedKl.get(gpu);
    if (!kl) unusedKl.set(gpu, (kl = gpu.createBuffer('softmax_rows.unused', 16)));
  }
  record(gpu, plan, {
    shader: rowReduceShader(gpu, shaders), entry: 'softmax_rows_backward', label, constants: { RED_WG: SOFTMAX_WG },
    bindings: { 0: p, 22: io.y, 23: io.dy ?? gpu.dummy, 24: io.target ?? gpu.dummy, 25: io.dx, 26: kl },
    workgroups: grid(s.rows),
    cost: elementwiseCost('sapt', s.rows * s.cols, 8, 3, 1, s.rows * WORD),
  });
}

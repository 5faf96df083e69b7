// Records the gated MLP activation (SiLU or GELU-tanh), residual add, accumulation and scaling dispatches
// (shaders/swiglu.wgsl, shaders/elementwise.wgsl). LoRA dropout has no pass of its own: the thin matmuls and the
// input gradient's epilogue apply its mask where they load or write (shaders/dropout_mask.wgsl).
import swigluSource from '../../../shaders/swiglu.wgsl';
import elementwiseSource from '../../../shaders/elementwise.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { elementwiseCost } from '../dispatch-cost.ts';

const swiglu = { name: 'swiglu', code: swigluSource };
const elementwise = { name: 'elementwise', code: elementwiseSource };
const wg = (n: number) => grid(Math.ceil(n / 64));

/** The gate's activation: SiLU (swiglu_*) or GELU with the tanh approximation (geglu_*). */
export type GateActivation = 'silu' | 'gelu_tanh';
const ENTRY: Record<GateActivation, string> = { silu: 'swiglu', gelu_tanh: 'geglu' };

/** act = f(gate) * up. */
export function recordSwigluForward(gpu: Gpu, plan: Plan, n: number,
  io: { gate: Bindable; up: Bindable; act: Bindable }, label = 'swiglu', activation: GateActivation = 'silu'): void {
  const p = gpu.uniform(`${label}.params`, [n, 0, 0, 0], ['u32', 'u32', 'u32', 'u32']);
  record(gpu, plan, { shader: swiglu, entry: `${ENTRY[activation]}_forward`, label, bindings: { 0: p, 1: io.gate, 2: io.up, 3: io.act }, workgroups: wg(n),
    cost: elementwiseCost('swiglu.fwd', n, 5, 2, 1) });
}

export function recordSwigluBackward(gpu: Gpu, plan: Plan, n: number,
  io: { gate: Bindable; up: Bindable; dAct: Bindable; dGate: Bindable; dUp: Bindable }, label = 'swiglu.bwd', activation: GateActivation = 'silu'): void {
  const p = gpu.uniform(`${label}.params`, [n, 0, 0, 0], ['u32', 'u32', 'u32', 'u32']);
  record(gpu, plan, {
    shader: swiglu, entry: `${ENTRY[activation]}_backward`, label,
    bindings: { 0: p, 1: io.gate, 2: io.up, 4: io.dAct, 5: io.dGate, 6: io.dUp }, workgroups: wg(n),
    // sigmoid (exp, add, div), silu, its derivative and the two products.
    cost: elementwiseCost('swiglu.bwd', n, 10, 3, 2),
  });
}

/** out = a + b. */
export function recordAdd(gpu: Gpu, plan: Plan, n: number, io: { a: Bindable; b: Bindable; out: Bindable }, label = 'add'): void {
  const p = gpu.uniform(`${label}.params`, [n, 0, 0, 0], ['u32', 'u32', 'f32', 'u32']);
  record(gpu, plan, { shader: elementwise, entry: 'add', label, bindings: { 0: p, 2: io.a, 3: io.b, 4: io.out }, workgroups: wg(n),
    cost: elementwiseCost('add', n, 1, 2, 1) });
}

/** dx *= factor, in place (Gemma's embedding scale). */
export function recordScaleInPlace(gpu: Gpu, plan: Plan, n: number, factor: number, io: { dx: Bindable }, label = 'scale'): void {
  const p = gpu.uniform(`${label}.params`, [n, 0, factor, 0], ['u32', 'u32', 'f32', 'u32']);
  record(gpu, plan, { shader: elementwise, entry: 'scale_in_place', label, bindings: { 0: p, 5: io.dx }, workgroups: wg(n),
    cost: elementwiseCost('scale', n, 1, 1, 1) });
}

/** dx += b (dx and b must not overlap). */
export function recordAccumulate(gpu: Gpu, plan: Plan, n: number, io: { b: Bindable; dx: Bindable }, label = 'accumulate'): void {
  const p = gpu.uniform(`${label}.params`, [n, 0, 0, 0], ['u32', 'u32', 'f32', 'u32']);
  record(gpu, plan, { shader: elementwise, entry: 'accumulate', label, bindings: { 0: p, 3: io.b, 5: io.dx }, workgroups: wg(n),
    cost: elementwiseCost('add', n, 1, 2, 1) });
}

// Records the continual-learning regularizer dispatches: EWC gradient, Fisher accumulation and the sign/|.|-sum of O-LoRA (shaders/regularizers.wgsl).
import source from '../../../shaders/regularizers.wgsl';
import { grid, toRef, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';

const shader = { name: 'regularizers', code: source };
const wg = (n: number) => grid(Math.ceil(n / 64));

function params(gpu: Gpu, label: string, n: number, scale: number): GPUBuffer {
  return gpu.uniform(`${label}.params`, [n, scale, 0, 0], ['u32', 'f32', 'u32', 'u32']);
}

/** EWC: grads[i] += lambda * fisher[i] * (params[i] - anchor[i]) for i < n. */
export function recordEwcGrad(gpu: Gpu, plan: Plan, n: number, lambda: number,
  io: { params: Bindable; anchor: Bindable; fisher: Bindable; grads: Bindable }, label = 'ewc_grad'): void {
  const p = params(gpu, label, n, lambda);
  record(gpu, plan, {
    shader, entry: 'ewc_grad', label,
    bindings: { 0: p, 1: io.params, 2: io.anchor, 3: io.fisher, 4: io.grads }, workgroups: wg(n),
    cost: elementwiseCost('regularizer', n, 4, 4, 1),
  });
}

/** fisher[i] += weight * grads[i]^2 for i < n (diagonal empirical Fisher accumulation). */
export function recordFisherAccumulate(gpu: Gpu, plan: Plan, n: number, weight: number,
  io: { grads: Bindable; fisher: Bindable }, label = 'fisher_accumulate'): void {
  const p = params(gpu, label, n, weight);
  record(gpu, plan, {
    shader, entry: 'fisher_accumulate', label,
    bindings: { 0: p, 5: io.grads, 6: io.fisher }, workgroups: wg(n),
    cost: elementwiseCost('regularizer', n, 3, 2, 1),
  });
}

/**
 * O-LoRA orthogonality: out[i] = sign(x[i]) (0 at 0) for i < n; when absSum is given, absSum[0] += sum_i |x[i]|
 * (single-workgroup reduction is fine, n is small: r_old*r). x and out may be the same range (in place);
 * the sum is then taken before the signs overwrite x.
 */
export function recordSign(gpu: Gpu, plan: Plan, n: number, io: { x: Bindable; out: Bindable; absSum?: Bindable }, label = 'sign'): void {
  const p = params(gpu, label, n, 0);
  if (io.absSum) {
    record(gpu, plan, { shader, entry: 'abs_sum', label: `${label}.abs_sum`, bindings: { 0: p, 7: io.x, 9: io.absSum }, workgroups: [1],
      cost: elementwiseCost('regularizer', n, 1, 1, 0, 2 * WORD) });
  }
  const x = toRef(io.x);
  const out = toRef(io.out);
  if (x.buffer === out.buffer && x.offset === out.offset) {
    record(gpu, plan, { shader, entry: 'abs_grad_in_place', label, bindings: { 0: p, 8: io.out }, workgroups: wg(n),
      cost: elementwiseCost('regularizer', n, 1, 1, 1) });
  } else {
    record(gpu, plan, { shader, entry: 'abs_grad', label, bindings: { 0: p, 7: io.x, 8: io.out }, workgroups: wg(n),
      cost: elementwiseCost('regularizer', n, 1, 1, 1) });
  }
}

/**
 * O-LoRA's L2 term: for each segment (offset, count) of `params` (in floats), grads += scale * θ_s / ||θ_s||₂
 * over that segment, the gradient of scale * Σ_s ||θ_s||₂ (nothing where a segment is all zeros).
 * `segments` holds the pairs as u32; one workgroup per segment.
 */
export function recordL2NormGrad(gpu: Gpu, plan: Plan, count: number, scale: number,
  io: { params: Bindable; grads: Bindable; segments: Bindable }, label = 'l2_norm_grad'): void {
  if (count > 65535) throw new Error(`l2_norm_grad: ${count} segments exceed one dispatch dimension`);
  const p = params(gpu, label, count, scale);
  record(gpu, plan, {
    shader, entry: 'l2_norm_grad', label,
    bindings: { 0: p, 1: io.params, 4: io.grads, 10: io.segments }, workgroups: [count],
    // At most the whole parameter buffer (the segments' lengths are only in the GPU buffer): a norm and a scaled add a float.
    cost: elementwiseCost('regularizer', toRef(io.params).size / WORD, 4, 3, 1, count * 2 * WORD),
  });
}

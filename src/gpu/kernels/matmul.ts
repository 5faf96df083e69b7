// Records C = alpha * op(A) op(B) (+ bias) (+ beta * C) dispatches (shaders/matmul.wgsl).
import source from '../../../shaders/matmul.wgsl';
import type { Bindable, Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';

const shader = { name: 'matmul', code: source };
const TILE = 64;

export interface MatmulArgs {
  /** op(A) is [M, K]; A is stored [K, M] when transA. */
  a: Bindable;
  /** op(B) is [K, N]; B is stored [N, K] when transB (Linear weights [out, in]). */
  b: Bindable;
  c: Bindable;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** 0 overwrites C, 1 accumulates into it. */
  beta?: number;
  bias?: Bindable;
}

export function recordMatmul(gpu: Gpu, plan: Plan, args: MatmulArgs, label = 'matmul'): void {
  const { M, N, K } = args;
  if (M > 65535 * TILE || N > 65535 * TILE) throw new Error(`${label}: matmul of ${M}x${N} exceeds the dispatch grid`);
  const params = gpu.uniform(`${label}.params`, [M, N, K, args.bias ? 1 : 0, args.alpha ?? 1, args.beta ?? 0, 0, 0],
    ['u32', 'u32', 'u32', 'u32', 'f32', 'f32', 'u32', 'u32']);
  record(gpu, plan, {
    shader,
    entry: 'matmul',
    constants: { TRANS_A: !!args.transA, TRANS_B: !!args.transB },
    bindings: { 0: params, 1: args.a, 2: args.b, 3: args.c, 4: args.bias ?? gpu.dummy },
    workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE)],
    label,
  });
}

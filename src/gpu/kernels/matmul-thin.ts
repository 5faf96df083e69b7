// Records the thin matmul (shaders/matmul_thin.wgsl): products where one side of C is a LoRA rank, such as
// u = drop(x) Aᵀ and the factors' gradients, with K split among the invocations of a workgroup and summed in a
// fixed order, several same-shaped products ("groups", sharing bindings at different offsets) in one dispatch, and
// LoRA dropout applied to an operand as it is loaded.
import source from '../../../shaders/matmul_thin.wgsl';
import stepSource from '../../../shaders/step.wgsl';
import dropoutMaskSource from '../../../shaders/dropout_mask.wgsl';
import { grid, type BufferRef, type Gpu } from '../context.ts';
import { WORD, type DispatchCost } from '../dispatch-cost.ts';
import type { Plan } from '../plan.ts';
import { unusedStepParams } from '../step-params.ts';
import { record } from './record.ts';

const shader = { name: 'matmul_thin', code: `${stepSource}\n${dropoutMaskSource}\n${source}` };
const MAX_GROUPS = 8;
const BIND_ALIGN = 256;

/** One product of a thin dispatch: its operands and output, each a range of the buffer all groups share for it. */
export interface ThinGroup {
  a: BufferRef;
  b: BufferRef;
  c: BufferRef;
  /** The dropout salt of the group's site (with `dropout`). */
  salt?: number;
}

/**
 * How a workgroup covers C: 'lanes' (GPUs): up to 16 outputs across the thin side, each summed by 256 / outputs
 * invocations; 'serial' (software adapters, where barriers cost more than they save): 64 outputs along the long
 * side, each summed by one invocation.
 */
export type ThinSplit = 'lanes' | 'serial';

export interface ThinMatmulArgs {
  groups: ThinGroup[];
  /** op(A) is [M, K] (A stored [K, M] when transA); op(B) is [K, N] (B stored [N, K] when transB). */
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** 0 overwrites C, 1 accumulates into it. */
  beta?: number;
  /** LoRA dropout applied to operand a or b as it is loaded, with each group's salt and the step's seed. */
  dropout?: { pDrop: number; step: GPUBuffer; operand: 'a' | 'b' };
  /** Default: 'serial' on software adapters, else 'lanes'. */
  split?: ThinSplit;
}

/** The smallest power of two at least n. */
function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** One binding covering every group's range of `refs` (which must share a buffer) and each range's element offset in it. */
function spanOf(label: string, what: string, refs: BufferRef[], floats: number): { binding: BufferRef; offsets: number[] } {
  const buffer = refs[0].buffer;
  for (const r of refs) {
    if (r.buffer !== buffer) throw new Error(`${label}: the groups' ${what} operands must share one buffer`);
    if (r.offset % 4 !== 0) throw new Error(`${label}: ${what} offset ${r.offset} is not a multiple of 4 bytes`);
    if (r.size < floats * 4) throw new Error(`${label}: ${what} range of ${r.size} bytes holds fewer than ${floats} floats`);
  }
  const start = Math.floor(Math.min(...refs.map((r) => r.offset)) / BIND_ALIGN) * BIND_ALIGN;
  const end = Math.max(...refs.map((r) => r.offset + floats * 4));
  return { binding: { buffer, offset: start, size: end - start }, offsets: refs.map((r) => (r.offset - start) / 4) };
}

/** 2·M·N·K per group (the dropout hash is index arithmetic); bytes: A, B and C written (and read when beta is not 0), per group. */
export function thinMatmulCost(args: ThinMatmulArgs): DispatchCost {
  const { M, N, K } = args;
  const G = args.groups.length;
  return { kernel: 'matmul', flops: G * 2 * M * N * K, bytes: G * (M * K + K * N + M * N * ((args.beta ?? 0) !== 0 ? 2 : 1)) * WORD };
}

export function recordThinMatmul(gpu: Gpu, plan: Plan, args: ThinMatmulArgs, label = 'matmul_thin'): void {
  const { M, N, K, groups } = args;
  if (groups.length < 1 || groups.length > MAX_GROUPS) throw new Error(`${label}: a thin matmul takes 1 to ${MAX_GROUPS} groups, got ${groups.length}`);
  if (![M, N, K].every((d) => Number.isInteger(d) && d > 0)) throw new Error(`${label}: thin matmul dimensions ${M}x${N}x${K} must be positive integers`);
  const a = spanOf(label, 'A', groups.map((g) => g.a), M * K);
  const b = spanOf(label, 'B', groups.map((g) => g.b), K * N);
  const c = spanOf(label, 'C', groups.map((g) => g.c), M * N);
  const split = args.split ?? (gpu.adapter.isSoftware ? 'serial' : 'lanes');
  const thinIsM = M <= N;
  const thin = thinIsM ? M : N;
  // 'lanes': the outputs run across the thin side; 'serial': along the long side.
  const outs = split === 'lanes' ? Math.min(16, pow2(thin)) : 64;
  const lanes = split === 'lanes' ? 256 / outs : 1;
  const alongM = split === 'lanes' ? thinIsM : !thinIsM;
  const tiles = Math.ceil((alongM ? M : N) / outs) * (alongM ? N : M);
  if (tiles > 65535 * 65535) throw new Error(`${label}: thin matmul of ${M}x${N} exceeds the dispatch grid`);
  const words: number[] = [M, N, K, groups.length, args.alpha ?? 1, args.beta ?? 0, args.dropout?.pDrop ?? 0, 0];
  const types: ('u32' | 'f32')[] = ['u32', 'u32', 'u32', 'u32', 'f32', 'f32', 'f32', 'u32'];
  for (let i = 0; i < MAX_GROUPS; i++) {
    const g = groups[i];
    words.push(g ? a.offsets[i] : 0, g ? b.offsets[i] : 0, g ? c.offsets[i] : 0, g?.salt ?? 0);
    types.push('u32', 'u32', 'u32', 'u32');
  }
  const params = gpu.uniform(`${label}.params`, words, types);
  record(gpu, plan, {
    shader,
    entry: 'matmul_thin',
    constants: {
      TRANS_A: !!args.transA, TRANS_B: !!args.transB,
      DROP_A: args.dropout?.operand === 'a', DROP_B: args.dropout?.operand === 'b',
      LANES: lanes, OUTS: outs, OUT_ALONG_M: alongM, WG: outs * lanes,
    },
    bindings: { 0: params, 1: args.dropout?.step ?? unusedStepParams(gpu), 2: a.binding, 3: b.binding, 4: c.binding },
    workgroups: [...grid(tiles), groups.length],
    label,
    cost: thinMatmulCost(args),
  });
}

// Records C = alpha * op(A) op(B) (+ bias) (+ beta * C) (+ a LoRA update) dispatches: the workgroup-tiled kernel
// (shaders/matmul.wgsl) on GPUs, the vec4 kernel without workgroup memory (shaders/matmul_vec4.wgsl) on
// software adapters when the layout allows it. The LoRA update is fused into the epilogue (shaders/matmul_epilogue.wgsl).
// With compute 'f16' (devices with shader-f16) the tiled kernel multiplies in f16 and sums in f32 (shaders/matmul_precision.wgsl).
import source from '../../../shaders/matmul.wgsl';
import vec4Source from '../../../shaders/matmul_vec4.wgsl';
import epilogueSource from '../../../shaders/matmul_epilogue.wgsl';
import bFormatsSource from '../../../shaders/matmul_b_formats.wgsl';
import precisionSource from '../../../shaders/matmul_precision.wgsl';
import stepSource from '../../../shaders/step.wgsl';
import dropoutMaskSource from '../../../shaders/dropout_mask.wgsl';
import splitkSource from '../../../shaders/matmul_splitk.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import { section, shaderSections } from '../shader-sections.ts';
import type { Plan } from '../plan.ts';
import { deviceScratch } from '../scratch.ts';
import { unusedStepParams } from '../step-params.ts';
import { record } from './record.ts';
import { WORD, type DispatchCost } from '../dispatch-cost.ts';
import { splitOf, thinChoice, TILE, vec4Entry, VEC4_TILE } from '../matmul-plan.ts';

export { vec4Entry };

/** How B is stored: f32, or a checkpoint's half-precision weights packed two per word (read as f32 in the kernel). */
export type MatmulBFormat = 'f32' | 'f16' | 'bf16';

/**
 * The arithmetic of the tiled kernel: f32 throughout, or f16 products summed in f32 (operands rounded to f16 as
 * they enter the workgroup tiles). Needs the shader-f16 feature.
 */
export type MatmulCompute = 'f32' | 'f16';

const B_FORMATS = shaderSections(bFormatsSource);
/** The epilogue with what it reads: the step block and the dropout mask. */
const EPILOGUE = `${stepSource}\n${dropoutMaskSource}\n${epilogueSource}`;
const PRECISIONS = shaderSections(precisionSource);

const FORMATS = ['f32', 'f16', 'bf16'] as const;
type Shader = { name: string; code: string };
const shaders = {
  /** By B format, then compute precision; the f16 ones open with the enable directive the f16 type needs. */
  tiled: Object.fromEntries(FORMATS.map((f) => [f, {
    f32: { name: `matmul_${f}`, code: tiledCode(f, 'f32') },
    f16: { name: `matmul_${f}_f16compute`, code: `enable f16;\n${tiledCode(f, 'f16')}` },
  }])) as Record<MatmulBFormat, Record<MatmulCompute, Shader>>,
  vec4: Object.fromEntries(FORMATS.map((f) =>
    [f, { name: `matmul_vec4_${f}`, code: `${EPILOGUE}\n${section(B_FORMATS, 'matmul_b_formats.wgsl', f === 'f32' ? 'f32x4' : f)}\n${vec4Source}` }])) as Record<MatmulBFormat, Shader>,
};

const splitkShader = { name: 'matmul_splitk', code: `${EPILOGUE}\n${splitkSource}` };

function tiledCode(format: MatmulBFormat, compute: MatmulCompute): string {
  return [EPILOGUE, section(B_FORMATS, 'matmul_b_formats.wgsl', format), section(PRECISIONS, 'matmul_precision.wgsl', compute), source].join('\n');
}
/** Which matmul kernel runs: 'auto' picks vec4 on software adapters when the shape allows, else tiled. */
export type MatmulKernel = 'auto' | 'tiled' | 'vec4';

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
  /** How B is stored (default f32); half formats hold B's row-major elements packed two per 32-bit word. */
  bFormat?: MatmulBFormat;
  /** A low-rank update added to every element of C as it is written (after beta). */
  lora?: MatmulLora;
  /**
   * [M, N] added to every element last, as C is written: the residual stream a projection's output joins (o_proj,
   * down_proj), instead of an add pass. Must not overlap C.
   */
  residual?: Bindable;
  /**
   * A fused projection's output (weights stacked into one B, e.g. [q; k; v]): C's columns in consecutive segments, each
   * written to its own compact [M, width] block of the C binding at element `offset`, with that projection's LoRA
   * update (`lora` then gives the bindings, rank, blocks and scale; each segment its offsets in them, or none).
   */
  outSegments?: MatmulSegment[];
  /**
   * A fused projection's input gradient: op(A)'s columns (K) in consecutive segments, each a compact [M, width] block of
   * the A binding at element `offset` (not with transA), and a k-major LoRA update summed over the segments that have
   * one, each through its own dropout mask (`lora` gives the bindings, rank, scale and the dropout probability).
   */
  kSegments?: MatmulSegment[];
  kernel?: MatmulKernel;
  /** 'f16': f16 products summed in f32, in the tiled kernel whatever `kernel` says ('auto') (default 'f32'). */
  compute?: MatmulCompute;
  /**
   * The tiled kernel's K in this many splits (fewer when K is short), each a workgroup's partial product, summed in
   * split order by a second dispatch (shaders/matmul_splitk.wgsl) that applies the epilogue. Default: 1 (none), or
   * with kernel 'auto' on GPUs as many as bring a thin product (few tiles, long K) to SPLIT_TARGET workgroups.
   */
  splitK?: number;
}

/**
 * The LoRA update fused into a matmul's epilogue, with u [M, J*rank] computed beforehand:
 * - 'out-major' (a projection's output, l = B stacked [J, N, rank]): scale · Σ_j mix[m / seq, j] Σ_i l[j,n,i] u[m, j*rank+i],
 *   the mixture omitted for one block;
 * - 'k-major' (an input gradient, l = A stacked [rank, N], one "block" of all rows): scale · Σ_k u[m,k] l[k,n].
 */
export interface MatmulLora {
  layout: 'out-major' | 'k-major';
  u: Bindable;
  l: Bindable;
  rank: number;
  blocks: number;
  scale: number;
  /** Several blocks: [M / seq, blocks] per-example weights, and the tokens per example. */
  mix?: Bindable;
  seq?: number;
  /**
   * k-major only: the site's LoRA input dropout, whose mask (element m * N + n of C, the step's seed, the site's salt)
   * multiplies the update: the gradient of the dropped-out input passed back through the mask.
   */
  dropout?: { pDrop: number; salt: number; step: GPUBuffer };
}

/** One segment of a fused projection's columns (outSegments) or of its K (kSegments). */
export interface MatmulSegment {
  width: number;
  /** Element offset of the segment's compact [M, width] block in the C (outSegments) or A (kSegments) binding. */
  offset: number;
  /** The projection's LoRA factors: element offsets of its u in `lora.u` and of its L in `lora.l`; kSegments: its dropout salt. */
  lora?: { u: number; l: number; salt?: number };
}

const MAX_SEGMENTS = 3;

/** The segment table's words (header of four, then eight per segment), checked against the product's shape. */
function segmentWords(label: string, args: MatmulArgs): number[] {
  const { outSegments: out, kSegments: ks } = args;
  const words = new Array(4 + 8 * MAX_SEGMENTS).fill(0);
  if (out && ks) throw new Error(`${label}: a matmul takes output segments or K segments, not both`);
  const segs = out ?? ks;
  if (!segs) return words;
  if (segs.length < 1 || segs.length > MAX_SEGMENTS) throw new Error(`${label}: 1 to ${MAX_SEGMENTS} segments, got ${segs.length}`);
  const total = segs.reduce((n, sg) => n + sg.width, 0);
  if (total !== (out ? args.N : args.K)) throw new Error(`${label}: segments of ${total} columns for ${out ? `N = ${args.N}` : `K = ${args.K}`}`);
  if (ks && args.transA) throw new Error(`${label}: K segments need A stored [M, K] (no transA)`);
  if (segs.some((sg) => sg.lora) && !args.lora) throw new Error(`${label}: a segment with a LoRA update needs the lora bindings`);
  if (args.lora && out && args.lora.layout !== 'out-major') throw new Error(`${label}: output segments take an out-major LoRA update`);
  if (args.lora && ks && (args.lora.layout !== 'k-major')) throw new Error(`${label}: K segments take a k-major LoRA update`);
  words[0] = out ? segs.length : 0;
  words[1] = ks ? segs.length : 0;
  let n0 = 0;
  segs.forEach((sg, i) => {
    words.splice(4 + 8 * i, 8, n0, sg.width, sg.offset, sg.lora ? 1 : 0, sg.lora?.u ?? 0, sg.lora?.l ?? 0, sg.lora?.salt ?? 0, 0);
    n0 += sg.width;
  });
  return words;
}

function loraParams(label: string, lora: MatmulLora | undefined): number[] {
  if (!lora) return [0, 0, 0, 0, 0, 0, 0];
  const { rank, blocks } = lora;
  if (!Number.isInteger(rank) || rank < 1 || !Number.isInteger(blocks) || blocks < 1) throw new Error(`${label}: LoRA rank ${rank} and blocks ${blocks} must be positive integers`);
  if (lora.layout === 'k-major' && blocks !== 1) throw new Error(`${label}: a k-major LoRA update takes its blocks as rows (blocks 1, rank J*r)`);
  if (blocks > 1 && (!lora.mix || !lora.seq)) throw new Error(`${label}: a LoRA update of ${blocks} blocks needs a mixture and the tokens per example`);
  if (lora.dropout && lora.layout !== 'k-major') throw new Error(`${label}: only a k-major LoRA update (an input gradient) takes a dropout mask`);
  return [rank, blocks, lora.seq ?? 1, lora.layout === 'k-major' ? 1 : 0, lora.scale, lora.dropout?.salt ?? 0, lora.dropout?.pDrop ?? 0];
}

/** Bytes per element of B as stored. */
const B_BYTES: Record<MatmulBFormat, number> = { f32: 4, f16: 2, bf16: 2 };

/**
 * 2·M·N·K, plus the LoRA epilogue's 2·M·N·rank·blocks; bytes: A, B (at its stored width), C written (and read when
 * beta is not 0), the bias and the LoRA operands.
 */
export function matmulCost(args: MatmulArgs): DispatchCost {
  const { M, N, K, lora } = args;
  const rank = lora ? lora.rank * (lora.layout === 'k-major' ? 1 : lora.blocks) : 0;
  let bytes = M * K * WORD + N * K * B_BYTES[args.bFormat ?? 'f32'] + M * N * WORD * ((args.beta ?? 0) !== 0 ? 2 : 1);
  if (args.bias) bytes += N * WORD;
  if (args.residual) bytes += M * N * WORD;
  if (!lora) return { kernel: 'matmul', flops: 2 * M * N * K, bytes };
  const mixBytes = lora.mix ? Math.ceil(M / (lora.seq ?? M)) * lora.blocks * WORD : 0;
  const segs = args.outSegments ?? args.kSegments;
  if (!segs) return { kernel: 'matmul', flops: 2 * M * N * K + 2 * M * N * rank, bytes: bytes + (M * rank + N * rank) * WORD + mixBytes };
  // Per segment with an update: an output segment's columns (u [M, rank], L [width, rank]); a K segment's for every
  // column of C (u [M, rank], L [rank, N]).
  let flops = 2 * M * N * K;
  for (const sg of segs) {
    if (!sg.lora) continue;
    const cols = args.outSegments ? sg.width : N;
    flops += 2 * M * cols * rank;
    bytes += (M * rank + cols * rank) * WORD;
  }
  return { kernel: 'matmul', flops, bytes: bytes + mixBytes };
}

export function recordMatmul(gpu: Gpu, plan: Plan, args: MatmulArgs, label = 'matmul'): void {
  const { M, N, K } = args;
  const kernel = args.kernel ?? 'auto';
  const compute = args.compute ?? 'f32';
  if (compute === 'f16') {
    gpu.requireF16(`${label}: f16 compute`);
    if (kernel === 'vec4') throw new Error(`${label}: f16 compute runs in the tiled kernel only`);
  }
  let useTiled = kernel === 'tiled' || compute === 'f16' || (kernel === 'auto' && !gpu.adapter.isSoftware);
  let splits = args.splitK ?? 1;
  if (useTiled && kernel === 'auto' && args.splitK === undefined) {
    // A thin product on a GPU: smaller tiles when they fill it (no second dispatch), else split K (src/gpu/matmul-plan.ts).
    const choice = thinChoice(M, N, K, !!args.transA, !!args.transB, compute);
    if (choice === 'vec4') useTiled = false;
    else if (choice) splits = choice.splits;
  }
  // The vec4 kernel reads K segments in matmul_nn only, as vec4s: widths and offsets multiples of 4.
  const vec4Segments = !args.kSegments || (!args.transA && !args.transB && args.kSegments.every((sg) => sg.width % 4 === 0 && sg.offset % 4 === 0));
  if (!vec4Segments && kernel === 'auto') useTiled = true;
  const entry = useTiled || !vec4Segments ? null : vec4Entry(M, N, K, !!args.transA, !!args.transB);
  if (kernel === 'vec4' && entry === null) throw new Error(`${label}: the vec4 matmul cannot run ${M}x${N}x${K} with transA=${!!args.transA} transB=${!!args.transB}`);
  const tile = entry ? VEC4_TILE : TILE;
  if (M > 65535 * tile || N > 65535 * tile) throw new Error(`${label}: matmul of ${M}x${N} exceeds the dispatch grid`);
  if (!(Number.isInteger(splits) && splits >= 1)) throw new Error(`${label}: splitK must be a positive integer, got ${splits}`);
  if (splits > 1 && entry) throw new Error(`${label}: split-K runs in the tiled kernel only`);
  const split = splits > 1 ? splitOf(gpu.device.limits.maxStorageBufferBindingSize, M, N, K, splits) : null;
  const segWords = segmentWords(label, args);
  const params = gpu.uniform(`${label}.params`,
    [M, N, K, args.bias ? 1 : 0, args.alpha ?? 1, args.beta ?? 0, ...loraParams(label, args.lora), split?.kSplit ?? 0, args.residual ? 1 : 0, 0, ...segWords],
    ['u32', 'u32', 'u32', 'u32', 'f32', 'f32', 'u32', 'u32', 'u32', 'u32', 'f32', 'u32', 'f32', 'u32', 'u32', 'u32', ...segWords.map(() => 'u32' as const)]);
  const bindings = {
    0: params, 1: args.a, 2: args.b, 3: args.c, 4: args.bias ?? gpu.dummy,
    5: args.lora?.u ?? gpu.dummy, 6: args.lora?.l ?? gpu.dummy, 7: args.lora?.mix ?? gpu.dummy,
    8: args.lora?.dropout?.step ?? unusedStepParams(gpu), 9: args.residual ?? gpu.dummy,
  };
  if (entry) {
    record(gpu, plan, {
      shader: shaders.vec4[args.bFormat ?? 'f32'],
      entry,
      bindings,
      workgroups: [Math.ceil(N / VEC4_TILE), Math.ceil(M / VEC4_TILE)],
      label,
      cost: matmulCost(args),
    });
    return;
  }
  const tiled = { shader: shaders.tiled[args.bFormat ?? 'f32'][compute], entry: 'matmul', constants: { TRANS_A: !!args.transA, TRANS_B: !!args.transB } };
  if (!split) {
    record(gpu, plan, { ...tiled, bindings, workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE)], label, cost: matmulCost(args) });
    return;
  }
  const partials = { buffer: deviceScratch(gpu, 'matmul.splitk_partials', split.bytes), offset: 0, size: split.bytes };
  const cost = matmulCost(args);
  // The partial products write [splits, M, N] instead of C; the reduction reads them and does C's traffic.
  record(gpu, plan, {
    ...tiled, bindings: { ...bindings, 3: partials }, workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE), split.splits],
    label, cost: { kernel: 'matmul', flops: 2 * M * N * K, bytes: (M * K + M * N * split.splits) * WORD + N * K * B_BYTES[args.bFormat ?? 'f32'] },
  });
  const { 1: _a, 2: _b, ...epilogueBindings } = bindings;
  record(gpu, plan, {
    shader: splitkShader, entry: 'splitk_reduce', bindings: { ...epilogueBindings, 1: partials },
    workgroups: grid(Math.ceil((M * Math.ceil(N / 4)) / 64)), label: `${label}.splitk_reduce`,
    cost: { kernel: 'matmul.splitk_reduce', flops: M * N * (split.splits - 1) + (cost.flops - 2 * M * N * K),
      bytes: M * N * split.splits * WORD + (cost.bytes - (M * K) * WORD - N * K * B_BYTES[args.bFormat ?? 'f32']) },
  });
}

// Which kernel the matmul takes for a shape on a GPU, without a device: the thin-shape rules of src/gpu/kernels/matmul.ts
// (32x32 tiles or K split across workgroups where 64x64 tiles would leave a large GPU idle) and the size of split-K's
// partials, which live in a device scratch buffer; the memory estimate counts that buffer from here.

/** Output tile of the tiled kernel, its K slice, and the vec4 kernel's tile. */
export const TILE = 64;
export const TILE_K = 16;
export const VEC4_TILE = 32;
/**
 * Workgroups that fill a large GPU: an H100's 132 SMs. A product of more than THIN_FLOPS in fewer 64x64 tiles runs in
 * the vec4 kernel's 32x32 tiles when that fills it and K is short, else with K split across workgroups.
 */
export const FILL_WORKGROUPS = 132;
const THIN_FLOPS = 1e6;
/** The vec4 kernel reads its operands without staging them: for thin shapes only up to this K. */
const VEC4_MAX_K = 4096;
/** Split-K aims at four workgroups per SM of that GPU, enough to hide memory latency. */
const SPLIT_TARGET = 4 * FILL_WORKGROUPS;
const WORD = 4;

/** The vec4 entry point for this layout and shape, or null when its multiple-of-4 conditions fail. */
export function vec4Entry(M: number, N: number, K: number, transA: boolean, transB: boolean): string | null {
  if (!transA && transB) return K % 4 === 0 ? 'matmul_nt' : null;
  if (!transA && !transB) return K % 4 === 0 && N % 4 === 0 ? 'matmul_nn' : null;
  if (transA && !transB) return M % 4 === 0 && N % 4 === 0 ? 'matmul_tn' : null;
  return null;
}

/**
 * A GPU's choice for a product of the tiled kernel (f32, kernel 'auto'): null where 64x64 tiles fill it or the product
 * is small; 'vec4' where 32x32 tiles do and K is short; else the splits of K wanted.
 */
export function thinChoice(M: number, N: number, K: number, transA: boolean, transB: boolean, compute: 'f32' | 'f16'): null | 'vec4' | { splits: number } {
  const tiles = Math.ceil(N / TILE) * Math.ceil(M / TILE);
  if (tiles >= FILL_WORKGROUPS || 2 * M * N * K <= THIN_FLOPS) return null;
  const vec4Tiles = Math.ceil(N / VEC4_TILE) * Math.ceil(M / VEC4_TILE);
  if (compute === 'f32' && K <= VEC4_MAX_K && vec4Tiles >= FILL_WORKGROUPS && vec4Entry(M, N, K, transA, transB)) return 'vec4';
  return { splits: Math.ceil(SPLIT_TARGET / tiles) };
}

/** The K length of each split (whole tile slices) and the splits that gives, at most `wanted` and within one binding. */
export function splitOf(maxBinding: number, M: number, N: number, K: number, wanted: number): { kSplit: number; splits: number; bytes: number } | null {
  const maxSplits = Math.floor(maxBinding / (M * N * WORD));
  const target = Math.min(wanted, maxSplits, Math.ceil(K / TILE_K));
  if (target <= 1) return null;
  const kSplit = Math.ceil(Math.ceil(K / target) / TILE_K) * TILE_K;
  const splits = Math.ceil(K / kSplit);
  return splits > 1 ? { kSplit, splits, bytes: splits * M * N * WORD } : null;
}

/** Bytes of split-K partials a GPU's matmul of this shape needs (f32, kernel 'auto'), 0 when it does not split K. */
export function splitKScratchBytes(maxBinding: number, M: number, N: number, K: number, transA = false, transB = false): number {
  const choice = thinChoice(M, N, K, transA, transB, 'f32');
  if (choice === null || choice === 'vec4') return 0;
  return splitOf(maxBinding, M, N, K, choice.splits)?.bytes ?? 0;
}

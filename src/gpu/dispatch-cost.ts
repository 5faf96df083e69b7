// What one recorded dispatch costs: its kernel class, the floating-point operations it does and the bytes it must move.
// Every kernel module states this where it records the dispatch (record.ts refuses a dispatch without it), so the plan
// profiler (src/gpu/plan-profile.ts) totals a step's work from its plan, without running it. Conventions, so that a
// kernel changed or added later counts the same way:
// - flops: useful arithmetic: a multiply-add is 2, an exp or a division 1; index arithmetic, masked lanes and the
//   causal half of attention that is skipped count nothing. Small epilogue terms (bias, alpha, beta) are left out.
// - bytes: compulsory traffic: every operand element read once plus every element written once (an operand updated in
//   place counts twice), at its stored width; re-reads are assumed to hit in cache.

export interface DispatchCost {
  /** Kernel class the profiler groups by, e.g. 'matmul', 'attention.fwd', 'rmsnorm.fwd'. */
  kernel: string;
  flops: number;
  bytes: number;
}

/** Bytes of one f32 / u32 / i32 element. */
export const WORD = 4;

/** Throws unless `cost` is a usable annotation: a named class and finite, non-negative counts. */
export function checkCost(label: string, cost: DispatchCost | undefined): DispatchCost {
  if (!cost || typeof cost.kernel !== 'string' || cost.kernel === '') throw new Error(`${label}: the dispatch has no cost annotation (kernel class, flops, bytes)`);
  for (const k of ['flops', 'bytes'] as const) {
    const v = cost[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${label}: cost.${k} must be a finite non-negative number, got ${v}`);
  }
  return cost;
}

/**
 * A per-element kernel over n elements: `flopsEach` operations per element, `wordsRead` and `wordsWritten` f32 words
 * moved per element, plus `extraBytes` of other operands (tables, parameters).
 */
export function elementwiseCost(kernel: string, n: number, flopsEach: number, wordsRead: number, wordsWritten: number, extraBytes = 0): DispatchCost {
  return { kernel, flops: n * flopsEach, bytes: n * (wordsRead + wordsWritten) * WORD + extraBytes };
}

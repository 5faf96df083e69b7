// The per-token pieces of a decoder layer as ONNX nodes: RMSNorm, a linear projection and the SiLU-gated MLP.
import type { GraphBuilder } from './graph-builder.ts';

/**
 * y = x · r · w with r = 1 / sqrt(mean(x²) + eps) over the last axis, eps inside the root
 * (src/ref/ops.ts rmsnormForward, transformers' LlamaRMSNorm).
 */
export function rmsNorm(g: GraphBuilder, x: string, weight: string, eps: number, name: string): string {
  const squared = g.op('Mul', [x, x], `${name}.sq`);
  const meanSquare = g.op('ReduceMean', [squared], `${name}.mean_sq`, { axes: [-1], keepdims: 1 });
  const shifted = g.op('Add', [meanSquare, g.floatScalar(eps, `${name}.eps`)], `${name}.mean_sq_eps`);
  const rstd = g.op('Reciprocal', [g.op('Sqrt', [shifted], `${name}.rms`)], `${name}.rstd`);
  return g.op('Mul', [g.op('Mul', [x, rstd], `${name}.normed`), weight], name);
}

/**
 * y = x Wᵀ (+ b) for x [N, in]. Gemm with transB keeps W in its Hugging Face [out, in] layout, so a tied
 * output head reads the embedding table itself.
 */
export function linear(g: GraphBuilder, x: string, weight: string, bias: string | null, name: string): string {
  return g.op('Gemm', bias === null ? [x, weight] : [x, weight, bias], name, { transB: 1 });
}

/** silu(gate) · up, silu(g) = g · sigmoid(g) (src/ref/ops.ts swigluForward). */
export function swiglu(g: GraphBuilder, gate: string, up: string, name: string): string {
  const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate], `${name}.sigmoid`)], `${name}.silu`);
  return g.op('Mul', [silu, up], name);
}

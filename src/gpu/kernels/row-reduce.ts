// The workgroup reductions of the row kernels (RMSNorm, cross-entropy, distillation, the AdamW norm,
// SAPT's LayerNorm and softmax): each kernel's module is built in two variants, one prepended with
// shaders/row_reduce_subgroup.wgsl (subgroup operations, one barrier per reduction) and one with
// shaders/row_reduce_tree.wgsl (a shared-memory tree), and a device runs the subgroup variant when it
// has the `subgroups` feature (Gpu.useSubgroups).
import treeSource from '../../../shaders/row_reduce_tree.wgsl';
import subgroupSource from '../../../shaders/row_reduce_subgroup.wgsl';
import type { Gpu, ShaderSource } from '../context.ts';

export interface RowReduceShaders {
  tree: ShaderSource;
  subgroup: ShaderSource;
}

/**
 * The two variants of a kernel whose module is `parts` joined in order. The reduction snippet goes
 * first: WGSL wants the subgroup variant's `enable subgroups;` before any declaration.
 */
export function rowReduceShaders(name: string, ...parts: string[]): RowReduceShaders {
  const body = parts.join('\n');
  return {
    tree: { name, code: `${treeSource}\n${body}` },
    subgroup: { name: `${name}+subgroups`, code: `${subgroupSource}\n${body}` },
  };
}

/** The variant `gpu` runs now. */
export function rowReduceShader(gpu: Gpu, shaders: RowReduceShaders): ShaderSource {
  return gpu.useSubgroups ? shaders.subgroup : shaders.tree;
}

/**
 * Invocations per workgroup of the kernels that reduce one row per workgroup with a width chosen per
 * device (cross-entropy, distillation, the AdamW norm): 256 on GPUs; 32 on software adapters, where
 * every invocation of a workgroup is a coroutine switched at each barrier (cross-entropy over 4096
 * logits runs 6x faster there with 32 on the tree path). Must be a power of two.
 */
export function rowReductionWidth(gpu: Gpu): number {
  return gpu.adapter.isSoftware ? 32 : 256;
}

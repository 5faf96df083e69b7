// Workgroup-wide reductions through a shared-memory tree: the path for devices without the
// `subgroups` feature. Prepended to a kernel by src/gpu/kernels/row-reduce.ts, which prepends
// shaders/row_reduce_subgroup.wgsl instead where the device has subgroups; both define the same
// functions, so a kernel is written once against them.
//
//   row_sum(lid, v, slot) -> sum of v over the workgroup (f32)
//   row_max(lid, v, slot) -> max of v over the workgroup (f32)
//   row_sum2, row_max2    -> the same, component-wise, for vec2f
//
// Contract (both paths):
// - The kernel declares RED_WG (const or override): its workgroup width, a power of two; lid is
//   local_invocation_index.
// - Every invocation of the workgroup calls, in uniform control flow, and receives the result.
// - `slot` (0 or 1) picks one half of the scratch arrays; consecutive reductions in a kernel must use
//   different slots. The next reduction then writes the other half, and can only reach its next use of
//   this half after a barrier every invocation passes once done reading this one, so no reduction needs
//   a trailing barrier.
//
// Here: log2(RED_WG) + 1 barriers per reduction.

var<workgroup> tree_f32: array<f32, 2u * RED_WG>;
var<workgroup> tree_vec2: array<vec2f, 2u * RED_WG>;

fn tree_reduce(lid: u32, v: f32, is_max: bool, slot: u32) -> f32 {
  let o = slot * RED_WG;
  tree_f32[o + lid] = v;
  workgroupBarrier();
  for (var s = RED_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = tree_f32[o + lid];
      let b = tree_f32[o + lid + s];
      tree_f32[o + lid] = select(a + b, max(a, b), is_max);
    }
    workgroupBarrier();
  }
  return tree_f32[o];
}

fn tree_reduce2(lid: u32, v: vec2f, is_max: bool, slot: u32) -> vec2f {
  let o = slot * RED_WG;
  tree_vec2[o + lid] = v;
  workgroupBarrier();
  for (var s = RED_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = tree_vec2[o + lid];
      let b = tree_vec2[o + lid + s];
      tree_vec2[o + lid] = select(a + b, max(a, b), is_max);
    }
    workgroupBarrier();
  }
  return tree_vec2[o];
}

fn row_sum(lid: u32, v: f32, slot: u32) -> f32 { return tree_reduce(lid, v, false, slot); }
fn row_max(lid: u32, v: f32, slot: u32) -> f32 { return tree_reduce(lid, v, true, slot); }
fn row_sum2(lid: u32, v: vec2f, slot: u32) -> vec2f { return tree_reduce2(lid, v, false, slot); }
fn row_max2(lid: u32, v: vec2f, slot: u32) -> vec2f { return tree_reduce2(lid, v, true, slot); }

enable subgroups;

// Workgroup-wide reductions with subgroup operations: the path for devices with the `subgroups`
// feature (src/gpu/kernels/row-reduce.ts prepends this file, or shaders/row_reduce_tree.wgsl where
// the device lacks it; the `enable` above must open the module). The functions and their contract
// are those of row_reduce_tree.wgsl:
//
//   row_sum(lid, v, slot), row_max(lid, v, slot), row_sum2 and row_max2 (vec2f, component-wise)
//   RED_WG declared by the kernel; every invocation calls in uniform control flow and gets the
//   result; consecutive reductions alternate `slot` (0 or 1).
//
// Each subgroup reduces its values with subgroupAdd / subgroupMax, the subgroups' results meet in
// workgroup memory (one barrier), and each subgroup then reduces those with the same operations.
// Nothing assumes a subgroup size (devices report 4 to 128, and it may exceed RED_WG), that a
// subgroup is a run of consecutive local indices (Vulkan, D3D12 and Metal leave that mapping open),
// or that every lane of a subgroup is active:
// - a subgroup's result goes to the slot of its own first active invocation (subgroupElect) and every
//   other invocation writes the identity to its own slot, so the RED_WG slots need no clearing and no
//   subgroup index is needed (the num_subgroups and subgroup_id builtins belong to a WGSL extension
//   that devices may lack, and lid / subgroup_size is only an index where subgroups are consecutive);
// - the active lanes count themselves (subgroupAdd(1)) and number themselves (subgroupExclusiveAdd(1))
//   to read the slots with a stride of the lane count: RED_WG / subgroup size reads per invocation.
//   The subgroup_size and subgroup_invocation_id builtins would do where subgroups are full, but a
//   partly filled subgroup (a workgroup narrower than the subgroup, or a driver without full
//   subgroups) counts its inactive lanes in subgroup_size.
// With full subgroups (the usual case) every invocation gets the same bits; a partially filled
// subgroup sums in another order and may differ from the others in the last bit.
//
// Here: one barrier per reduction.

var<workgroup> sg_f32: array<f32, 2u * RED_WG>;
var<workgroup> sg_vec2: array<vec2f, 2u * RED_WG>;

const SG_NEG_BIG = -3.4e38;

fn row_sum(lid: u32, v: f32, slot: u32) -> f32 {
  let o = slot * RED_WG;
  let total = subgroupAdd(v);
  sg_f32[o + lid] = select(0.0, total, subgroupElect());
  workgroupBarrier();
  let lane = subgroupExclusiveAdd(1u);
  let lanes = subgroupAdd(1u);
  var acc = 0.0;
  for (var k = lane; k < RED_WG; k += lanes) { acc += sg_f32[o + k]; }
  return subgroupAdd(acc);
}

// max is idempotent: every invocation stores its subgroup's maximum, with no election.
fn row_max(lid: u32, v: f32, slot: u32) -> f32 {
  let o = slot * RED_WG;
  sg_f32[o + lid] = subgroupMax(v);
  workgroupBarrier();
  let lane = subgroupExclusiveAdd(1u);
  let lanes = subgroupAdd(1u);
  var acc = SG_NEG_BIG;
  for (var k = lane; k < RED_WG; k += lanes) { acc = max(acc, sg_f32[o + k]); }
  return subgroupMax(acc);
}

fn row_sum2(lid: u32, v: vec2f, slot: u32) -> vec2f {
  let o = slot * RED_WG;
  let total = subgroupAdd(v);
  sg_vec2[o + lid] = select(vec2f(0.0), total, subgroupElect());
  workgroupBarrier();
  let lane = subgroupExclusiveAdd(1u);
  let lanes = subgroupAdd(1u);
  var acc = vec2f(0.0);
  for (var k = lane; k < RED_WG; k += lanes) { acc += sg_vec2[o + k]; }
  return subgroupAdd(acc);
}

fn row_max2(lid: u32, v: vec2f, slot: u32) -> vec2f {
  let o = slot * RED_WG;
  sg_vec2[o + lid] = subgroupMax(v);
  workgroupBarrier();
  let lane = subgroupExclusiveAdd(1u);
  let lanes = subgroupAdd(1u);
  var acc = vec2f(SG_NEG_BIG);
  for (var k = lane; k < RED_WG; k += lanes) { acc = max(acc, sg_vec2[o + k]); }
  return subgroupMax(acc);
}

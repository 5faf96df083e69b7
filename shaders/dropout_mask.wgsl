// LoRA input dropout's mask, prepended by the kernel modules that apply it (elementwise.wgsl's dropout passes, the
// thin matmul's operand loads in matmul_thin.wgsl, the matmul epilogue's input-gradient update): element i of a
// site's [tokens, in] input is kept with probability 1 - p_drop, as a counter-based hash of (i, step seed, site salt),
// so every kernel that needs the mask regenerates it instead of storing it. Mirrored by dropoutScale in src/ref/ops.ts.

fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

/** 0 where element i is dropped, 1 / (1 - p_drop) where it is kept. */
fn dropout_keep_scale(i: u32, seed: u32, salt: u32, p_drop: f32) -> f32 {
  let u = f32(pcg(i ^ pcg(seed ^ pcg(salt))) >> 8u) / 16777216.0;
  if (u < p_drop) { return 0.0; }
  return 1.0 / (1.0 - p_drop);
}

// The per-step uniform block, prepended by the kernel modules to the shaders that read it
// (elementwise.wgsl, cross_entropy.wgsl, adamw.wgsl). Its layout mirrors src/gpu/step-params.ts.

struct Step {
  inv_count: f32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  step_size: f32,
  bc2_sqrt: f32,
  max_norm: f32,
  seed: u32,
  _pad0: u32,
  _pad1: u32,
}

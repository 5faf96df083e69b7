// Small elementwise kernels: the residual add and LoRA input dropout (forward, and backward that
// accumulates into the input gradient).
//
//   add:                  out = a + b
//   accumulate:           dx += b
//   scale_in_place:       dx *= factor   (the p_drop field carries the factor)
//   dropout_forward:      y = x * keep(i) / (1 - p_drop)
//   dropout_backward_add: dx += dy * keep(i) / (1 - p_drop)
// keep(i) is a counter-based hash of (element index, step seed, site salt) (shaders/dropout_mask.wgsl), so the
// backward pass regenerates the forward mask instead of storing it.
//
// Entry points: add (bindings 0,2,3,4), accumulate (0,3,5), scale_in_place (0,5), dropout_forward (0,1,2,4),
// dropout_backward_add (0,1,3,5).
// Binding 1 is the per-step uniform block (shaders/step.wgsl and shaders/dropout_mask.wgsl are prepended by the
// kernel module).

const WG = 64u;

struct Params { n: u32, salt: u32, p_drop: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

fn keep_scale(i: u32) -> f32 {
  return dropout_keep_scale(i, step.seed, p.salt, p.p_drop);
}

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  out[i] = a[i] + b[i];
}

@compute @workgroup_size(WG)
fn accumulate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dx[i] += b[i];
}

@compute @workgroup_size(WG)
fn scale_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dx[i] *= p.p_drop;
}

@compute @workgroup_size(WG)
fn dropout_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  out[i] = a[i] * keep_scale(i);
}

@compute @workgroup_size(WG)
fn dropout_backward_add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dx[i] += b[i] * keep_scale(i);
}

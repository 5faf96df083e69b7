// RMSNorm over the last dimension, forward and backward.
//
//   forward:  y = x * r * (w + w_offset),  r = 1 / sqrt(mean(x^2) + eps), r saved per row
//   backward: dx (+)= r * (g - x * r^2 * mean(g * x)),  g = dy * (w + w_offset)   (w is frozen: no dw)
// w_offset is 0 for Llama-style norms and 1 for Gemma's, which scale by (1 + w) (the f32 arithmetic transformers'
// Gemma RMSNorm uses too).
//
// Entry points: rmsnorm_forward (bindings 0..4), rmsnorm_backward (bindings 0,1,2,4,5,6).
// One 64-wide workgroup per row; rows beyond 65535 spill into the y dimension of the grid. The row
// sum (row_sum) comes from the reduction snippet the host prepends: subgroup operations where the
// device has them (row_reduce_subgroup.wgsl), a shared-memory tree otherwise (row_reduce_tree.wgsl).

const RED_WG = 64u;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  accumulate: u32,
  w_offset: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(RED_WG)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3u,
                   @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var ss = 0.0;
  for (var c = lid; c < p.cols; c += RED_WG) { let v = x[base + c]; ss = fma(v, v, ss); }
  let r = inverseSqrt(row_sum(lid, ss, 0u) / f32(p.cols) + p.eps);
  for (var c = lid; c < p.cols; c += RED_WG) { y[base + c] = x[base + c] * r * (w[c] + p.w_offset); }
  if (lid == 0u) { rstd[row] = r; }
}

@compute @workgroup_size(RED_WG)
fn rmsnorm_backward(@builtin(workgroup_id) wid: vec3u,
                    @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  let r = rstd[row];
  var dot = 0.0;
  for (var c = lid; c < p.cols; c += RED_WG) { dot = fma(dy[base + c] * (w[c] + p.w_offset), x[base + c], dot); }
  let k = row_sum(lid, dot, 0u) * r * r / f32(p.cols);
  for (var c = lid; c < p.cols; c += RED_WG) {
    let g = r * (dy[base + c] * (w[c] + p.w_offset) - x[base + c] * k);
    if (p.accumulate != 0u) { dx[base + c] += g; } else { dx[base + c] = g; }
  }
}

// Continual-learning regularizer kernels: the EWC penalty gradient with its Fisher accumulation, the
// elementwise |.| of O-LoRA's orthogonality loss (forward sum beside its sign backward), and the
// gradient of O-LoRA's L2 term, a sum of per-tensor Euclidean norms.
//
//   ewc_grad:          grads[i] += scale * fisher[i] * (params[i] - anchor[i])   (scale = lambda)
//                      (gradient of (lambda/2) * sum_i F_i (theta_i - theta*_i)^2)
//   fisher_accumulate: fisher[i] += scale * grads[i]^2                         (scale = weight)
//   abs_sum:           abs_sum[0] += sum_i |x[i]|       (forward of sum |x|; one workgroup)
//   abs_grad:          out[i] = sign(x[i]), 0 at 0      (backward of sum |x|)
//   abs_grad_in_place: out[i] = sign(out[i])
//   l2_norm_grad:      for each segment s = (offset, count) of params, one workgroup:
//                      norm = sqrt(sum params[off..off+count)^2); when norm > 0,
//                      grads[i] += scale * params[i] / norm   (gradient of scale * sum_s ||theta_s||_2)
//
// Entry points and bindings: ewc_grad 0,1,2,3,4   fisher_accumulate 0,5,6
//                            abs_sum 0,7,9   abs_grad 0,7,8   abs_grad_in_place 0,8
//                            l2_norm_grad 0,1,4,10 (p.n = number of segments)
// Elementwise entries run one invocation per element over a grid flattened over x and y.

const WG = 64u;
const RED_WG = 256u;

struct Params { n: u32, scale: f32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> anchor: array<f32>;
@group(0) @binding(3) var<storage, read> fisher_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> grads_acc: array<f32>;
@group(0) @binding(5) var<storage, read> grads_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> fisher_acc: array<f32>;
@group(0) @binding(7) var<storage, read> x: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;
@group(0) @binding(9) var<storage, read_write> abs_total: array<f32>;
@group(0) @binding(10) var<storage, read> segments: array<vec2u>;

var<workgroup> red: array<f32, RED_WG>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * WG; }

fn reduce_red(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var k = RED_WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) { red[lid] += red[lid + k]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn ewc_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  grads_acc[i] = fma(p.scale * fisher_in[i], params[i] - anchor[i], grads_acc[i]);
}

@compute @workgroup_size(WG)
fn fisher_accumulate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let g = grads_in[i];
  fisher_acc[i] = fma(p.scale * g, g, fisher_acc[i]);
}

@compute @workgroup_size(RED_WG)
fn abs_sum(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.n; i += RED_WG) { s += abs(x[i]); }
  let total = reduce_red(lid, s);
  if (lid == 0u) { abs_total[0] += total; }
}

@compute @workgroup_size(RED_WG)
fn l2_norm_grad(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let seg = segments[wid.x];
  var s = 0.0;
  for (var i = lid; i < seg.y; i += RED_WG) { let v = params[seg.x + i]; s = fma(v, v, s); }
  let norm = sqrt(reduce_red(lid, s));
  if (norm == 0.0) { return; }
  let k = p.scale / norm;
  for (var i = lid; i < seg.y; i += RED_WG) { grads_acc[seg.x + i] = fma(k, params[seg.x + i], grads_acc[seg.x + i]); }
}

@compute @workgroup_size(WG)
fn abs_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = sign(x[i]);
}

@compute @workgroup_size(WG)
fn abs_grad_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = sign(out[i]);
}

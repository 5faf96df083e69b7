// AdamW with global-norm gradient clipping over one flat parameter buffer, entirely on the GPU.
// A trainable mask restricts clipping and the update to the parameters being trained: 0 freezes an
// element (earlier tasks' LoRA blocks, earlier keys: neither decayed nor moved); a positive value
// trains it with its learning rate scaled by that value (1 for most, more for a parameter group
// with its own rate, like SAPT's router projector).
//
//   grad_sumsq:    partials[w] = sum of g^2 over the trained elements workgroup w strides over
//   grad_clip:     norm = sqrt(sum partials); clip[0] = norm;
//                  clip[1] = min(1, max_norm / (norm + 1e-6)) when max_norm > 0, else 1
//                  (torch.nn.utils.clip_grad_norm_)
//   adamw_update:  (only where mask > 0) g = grad * clip[1], s = mask
//                  p *= 1 - s lr * wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//                  p -= s step_size * m / (sqrt(v) / bc2_sqrt + eps)   (torch.optim.AdamW, lr s·lr)
// step_size = lr / (1 - b1^t) and bc2_sqrt = sqrt(1 - b2^t) come from the per-step uniform block,
// so nothing is read back to the CPU.
//
// Entry points: grad_sumsq (bindings 0,3,6,8), grad_clip (bindings 1,6,7),
// adamw_update (bindings 0,1,2,3,4,5,7,8).
// The two norm reductions sum with row_sum from the reduction snippet the host prepends: subgroup
// operations where the device has them (row_reduce_subgroup.wgsl), a shared-memory tree otherwise
// (row_reduce_tree.wgsl).

override RED_WG: u32 = 256u; // the reductions' width: the host passes rowReductionWidth
const UPDATE_WG = 256u;       // the update's width: the host sizes its grid with it
const PARTIALS = 256u;

struct Params { n: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> params: array<f32>;
@group(0) @binding(3) var<storage, read> grads: array<f32>;
@group(0) @binding(4) var<storage, read_write> m1: array<f32>;
@group(0) @binding(5) var<storage, read_write> m2: array<f32>;
@group(0) @binding(6) var<storage, read_write> partials: array<f32>;
@group(0) @binding(7) var<storage, read_write> clip: array<f32>;
@group(0) @binding(8) var<storage, read> mask: array<f32>;

@compute @workgroup_size(RED_WG)
fn grad_sumsq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = wid.x * RED_WG + lid; i < p.n; i += PARTIALS * RED_WG) { let g = select(0.0, grads[i], mask[i] != 0.0); s = fma(g, g, s); }
  s = row_sum(lid, s, 0u);
  if (lid == 0u) { partials[wid.x] = s; }
}

@compute @workgroup_size(RED_WG)
fn grad_clip(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < PARTIALS; i += RED_WG) { s += partials[i]; }
  s = row_sum(lid, s, 0u);
  if (lid == 0u) {
    let norm = sqrt(s);
    var scale = 1.0;
    if (step.max_norm > 0.0) { scale = min(1.0, step.max_norm / (norm + 1e-6)); }
    clip[0] = norm;
    clip[1] = scale;
  }
}

@compute @workgroup_size(UPDATE_WG)
fn adamw_update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * UPDATE_WG;
  if (i >= p.n || mask[i] == 0.0) { return; }
  let scale = mask[i];
  let g = grads[i] * clip[1];
  var w = params[i] * (1.0 - scale * step.lr * step.weight_decay);
  let m = step.beta1 * m1[i] + (1.0 - step.beta1) * g;
  let v = step.beta2 * m2[i] + (1.0 - step.beta2) * g * g;
  m1[i] = m;
  m2[i] = v;
  w -= scale * step.step_size * m / (sqrt(v) / step.bc2_sqrt + step.eps);
  params[i] = w;
}

// LwF knowledge distillation on the logits: the temperature-scaled KL(teacher || student) per row
// (forward) and its gradient with respect to the student logits (backward), in one pass per row.
//
// Per row n with target t_n >= 0, T = temperature, w = weight:
//   p_s = softmax(student_n / T), p_t = softmax(teacher_n / T)      (max-subtracted, stable)
//   row_loss[n] = w * T^2 * sum_c p_t (log p_t - log p_s) * inv_count   (if WRITE_LOSS)
//   teacher_n  <- w * T * (p_s - p_t) * inv_count                       (in place: d row_loss / d student_n)
// Rows with t_n < 0 (ignored) get teacher_n <- 0 and row_loss[n] = 0. inv_count comes from the
// per-step uniform block (shaders/step.wgsl, prepended by the kernel module), as for cross-entropy.
//
// Entry point: distill (bindings 0,1,2,3,4,5). One workgroup per row loops over the vocabulary, so
// a row of any length (150k and more) is handled; the grid is flattened over x and y.
// Each invocation reads and then overwrites only its own strided columns of the teacher row.

override WG: u32 = 256u;

override WRITE_LOSS: bool = true;

struct Params { rows: u32, vocab: u32, inv_temp: f32, temp: f32, weight: f32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> student: array<f32>;
@group(0) @binding(3) var<storage, read_write> teacher: array<f32>;
@group(0) @binding(4) var<storage, read> targets: array<i32>;
@group(0) @binding(5) var<storage, read_write> row_loss: array<f32>;

var<workgroup> red: array<vec2f, WG>;

// Workgroup reduction of a pair (student, teacher): component-wise max or sum.
fn reduce2(lid: u32, v: vec2f, is_max: bool) -> vec2f {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      if (is_max) { red[lid] = max(red[lid], red[lid + s]); } else { red[lid] += red[lid + s]; }
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn distill(@builtin(workgroup_id) wid: vec3u,
           @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.vocab;
  if (targets[row] < 0) {
    for (var c = lid; c < p.vocab; c += WG) { teacher[base + c] = 0.0; }
    if (WRITE_LOSS && lid == 0u) { row_loss[row] = 0.0; }
    return;
  }
  // Row maxima of the scaled logits.
  var m = vec2f(-3.4e38);
  for (var c = lid; c < p.vocab; c += WG) {
    m = max(m, vec2f(student[base + c], teacher[base + c]) * p.inv_temp);
  }
  m = reduce2(lid, m, true);
  // Partition functions.
  var z = vec2f(0.0);
  for (var c = lid; c < p.vocab; c += WG) {
    z += exp(vec2f(student[base + c], teacher[base + c]) * p.inv_temp - m);
  }
  z = reduce2(lid, z, false);
  // log p = x / T - (m + log z); KL terms and the gradient, column by column.
  let lse = m + log(z);
  let g_scale = p.weight * p.temp * step.inv_count;
  var kl = 0.0;
  for (var c = lid; c < p.vocab; c += WG) {
    let lp = vec2f(student[base + c], teacher[base + c]) * p.inv_temp - lse;
    let pr = exp(lp);
    kl = fma(pr.y, lp.y - lp.x, kl);
    teacher[base + c] = g_scale * (pr.x - pr.y);
  }
  if (WRITE_LOSS) {
    kl = reduce2(lid, vec2f(kl, 0.0), false).x;
    if (lid == 0u) { row_loss[row] = p.weight * p.temp * p.temp * kl * step.inv_count; }
  }
}

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
// Entry point: distill (bindings 0,1,2,3,4,5). One RED_WG-wide workgroup per row (the host picks the
// width) loops over the vocabulary, so a row of any length (150k and more) is handled; the grid is
// flattened over x and y. Each invocation reads and then overwrites only its own strided columns of
// the teacher row. The (student, teacher) maxima and sums and the KL sum (row_max2, row_sum2,
// row_sum) come from the reduction snippet the host prepends: subgroup operations where the device
// has them (row_reduce_subgroup.wgsl), a shared-memory tree otherwise (row_reduce_tree.wgsl).

override RED_WG: u32 = 256u;

override WRITE_LOSS: bool = true;

struct Params { rows: u32, vocab: u32, inv_temp: f32, temp: f32, weight: f32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> student: array<f32>;
@group(0) @binding(3) var<storage, read_write> teacher: array<f32>;
@group(0) @binding(4) var<storage, read> targets: array<i32>;
@group(0) @binding(5) var<storage, read_write> row_loss: array<f32>;

@compute @workgroup_size(RED_WG)
fn distill(@builtin(workgroup_id) wid: vec3u,
           @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.vocab;
  if (targets[row] < 0) {
    for (var c = lid; c < p.vocab; c += RED_WG) { teacher[base + c] = 0.0; }
    if (WRITE_LOSS && lid == 0u) { row_loss[row] = 0.0; }
    return;
  }
  // Row maxima of the scaled logits.
  var m = vec2f(-3.4e38);
  for (var c = lid; c < p.vocab; c += RED_WG) {
    m = max(m, vec2f(student[base + c], teacher[base + c]) * p.inv_temp);
  }
  m = row_max2(lid, m, 0u);
  // Partition functions.
  var z = vec2f(0.0);
  for (var c = lid; c < p.vocab; c += RED_WG) {
    z += exp(vec2f(student[base + c], teacher[base + c]) * p.inv_temp - m);
  }
  z = row_sum2(lid, z, 1u);
  // log p = x / T - (m + log z); KL terms and the gradient, column by column.
  let lse = m + log(z);
  let g_scale = p.weight * p.temp * step.inv_count;
  var kl = 0.0;
  for (var c = lid; c < p.vocab; c += RED_WG) {
    let lp = vec2f(student[base + c], teacher[base + c]) * p.inv_temp - lse;
    let pr = exp(lp);
    kl = fma(pr.y, lp.y - lp.x, kl);
    teacher[base + c] = g_scale * (pr.x - pr.y);
  }
  if (WRITE_LOSS) {
    kl = row_sum(lid, kl, 0u);
    if (lid == 0u) { row_loss[row] = p.weight * p.temp * p.temp * kl * step.inv_count; }
  }
}

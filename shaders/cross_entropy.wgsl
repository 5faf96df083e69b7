// Softmax cross-entropy over the vocabulary with ignore-index masking, and the mean loss.
//
//   cross_entropy: per row n with target t_n >= 0:
//                    loss_n = logsumexp(logits_n) - logits_n[t_n]
//                    if WRITE_GRAD: logits_n <- (softmax(logits_n) - onehot(t_n)) * inv_count  (in place)
//                  rows with t_n < 0 (ignored) get loss 0 and, with WRITE_GRAD, a zero gradient.
//   loss_mean:     loss = inv_count * sum_n loss_n   (one workgroup)
// inv_count = 1 / (number of counted targets) comes from the per-step uniform block, so the mean
// is over counted tokens, as PyTorch's cross_entropy(ignore_index=-100) computes it.
//
// Entry points: cross_entropy (bindings 0,1,2,3,4), loss_mean (bindings 0,1,4,5).
// One RED_WG-wide workgroup per row (the host picks the width). The row max and sum (row_max,
// row_sum) come from the reduction snippet the host prepends: subgroup operations where the device
// has them (row_reduce_subgroup.wgsl), a shared-memory tree otherwise (row_reduce_tree.wgsl).
// The invocation that owns the target's column reads logits_n[t_n] and writes loss_n, so no other
// invocation's gradient store can overwrite the logit first and no barrier is needed for it.

override RED_WG: u32 = 256u;

override WRITE_GRAD: bool = true;

struct Params { rows: u32, vocab: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<i32>;
@group(0) @binding(4) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;

@compute @workgroup_size(RED_WG)
fn cross_entropy(@builtin(workgroup_id) wid: vec3u,
                 @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.vocab;
  let t = targets[row];
  var m = -3.4e38;
  for (var c = lid; c < p.vocab; c += RED_WG) { m = max(m, logits[base + c]); }
  m = row_max(lid, m, 0u);
  var s = 0.0;
  for (var c = lid; c < p.vocab; c += RED_WG) { s += exp(logits[base + c] - m); }
  s = row_sum(lid, s, 1u);
  if (t < 0) {
    if (lid == 0u) { row_loss[row] = 0.0; }
  } else if (lid == u32(t) % RED_WG) {
    row_loss[row] = log(s) + m - logits[base + u32(t)];
  }
  if (WRITE_GRAD) {
    let scale = step.inv_count;
    let inv_s = 1.0 / s;
    for (var c = lid; c < p.vocab; c += RED_WG) {
      var g = 0.0;
      if (t >= 0) {
        g = exp(logits[base + c] - m) * inv_s;
        if (c == u32(t)) { g -= 1.0; }
        g *= scale;
      }
      logits[base + c] = g;
    }
  }
}

@compute @workgroup_size(RED_WG)
fn loss_mean(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var r = lid; r < p.rows; r += RED_WG) { s += row_loss[r]; }
  s = row_sum(lid, s, 0u);
  if (lid == 0u) { loss[0] = s * step.inv_count; }
}

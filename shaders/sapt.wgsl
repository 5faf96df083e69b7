// SAPT's attentive selection: masked max or mean pooling of the prompt's token embeddings, the query
// projector's SiLU + LayerNorm, and the softmax over block scores with the ARM KL term, forward and
// backward side by side.
//
//   masked_max_pool:          out[b,c] = max over t with mask[b*seq+t] != 0 of x[b*seq+t, c]; 0 when none
//   masked_mean_pool:         out[b,c] = mean over the same t; 0 when none
//                             (no backward for either: the embeddings are frozen)
//   silu_layernorm_forward:   a = silu(h), mean = Σa/cols, rstd = 1/sqrt(Σ(a-mean)²/cols + eps)
//                             y = (a - mean) * rstd * gamma + beta; mean and rstd saved per row
//   silu_layernorm_backward:  xhat = (a - mean) * rstd, g = dy * gamma
//                             dh = rstd * (g - mean(g) - xhat * mean(g * xhat)) * silu'(h)      (overwrite)
//   silu_layernorm_params_backward: dgamma[c] = Σ_rows dy * xhat, dbeta[c] = Σ_rows dy         (overwrite)
//   softmax_rows:             y = softmax(x) per row
//   softmax_rows_backward:    dx = y * (dy - Σ y*dy) + kl_scale * (y - target)                   (overwrite)
//                             kl[row] = kl_scale * Σ target * (log target - log y), 0 log 0 = 0
//
// Entry points and bindings (binding 0 is the shared parameter block):
//   masked_max_pool                 0,1,2,3         one invocation per (example, column)
//   masked_mean_pool                0,1,2,3         one invocation per (example, column)
//   silu_layernorm_forward          0,4,5,6,7,8,9   one workgroup per row
//   silu_layernorm_backward         0,4,5,10,11,12,13  one workgroup per row
//   silu_layernorm_params_backward  0,4,10,11,12,14,15  one invocation per column, looping over rows
//   softmax_rows                    0,20,21         one workgroup per row
//   softmax_rows_backward           0,22,23,24,25,26  one workgroup per row
// Workgroup indices beyond 65535 spill into the y dimension of the grid.
//
// The per-element and per-column entry points are WG wide. The per-row ones are RED_WG wide (the host
// passes 256 for the LayerNorm, 64 for the softmax) and take their row sums and maxima (row_sum,
// row_max, row_sum2) from the reduction snippet the host prepends: subgroup operations where the
// device has them (row_reduce_subgroup.wgsl), a shared-memory tree otherwise (row_reduce_tree.wgsl).

const WG = 64u;
override RED_WG: u32 = 64u;

const HAS_DY = 1u;
const HAS_TARGET = 2u;
const HAS_KL = 4u;

struct Params {
  rows: u32,  // examples for the pool
  cols: u32,
  seq: u32,
  flags: u32,
  eps: f32,
  kl_scale: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> pool_x: array<f32>;
@group(0) @binding(2) var<storage, read> pool_mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> pool_out: array<f32>;

@group(0) @binding(4) var<storage, read> ln_h: array<f32>;
@group(0) @binding(5) var<storage, read> ln_gamma: array<f32>;
@group(0) @binding(6) var<storage, read> ln_beta: array<f32>;
@group(0) @binding(7) var<storage, read_write> ln_y: array<f32>;
@group(0) @binding(8) var<storage, read_write> ln_mean_out: array<f32>;
@group(0) @binding(9) var<storage, read_write> ln_rstd_out: array<f32>;
@group(0) @binding(10) var<storage, read> ln_mean: array<f32>;
@group(0) @binding(11) var<storage, read> ln_rstd: array<f32>;
@group(0) @binding(12) var<storage, read> ln_dy: array<f32>;
@group(0) @binding(13) var<storage, read_write> ln_dh: array<f32>;
@group(0) @binding(14) var<storage, read_write> ln_dgamma: array<f32>;
@group(0) @binding(15) var<storage, read_write> ln_dbeta: array<f32>;

@group(0) @binding(20) var<storage, read> sm_x: array<f32>;
@group(0) @binding(21) var<storage, read_write> sm_y_out: array<f32>;
@group(0) @binding(22) var<storage, read> sm_y: array<f32>;
@group(0) @binding(23) var<storage, read> sm_dy: array<f32>;
@group(0) @binding(24) var<storage, read> sm_target: array<f32>;
@group(0) @binding(25) var<storage, read_write> sm_dx: array<f32>;
@group(0) @binding(26) var<storage, read_write> sm_kl: array<f32>;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
fn silu(v: f32) -> f32 { return v * sigmoid(v); }

// ---------------------------------------------------------------------------------------------
// Masked max and mean pooling over the sequence (forward only)

@compute @workgroup_size(WG)
fn masked_max_pool(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.rows * p.cols) { return; }
  let b = idx / p.cols;
  let c = idx - b * p.cols;
  var m = 0.0;
  var found = false;
  for (var t = 0u; t < p.seq; t++) {
    let n = b * p.seq + t;
    if (pool_mask[n] != 0u) {
      let v = pool_x[n * p.cols + c];
      if (!found || v > m) { m = v; }
      found = true;
    }
  }
  pool_out[idx] = m;
}

@compute @workgroup_size(WG)
fn masked_mean_pool(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.rows * p.cols) { return; }
  let b = idx / p.cols;
  let c = idx - b * p.cols;
  var sum = 0.0;
  var count = 0u;
  for (var t = 0u; t < p.seq; t++) {
    let n = b * p.seq + t;
    if (pool_mask[n] != 0u) {
      sum += pool_x[n * p.cols + c];
      count++;
    }
  }
  pool_out[idx] = select(0.0, sum / f32(count), count > 0u);
}

// ---------------------------------------------------------------------------------------------
// LayerNorm(SiLU(h)) * gamma + beta

@compute @workgroup_size(RED_WG)
fn silu_layernorm_forward(@builtin(workgroup_id) wid: vec3u,
                          @builtin(num_workgroups) nwg: vec3u,
                          @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  let inv_cols = 1.0 / f32(p.cols);
  var s = 0.0;
  for (var c = lid; c < p.cols; c += RED_WG) { s += silu(ln_h[base + c]); }
  let mean = row_sum(lid, s, 0u) * inv_cols;
  var ss = 0.0;
  for (var c = lid; c < p.cols; c += RED_WG) { let d = silu(ln_h[base + c]) - mean; ss = fma(d, d, ss); }
  let rstd = inverseSqrt(row_sum(lid, ss, 1u) * inv_cols + p.eps);
  for (var c = lid; c < p.cols; c += RED_WG) {
    ln_y[base + c] = (silu(ln_h[base + c]) - mean) * rstd * ln_gamma[c] + ln_beta[c];
  }
  if (lid == 0u) {
    ln_mean_out[row] = mean;
    ln_rstd_out[row] = rstd;
  }
}

@compute @workgroup_size(RED_WG)
fn silu_layernorm_backward(@builtin(workgroup_id) wid: vec3u,
                           @builtin(num_workgroups) nwg: vec3u,
                           @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  let mean = ln_mean[row];
  let rstd = ln_rstd[row];
  var acc = vec2f(0.0);  // (Σ g, Σ g * xhat)
  for (var c = lid; c < p.cols; c += RED_WG) {
    let g = ln_dy[base + c] * ln_gamma[c];
    let xhat = (silu(ln_h[base + c]) - mean) * rstd;
    acc += vec2f(g, g * xhat);
  }
  let sums = row_sum2(lid, acc, 0u) / f32(p.cols);
  for (var c = lid; c < p.cols; c += RED_WG) {
    let h = ln_h[base + c];
    let sg = sigmoid(h);
    let xhat = (h * sg - mean) * rstd;
    let da = rstd * (ln_dy[base + c] * ln_gamma[c] - sums.x - xhat * sums.y);
    ln_dh[base + c] = da * sg * (1.0 + h * (1.0 - sg));
  }
}

@compute @workgroup_size(WG)
fn silu_layernorm_params_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.cols) { return; }
  var dg = 0.0;
  var db = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let i = r * p.cols + c;
    let d = ln_dy[i];
    dg = fma(d, (silu(ln_h[i]) - ln_mean[r]) * ln_rstd[r], dg);
    db += d;
  }
  ln_dgamma[c] = dg;
  ln_dbeta[c] = db;
}

// ---------------------------------------------------------------------------------------------
// Row softmax and its backward with the KL(target || softmax) term

@compute @workgroup_size(RED_WG)
fn softmax_rows(@builtin(workgroup_id) wid: vec3u,
                @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var m = -3.4e38;
  for (var c = lid; c < p.cols; c += RED_WG) { m = max(m, sm_x[base + c]); }
  m = row_max(lid, m, 0u);
  var s = 0.0;
  for (var c = lid; c < p.cols; c += RED_WG) { s += exp(sm_x[base + c] - m); }
  let inv = 1.0 / row_sum(lid, s, 1u);
  for (var c = lid; c < p.cols; c += RED_WG) { sm_y_out[base + c] = exp(sm_x[base + c] - m) * inv; }
}

@compute @workgroup_size(RED_WG)
fn softmax_rows_backward(@builtin(workgroup_id) wid: vec3u,
                         @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  let has_dy = (p.flags & HAS_DY) != 0u;
  let has_target = (p.flags & HAS_TARGET) != 0u;
  var acc = vec2f(0.0);  // (Σ y * dy, Σ target * (log target - log y))
  for (var c = lid; c < p.cols; c += RED_WG) {
    let yv = sm_y[base + c];
    if (has_dy) { acc.x = fma(yv, sm_dy[base + c], acc.x); }
    if (has_target) {
      let t = sm_target[base + c];
      if (t > 0.0) { acc.y += t * (log(t) - log(yv)); }
    }
  }
  let sums = row_sum2(lid, acc, 0u);
  for (var c = lid; c < p.cols; c += RED_WG) {
    let yv = sm_y[base + c];
    var g = 0.0;
    if (has_dy) { g = yv * (sm_dy[base + c] - sums.x); }
    if (has_target) { g = fma(p.kl_scale, yv - sm_target[base + c], g); }
    sm_dx[base + c] = g;
  }
  if (lid == 0u && (p.flags & HAS_KL) != 0u) { sm_kl[row] = p.kl_scale * sums.y; }
}

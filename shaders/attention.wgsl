// Causal multi-head attention with grouped-query / multi-query heads, forward and backward.
//
// Layouts: q, dq, out, d_out are [B*T, Hq*D]; k, v, dk, dv are [B*T, Hkv*D]; probs and dscores are
// [B, Hq, T, T]. Query head h reads key/value head h / (Hq / Hkv).
//
//   forward:  S = scale * q kᵀ (causal)  ->  P = softmax(S)  ->  out = P v
//   backward: dv = Pᵀ d_out (summed over the heads of a group)
//             dP = d_out vᵀ  ->  dS = scale * P * (dP - rowsum(P * dP))
//             dq = dS k,  dk = dSᵀ q (summed over the heads of a group)
//
// Entry points and the bindings each uses:
//   attn_scores 0,1,2,4   attn_softmax 0,4   attn_pv 0,3,4,5
//   attn_dv 0,4,6,10      attn_dp 0,3,6,7    attn_dsoftmax 0,4,7   attn_dq 0,2,7,8   attn_dk 0,1,7,9
// Every entry is one invocation per output element (or per row for the softmaxes); the grid is
// flattened over x and y so it may exceed 65535 workgroups in x.

const WG = 64u;

struct Params {
  batch: u32,
  seq: u32,
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  scale: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> d_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> dscores: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<f32>;
@group(0) @binding(9) var<storage, read_write> dk: array<f32>;
@group(0) @binding(10) var<storage, read_write> dv: array<f32>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * WG; }
fn group_size() -> u32 { return p.heads / p.kv_heads; }
// Offset of head h of token (b, t) in a [B*T, H*D] tensor.
fn q_at(b: u32, t: u32, h: u32) -> u32 { return ((b * p.seq + t) * p.heads + h) * p.head_dim; }
fn kv_at(b: u32, t: u32, h: u32) -> u32 { return ((b * p.seq + t) * p.kv_heads + h) * p.head_dim; }
// Offset of row i of (b, h) in a [B, Hq, T, T] tensor.
fn row_at(b: u32, h: u32, i: u32) -> u32 { return ((b * p.heads + h) * p.seq + i) * p.seq; }

@compute @workgroup_size(WG)
fn attn_scores(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  let T = p.seq;
  if (idx >= p.batch * p.heads * T * T) { return; }
  let j = idx % T;
  let i = (idx / T) % T;
  let bh = idx / (T * T);
  let h = bh % p.heads;
  let b = bh / p.heads;
  var s = 0.0;
  if (j <= i) {
    let qo = q_at(b, i, h);
    let ko = kv_at(b, j, h / group_size());
    for (var d = 0u; d < p.head_dim; d++) { s = fma(q[qo + d], k[ko + d], s); }
    s *= p.scale;
  }
  probs[idx] = s;
}

@compute @workgroup_size(WG)
fn attn_softmax(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat(gid, nwg);
  let T = p.seq;
  if (row >= p.batch * p.heads * T) { return; }
  let i = row % T;
  let base = row * T;
  var m = probs[base];
  for (var j = 1u; j <= i; j++) { m = max(m, probs[base + j]); }
  var sum = 0.0;
  for (var j = 0u; j <= i; j++) {
    let e = exp(probs[base + j] - m);
    probs[base + j] = e;
    sum += e;
  }
  let inv = 1.0 / sum;
  for (var j = 0u; j < T; j++) {
    if (j <= i) { probs[base + j] *= inv; } else { probs[base + j] = 0.0; }
  }
}

@compute @workgroup_size(WG)
fn attn_pv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  let D = p.head_dim;
  if (idx >= p.batch * p.seq * p.heads * D) { return; }
  let d = idx % D;
  let h = (idx / D) % p.heads;
  let bt = idx / (D * p.heads);
  let i = bt % p.seq;
  let b = bt / p.seq;
  let kvh = h / group_size();
  let prow = row_at(b, h, i);
  var acc = 0.0;
  for (var j = 0u; j <= i; j++) { acc = fma(probs[prow + j], v[kv_at(b, j, kvh) + d], acc); }
  out[idx] = acc;
}

@compute @workgroup_size(WG)
fn attn_dv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  let D = p.head_dim;
  if (idx >= p.batch * p.seq * p.kv_heads * D) { return; }
  let d = idx % D;
  let kvh = (idx / D) % p.kv_heads;
  let bt = idx / (D * p.kv_heads);
  let j = bt % p.seq;
  let b = bt / p.seq;
  let g = group_size();
  var acc = 0.0;
  for (var h = kvh * g; h < (kvh + 1u) * g; h++) {
    for (var i = j; i < p.seq; i++) {
      acc = fma(probs[row_at(b, h, i) + j], d_out[q_at(b, i, h) + d], acc);
    }
  }
  dv[idx] = acc;
}

@compute @workgroup_size(WG)
fn attn_dp(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  let T = p.seq;
  if (idx >= p.batch * p.heads * T * T) { return; }
  let j = idx % T;
  let i = (idx / T) % T;
  let bh = idx / (T * T);
  let h = bh % p.heads;
  let b = bh / p.heads;
  var s = 0.0;
  if (j <= i) {
    let oo = q_at(b, i, h);
    let vo = kv_at(b, j, h / group_size());
    for (var d = 0u; d < p.head_dim; d++) { s = fma(d_out[oo + d], v[vo + d], s); }
  }
  dscores[idx] = s;
}

@compute @workgroup_size(WG)
fn attn_dsoftmax(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat(gid, nwg);
  let T = p.seq;
  if (row >= p.batch * p.heads * T) { return; }
  let i = row % T;
  let base = row * T;
  var dot = 0.0;
  for (var j = 0u; j <= i; j++) { dot = fma(probs[base + j], dscores[base + j], dot); }
  for (var j = 0u; j <= i; j++) {
    dscores[base + j] = p.scale * probs[base + j] * (dscores[base + j] - dot);
  }
}

@compute @workgroup_size(WG)
fn attn_dq(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  let D = p.head_dim;
  if (idx >= p.batch * p.seq * p.heads * D) { return; }
  let d = idx % D;
  let h = (idx / D) % p.heads;
  let bt = idx / (D * p.heads);
  let i = bt % p.seq;
  let b = bt / p.seq;
  let kvh = h / group_size();
  let srow = row_at(b, h, i);
  var acc = 0.0;
  for (var j = 0u; j <= i; j++) { acc = fma(dscores[srow + j], k[kv_at(b, j, kvh) + d], acc); }
  dq[idx] = acc;
}

@compute @workgroup_size(WG)
fn attn_dk(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  let D = p.head_dim;
  if (idx >= p.batch * p.seq * p.kv_heads * D) { return; }
  let d = idx % D;
  let kvh = (idx / D) % p.kv_heads;
  let bt = idx / (D * p.kv_heads);
  let j = bt % p.seq;
  let b = bt / p.seq;
  let g = group_size();
  var acc = 0.0;
  for (var h = kvh * g; h < (kvh + 1u) * g; h++) {
    for (var i = j; i < p.seq; i++) {
      acc = fma(dscores[row_at(b, h, i) + j], q[q_at(b, i, h) + d], acc);
    }
  }
  dk[idx] = acc;
}

// KV-cache decoding: appending one token's keys/values to the cache, and attention of one new query
// per sequence over the cached positions with a streaming (online) softmax. Inference only: no backward.
//
//   kv_cache_write: cache[(b*max_seq + pos[b]) * dim + c] = src[b*dim + c]   (skipped when pos[b] >= max_seq)
//   attn_decode:    for query head h of sequence b, kv head g = h / (Hq / Hkv), L = min(pos[b], max_seq - 1):
//                     s_j = scale * q[b,h,:] . k_cache[b,j,g,:]   for j = F..L, F = 0, or with a sliding window W
//                     F = max(0, L - W + 1) (the cache positions before F are not read)
//                     out[b,h,:] = sum_j softmax(s)_j v_cache[b,j,g,:]
// Layouts: q, out [B, Hq*D]; k_cache, v_cache [B, max_seq, Hkv*D]; pos u32 [B]; src [B, dim].
//
// attn_decode runs one workgroup per (b, h); the grid is flattened over x and y. Positions are
// taken in chunks of WG: invocation i scores position j0 + i, the chunk's max and exp-sum are
// reduced in workgroup memory, and invocation d rescales its running output columns d and d + WG
// (those below D) by exp(m_old - m_new) and adds the chunk's weighted values. D must be <= 2 * WG
// (Gemma 3's head_dim is 256).
//
// Entry points and bindings: kv_cache_write 0,1,2,3   attn_decode 0,3,4,5,6,7

const WG = 128u;
const WRITE_WG = 64u;

struct Params {
  batch: u32,
  max_seq: u32,
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  dim: u32,
  scale: f32,
  window: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> cache: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<u32>;
@group(0) @binding(4) var<storage, read> q: array<f32>;
@group(0) @binding(5) var<storage, read> k_cache: array<f32>;
@group(0) @binding(6) var<storage, read> v_cache: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

var<workgroup> q_s: array<f32, 2 * WG>;
var<workgroup> w_s: array<f32, WG>;
var<workgroup> red: array<f32, WG>;
var<workgroup> last_pos: u32;

@compute @workgroup_size(WRITE_WG)
fn kv_cache_write(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WRITE_WG;
  if (idx >= p.batch * p.dim) { return; }
  let b = idx / p.dim;
  let c = idx % p.dim;
  let t = pos[b];
  if (t >= p.max_seq) { return; }
  cache[(b * p.max_seq + t) * p.dim + c] = src[idx];
}

fn reduce(lid: u32, v: f32, is_max: bool) -> f32 {
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
fn attn_decode(@builtin(workgroup_id) wid: vec3u,
               @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let bh = wid.x + wid.y * nwg.x;
  if (bh >= p.batch * p.heads) { return; }
  let b = bh / p.heads;
  let h = bh % p.heads;
  let D = p.head_dim;
  let g = h / (p.heads / p.kv_heads);
  let row_stride = p.kv_heads * D;
  let kv_base = b * p.max_seq * row_stride + g * D;
  let q_base = (b * p.heads + h) * D;
  if (lid < D) { q_s[lid] = q[q_base + lid]; }
  if (lid + WG < D) { q_s[lid + WG] = q[q_base + lid + WG]; }
  if (lid == 0u) { last_pos = min(pos[b], p.max_seq - 1u); }
  let L = workgroupUniformLoad(&last_pos);

  var m = -3.4e38;
  var l = 0.0;
  var acc = 0.0;
  var acc_hi = 0.0; // column lid + WG
  let first = select(0u, L + 1u - p.window, p.window != 0u && L + 1u > p.window);
  for (var j0 = first; j0 <= L; j0 += WG) {
    let j = j0 + lid;
    var s = -3.4e38;
    if (j <= L) {
      let ko = kv_base + j * row_stride;
      var dot = 0.0;
      for (var d = 0u; d < D; d++) { dot = fma(q_s[d], k_cache[ko + d], dot); }
      s = dot * p.scale;
    }
    let m_new = max(m, reduce(lid, s, true));
    var e = 0.0;
    if (j <= L) { e = exp(s - m_new); }
    w_s[lid] = e;
    let correction = exp(m - m_new);
    l = l * correction + reduce(lid, e, false);
    m = m_new;
    // reduce() ended with a barrier, so every weight of the chunk is visible in w_s.
    if (lid < D) {
      acc *= correction;
      let n = min(WG, L + 1u - j0);
      for (var i = 0u; i < n; i++) {
        acc = fma(w_s[i], v_cache[kv_base + (j0 + i) * row_stride + lid], acc);
      }
    }
    if (lid + WG < D) {
      acc_hi *= correction;
      let n = min(WG, L + 1u - j0);
      for (var i = 0u; i < n; i++) {
        acc_hi = fma(w_s[i], v_cache[kv_base + (j0 + i) * row_stride + lid + WG], acc_hi);
      }
    }
    workgroupBarrier();
  }
  if (lid < D) { out[q_base + lid] = acc / l; }
  if (lid + WG < D) { out[q_base + lid + WG] = acc_hi / l; }
}

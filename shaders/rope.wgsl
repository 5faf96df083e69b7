// Rotary position embedding in the Hugging Face rotate-half convention, in place, forward and backward.
//
// For head h of token n at position pos, and i < D/2, with (c, s) = (cos, sin)(pos * inv_freq[i]):
//   forward:  x[i] <- x[i] c - x[i+D/2] s,   x[i+D/2] <- x[i+D/2] c + x[i] s
//   backward: the transpose, i.e. the same rotation with s negated.
// cos/sin come from tables [positions, D/2] computed on the CPU in f64 (so any rope scaling works).
//
// Entry points: rope_forward, rope_backward. Bindings: 0 Params, 1 x (read_write), 2 positions (u32),
// 3 cos table, 4 sin table.

const WG = 64u;

struct Params {
  tokens: u32,
  heads: u32,
  head_dim: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> cos_table: array<f32>;
@group(0) @binding(4) var<storage, read> sin_table: array<f32>;

fn rotate(idx: u32, sign: f32) {
  let half = p.head_dim / 2u;
  if (idx >= p.tokens * p.heads * half) { return; }
  let i = idx % half;
  let nh = idx / half;
  let n = nh / p.heads;
  let base = nh * p.head_dim;
  let t = positions[n] * half + i;
  let c = cos_table[t];
  let s = sign * sin_table[t];
  let a = x[base + i];
  let b = x[base + i + half];
  x[base + i] = a * c - b * s;
  x[base + i + half] = b * c + a * s;
}

@compute @workgroup_size(WG)
fn rope_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  rotate(gid.x + gid.y * nwg.x * WG, 1.0);
}

@compute @workgroup_size(WG)
fn rope_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  rotate(gid.x + gid.y * nwg.x * WG, -1.0);
}

// Operand access for flash_attention.wgsl at any head dimension: q, k, v, out, d_out and the
// gradients as f32 arrays, read and written four columns at a time. Columns col..col+3 of the row
// at offset o (o = row * HEAD_DIM); lanes past HEAD_DIM read as 0 without touching memory and are
// not stored.

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> d_out: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<f32>;
@group(0) @binding(9) var<storage, read_write> dk: array<f32>;
@group(0) @binding(10) var<storage, read_write> dv: array<f32>;

fn lanes(col: u32) -> vec4<bool> { return vec4u(col) + vec4u(0u, 1u, 2u, 3u) < vec4u(HEAD_DIM); }
// Element indices of the four lanes; lanes past HEAD_DIM point at o, which exists.
fn idx4(o: u32, col: u32) -> vec4u { return select(vec4u(o), vec4u(o + col) + vec4u(0u, 1u, 2u, 3u), lanes(col)); }

fn load_q(o: u32, col: u32) -> vec4f { let i = idx4(o, col); return select(vec4f(0.0), vec4f(q[i.x], q[i.y], q[i.z], q[i.w]), lanes(col)); }
fn load_k(o: u32, col: u32) -> vec4f { let i = idx4(o, col); return select(vec4f(0.0), vec4f(k[i.x], k[i.y], k[i.z], k[i.w]), lanes(col)); }
fn load_v(o: u32, col: u32) -> vec4f { let i = idx4(o, col); return select(vec4f(0.0), vec4f(v[i.x], v[i.y], v[i.z], v[i.w]), lanes(col)); }
fn load_out(o: u32, col: u32) -> vec4f { let i = idx4(o, col); return select(vec4f(0.0), vec4f(out[i.x], out[i.y], out[i.z], out[i.w]), lanes(col)); }
fn load_do(o: u32, col: u32) -> vec4f { let i = idx4(o, col); return select(vec4f(0.0), vec4f(d_out[i.x], d_out[i.y], d_out[i.z], d_out[i.w]), lanes(col)); }

fn store_out(o: u32, col: u32, x: vec4f) {
  for (var e = 0u; e < 4u; e++) { if (col + e < HEAD_DIM) { out[o + col + e] = x[e]; } }
}
fn store_dq(o: u32, col: u32, x: vec4f) {
  for (var e = 0u; e < 4u; e++) { if (col + e < HEAD_DIM) { dq[o + col + e] = x[e]; } }
}
fn store_dk(o: u32, col: u32, x: vec4f) {
  for (var e = 0u; e < 4u; e++) { if (col + e < HEAD_DIM) { dk[o + col + e] = x[e]; } }
}
fn store_dv(o: u32, col: u32, x: vec4f) {
  for (var e = 0u; e < 4u; e++) { if (col + e < HEAD_DIM) { dv[o + col + e] = x[e]; } }
}

// Operand access for flash_attention.wgsl when HEAD_DIM is a multiple of 4 (every model so far):
// q, k, v, out, d_out and the gradients as vec4 arrays, so four columns are one load or store.
// Columns col..col+3 of the row at offset o (o = row * HEAD_DIM and col are multiples of 4).

@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> k: array<vec4f>;
@group(0) @binding(3) var<storage, read> v: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(6) var<storage, read> d_out: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> dq: array<vec4f>;
@group(0) @binding(9) var<storage, read_write> dk: array<vec4f>;
@group(0) @binding(10) var<storage, read_write> dv: array<vec4f>;

fn load_q(o: u32, col: u32) -> vec4f { return q[(o + col) / 4u]; }
fn load_k(o: u32, col: u32) -> vec4f { return k[(o + col) / 4u]; }
fn load_v(o: u32, col: u32) -> vec4f { return v[(o + col) / 4u]; }
fn load_out(o: u32, col: u32) -> vec4f { return out[(o + col) / 4u]; }
fn load_do(o: u32, col: u32) -> vec4f { return d_out[(o + col) / 4u]; }

fn store_out(o: u32, col: u32, x: vec4f) { out[(o + col) / 4u] = x; }
fn store_dq(o: u32, col: u32, x: vec4f) { dq[(o + col) / 4u] = x; }
fn store_dk(o: u32, col: u32, x: vec4f) { dk[(o + col) / 4u] = x; }
fn store_dv(o: u32, col: u32, x: vec4f) { dv[(o + col) / 4u] = x; }

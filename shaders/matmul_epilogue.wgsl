// Shared by the matmul kernels (prepended to shaders/matmul.wgsl and shaders/matmul_vec4.wgsl): the
// parameters, the output and bias bindings, and the epilogue that writes C = alpha * acc (+ bias) (+ beta * C).
// Bindings: 0 uniform Params, 3 C (read_write), 4 bias; each kernel declares A (1) and B (2) itself.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  has_bias: u32,
  alpha: f32,
  beta: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

/** Writes up to four columns n0.. of row gm, applying alpha, bias and beta; rows and columns past C are skipped. */
fn store_row(gm: u32, n0: u32, v: vec4f) {
  if (gm >= p.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let gn = n0 + j;
    if (gn >= p.N) { return; }
    var x = p.alpha * v[j];
    if (p.has_bias != 0u) { x += bias[gn]; }
    let idx = gm * p.N + gn;
    if (p.beta != 0.0) { x += p.beta * C[idx]; }
    C[idx] = x;
  }
}

/** Writes the 4x4 block of C at rows m0..m0+3, columns n0..n0+3 (one vec4 per row). */
fn store_block(m0: u32, n0: u32, c0: vec4f, c1: vec4f, c2: vec4f, c3: vec4f) {
  store_row(m0, n0, c0);
  store_row(m0 + 1u, n0, c1);
  store_row(m0 + 2u, n0, c2);
  store_row(m0 + 3u, n0, c3);
}

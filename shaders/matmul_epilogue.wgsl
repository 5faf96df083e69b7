// Shared by the matmul kernels (prepended to shaders/matmul.wgsl and shaders/matmul_vec4.wgsl): the
// parameters, the output, bias and LoRA bindings, and the epilogue that writes
//
//   C = alpha * acc (+ bias) (+ beta * C) (+ lora) (+ R)
//
// where lora is a projection's low-rank update, fused so that it costs no extra pass over C:
//   out-major, one block:  lora[m,n] = scale * Σ_i u[m,i] * L[n,i]             (L = B [N, r])
//   out-major, J blocks:   lora[m,n] = Σ_j Σ_i L[j,n,i] * (scale * mix[m/seq, j]) * u[m, j*r+i]   (L = B [J, N, r])
//   k-major:               lora[m,n] = scale * keep(m*N + n) * Σ_k u[m,k] * L[k,n]   (L = A [R, N]: the input gradient)
// u is [M, J*r] (or [M, R]). The sums run in the order of the separate passes they replace: the vec4
// matmul's dot products of four for one block, the mixing kernel's fma chain for J blocks. keep() is LoRA input
// dropout's mask of the site (shaders/dropout_mask.wgsl, prepended with shaders/step.wgsl), 1 without dropout: the
// input gradient of the dropped-out input passes through the mask, in the epilogue instead of a pass of its own.
// Segments (a fused projection such as q/k/v or gate/up, whose weights are stacked into one B):
//   seg_out > 0: output columns [n0, n0 + width) of segment s go to their own [M, width] block of C at element off
//                (so each projection's output is a compact matrix the next kernels read as before), with that
//                projection's LoRA update (u at u_off, L at l_off; lora 0 when the projection has none);
//   seg_k > 0:   op(A)'s columns [n0, n0 + width) are a [M, width] block of A at element off (an input gradient over
//                the fused projections' separate output gradients), and the k-major update is the sum over segments
//                of each projection's du · A, each through its own dropout mask (salt).
// R is a residual stream added last (a projection whose output joins the residual: o_proj, down_proj), so the sum is
// written once instead of by an add pass of its own; it rounds as that pass did (R + the projection's output).
// Bindings: 0 uniform Params, 3 C (read_write), 4 bias, 5 u, 6 L, 7 mix, 8 uniform Step (the dropout seed), 9 R; each
// kernel declares A (1) and B (2) itself.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  has_bias: u32,
  alpha: f32,
  beta: f32,
  /** 0: no LoRA term; else the rank r of a block (out-major) or R (k-major). */
  lora_rank: u32,
  lora_blocks: u32,
  lora_seq: u32,
  lora_kmajor: u32,
  lora_scale: f32,
  /** k-major only: the site's dropout salt and probability (0: no dropout). */
  lora_salt: u32,
  lora_drop: f32,
  /** Split-K: 0, or the K length of each split (a multiple of the tile depth); see shaders/matmul_splitk.wgsl. */
  k_split: u32,
  /** 1: add R[m, n] to every element last. */
  residual: u32,
  _pad2: u32,
  /** Segments of the output columns, or of K (at most one of the two is non-zero; see the header). */
  seg_out: u32,
  seg_k: u32,
  _pad3: u32,
  _pad4: u32,
  seg: array<Segment, 3>,
}

struct Segment {
  n0: u32,
  width: u32,
  off: u32,
  lora: u32,
  u_off: u32,
  l_off: u32,
  salt: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> lora_u: array<f32>;
@group(0) @binding(6) var<storage, read> lora_l: array<f32>;
@group(0) @binding(7) var<storage, read> lora_mix: array<f32>;
@group(0) @binding(8) var<uniform> step: Step;
@group(0) @binding(9) var<storage, read> resid: array<f32>;

fn u4(i: u32) -> vec4f {
  return vec4f(lora_u[i], lora_u[i + 1u], lora_u[i + 2u], lora_u[i + 3u]);
}

fn l4(i: u32) -> vec4f {
  return vec4f(lora_l[i], lora_l[i + 1u], lora_l[i + 2u], lora_l[i + 3u]);
}

/**
 * x plus the out-major LoRA update of column n of a [M, width] output, with u at element u_off of lora_u and L at
 * l_off of lora_l.
 */
fn add_lora_out(x: f32, gm: u32, n: u32, width: u32, u_off: u32, l_off: u32) -> f32 {
  let r = p.lora_rank;
  if (p.lora_blocks == 1u) {
    var acc = 0.0;
    if (r % 4u == 0u) {
      for (var i = 0u; i < r; i += 4u) { acc += dot(u4(u_off + gm * r + i), l4(l_off + n * r + i)); }
    } else {
      for (var i = 0u; i < r; i++) { acc = fma(lora_u[u_off + gm * r + i], lora_l[l_off + n * r + i], acc); }
    }
    return p.lora_scale * acc + x;
  }
  let jr = p.lora_blocks * r;
  let example = gm / p.lora_seq;
  var acc = 0.0;
  for (var j = 0u; j < p.lora_blocks; j++) {
    let w = p.lora_scale * lora_mix[example * p.lora_blocks + j];
    let lrow = l_off + (j * width + n) * r;
    for (var i = 0u; i < r; i++) { acc = fma(lora_l[lrow + i], w * lora_u[u_off + gm * jr + j * r + i], acc); }
  }
  return x + acc;
}

/** x plus the k-major update of C[gm, gn] from u at u_off and L at l_off, through the dropout mask of `salt`. */
fn add_lora_k(x: f32, gm: u32, gn: u32, u_off: u32, l_off: u32, salt: u32) -> f32 {
  let r = p.lora_rank;
  var acc = 0.0;
  for (var k = 0u; k < r; k++) { acc = fma(lora_u[u_off + gm * r + k], lora_l[l_off + k * p.N + gn], acc); }
  if (p.lora_drop > 0.0) { return p.lora_scale * dropout_keep_scale(gm * p.N + gn, step.seed, salt, p.lora_drop) * acc + x; }
  return p.lora_scale * acc + x;
}

/** x plus the LoRA update of C[gm, gn]. */
fn add_lora(x: f32, gm: u32, gn: u32) -> f32 {
  if (p.lora_kmajor != 0u) { return add_lora_k(x, gm, gn, 0u, 0u, p.lora_salt); }
  return add_lora_out(x, gm, gn, p.N, 0u, 0u);
}

/** The segment holding column (or K index) i: the last whose n0 is at most i. */
fn segment_of(count: u32, i: u32) -> u32 {
  var s = 0u;
  for (var t = 1u; t < count; t++) { if (i >= p.seg[t].n0) { s = t; } }
  return s;
}

/** Writes up to four columns n0.. of row gm, applying alpha, bias, beta, the LoRA update and the residual; rows and columns past C are skipped. */
fn store_row(gm: u32, n0: u32, v: vec4f) {
  if (gm >= p.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let gn = n0 + j;
    if (gn >= p.N) { return; }
    var x = p.alpha * v[j];
    if (p.has_bias != 0u) { x += bias[gn]; }
    var idx = gm * p.N + gn;
    if (p.seg_out != 0u) {
      let sg = p.seg[segment_of(p.seg_out, gn)];
      idx = sg.off + gm * sg.width + (gn - sg.n0);
      if (p.beta != 0.0) { x += p.beta * C[idx]; }
      if (sg.lora != 0u) { x = add_lora_out(x, gm, gn - sg.n0, sg.width, sg.u_off, sg.l_off); }
      C[idx] = x;
      continue;
    }
    if (p.beta != 0.0) { x += p.beta * C[idx]; }
    if (p.seg_k != 0u) {
      for (var t = 0u; t < p.seg_k; t++) {
        let sg = p.seg[t];
        if (sg.lora != 0u) { x = add_lora_k(x, gm, gn, sg.u_off, sg.l_off, sg.salt); }
      }
    } else if (p.lora_rank != 0u) {
      x = add_lora(x, gm, gn);
    }
    if (p.residual != 0u) { x = resid[idx] + x; }
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

/**
 * Split-K: writes the raw 4x4 block of split z's partial sums to C, which is bound to the [splits, M, N] partials;
 * the reduction (shaders/matmul_splitk.wgsl) applies the epilogue.
 */
fn store_partial_block(z: u32, m0: u32, n0: u32, c0: vec4f, c1: vec4f, c2: vec4f, c3: vec4f) {
  var rows = array<vec4f, 4>(c0, c1, c2, c3);
  for (var i = 0u; i < 4u; i++) {
    let gm = m0 + i;
    if (gm >= p.M) { return; }
    for (var j = 0u; j < 4u; j++) {
      let gn = n0 + j;
      if (gn >= p.N) { break; }
      C[(z * p.M + gm) * p.N + gn] = rows[i][j];
    }
  }
}

// f32 matrix multiply without workgroup memory: every invocation computes a 4x4 block of C in four
// vec4 accumulators from vec4 loads of A and B straight from storage. Same contract as matmul.wgsl:
//
//   C[M,N] = alpha * op(A) op(B) (+ bias[n]) (+ beta * C)
//
// Used where workgroup barriers are expensive and caches are large (software adapters such as
// SwiftShader, where it runs several times faster than the tiled kernel). One entry point per layout,
// each needing its contiguous dimensions to be multiples of 4 (checked by the host):
//   matmul_nt: A [M,K], B [N,K] (x Wᵀ)            K % 4 == 0
//   matmul_nn: A [M,K], B [K,N] (dy W)            K % 4 == 0, N % 4 == 0 (A may come in segments of K: see matmul_epilogue.wgsl)
//   matmul_tn: A [K,M], B [K,N] (dyᵀ x, weight grads)  M % 4 == 0, N % 4 == 0
// Bindings: 0 uniform Params, 1 A, 2 B, 3 C (read_write), 4 bias, 5-9 (Params, C, bias and the store functions
// come from matmul_epilogue.wgsl; B and its reader load_b4 from a section of matmul_b_formats.wgsl: f32 as
// vec4s, or packed f16 / bf16 weights). An 8x8 workgroup covers 32x32 of C.

@group(0) @binding(1) var<storage, read> A: array<vec4f>;

/** Offsets (in vec4s) of rows m0..m0+3 of a [rows, K] matrix; rows past the end repeat the last row (never stored). */
fn row_offsets(m0: u32, rows: u32, K4: u32) -> vec4u {
  return vec4u(min(m0, rows - 1u), min(m0 + 1u, rows - 1u), min(m0 + 2u, rows - 1u), min(m0 + 3u, rows - 1u)) * K4;
}

@compute @workgroup_size(8, 8)
fn matmul_nt(@builtin(global_invocation_id) g: vec3u) {
  let m0 = g.y * 4u;
  let n0 = g.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let K4 = p.K / 4u;
  let a = row_offsets(m0, p.M, K4);
  let b = row_offsets(n0, p.N, K4);
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var k = 0u; k < K4; k++) {
    let x0 = A[a.x + k];
    let x1 = A[a.y + k];
    let x2 = A[a.z + k];
    let x3 = A[a.w + k];
    let w0 = load_b4(b.x + k);
    let w1 = load_b4(b.y + k);
    let w2 = load_b4(b.z + k);
    let w3 = load_b4(b.w + k);
    c0 += vec4f(dot(x0, w0), dot(x0, w1), dot(x0, w2), dot(x0, w3));
    c1 += vec4f(dot(x1, w0), dot(x1, w1), dot(x1, w2), dot(x1, w3));
    c2 += vec4f(dot(x2, w0), dot(x2, w1), dot(x2, w2), dot(x2, w3));
    c3 += vec4f(dot(x3, w0), dot(x3, w1), dot(x3, w2), dot(x3, w3));
  }
  store_block(m0, n0, c0, c1, c2, c3);
}

@compute @workgroup_size(8, 8)
fn matmul_nn(@builtin(global_invocation_id) g: vec3u) {
  let m0 = g.y * 4u;
  let n4 = g.x;
  let N4 = p.N / 4u;
  if (m0 >= p.M || n4 >= N4) { return; }
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  // K in segments (Params.seg_k, a fused projection's input gradient): each is a compact [M, width] block of A, walked
  // in order, so the sum runs over k in the same order as over one contiguous A. Widths and offsets are multiples of 4.
  for (var s = 0u; s < max(p.seg_k, 1u); s++) {
    var k_begin = 0u;
    var k_end = p.K / 4u;
    var a = row_offsets(m0, p.M, k_end);
    if (p.seg_k != 0u) {
      let sg = p.seg[s];
      k_begin = sg.n0 / 4u;
      k_end = k_begin + sg.width / 4u;
      a = row_offsets(m0, p.M, sg.width / 4u) + vec4u(sg.off / 4u);
    }
    for (var k = k_begin; k < k_end; k++) {
      let r = 4u * k * N4 + n4;
      let w0 = load_b4(r);
      let w1 = load_b4(r + N4);
      let w2 = load_b4(r + 2u * N4);
      let w3 = load_b4(r + 3u * N4);
      let ka = k - k_begin;
      let x0 = A[a.x + ka];
      let x1 = A[a.y + ka];
      let x2 = A[a.z + ka];
      let x3 = A[a.w + ka];
      c0 += x0.x * w0 + x0.y * w1 + x0.z * w2 + x0.w * w3;
      c1 += x1.x * w0 + x1.y * w1 + x1.z * w2 + x1.w * w3;
      c2 += x2.x * w0 + x2.y * w1 + x2.z * w2 + x2.w * w3;
      c3 += x3.x * w0 + x3.y * w1 + x3.z * w2 + x3.w * w3;
    }
  }
  store_block(m0, 4u * n4, c0, c1, c2, c3);
}

@compute @workgroup_size(8, 8)
fn matmul_tn(@builtin(global_invocation_id) g: vec3u) {
  let m4 = g.y;
  let n4 = g.x;
  let M4 = p.M / 4u;
  let N4 = p.N / 4u;
  if (m4 >= M4 || n4 >= N4) { return; }
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var k = 0u; k < p.K; k++) {
    let x = A[k * M4 + m4];
    let w = load_b4(k * N4 + n4);
    c0 = fma(vec4f(x.x), w, c0);
    c1 = fma(vec4f(x.y), w, c1);
    c2 = fma(vec4f(x.z), w, c2);
    c3 = fma(vec4f(x.w), w, c3);
  }
  store_block(4u * m4, 4u * n4, c0, c1, c2, c3);
}

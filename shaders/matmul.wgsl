// Tiled matrix multiply with the transposes training needs, in f32, or with f16 products summed in f32.
//
//   C[M,N] = alpha * op(A) op(B) (+ bias[n]) (+ beta * C)
//   op(A) is [M,K]: A stored [M,K], or [K,M] when TRANS_A.
//   op(B) is [K,N]: B stored [K,N], or [N,K] when TRANS_B (a Linear weight [out,in] gives x Wᵀ).
//
// With Params.seg_k set, op(A) is read from one compact block per segment of K (a fused projection's input gradient,
// see matmul_epilogue.wgsl); with seg_out, C's columns are written to one block per segment.
// With Params.k_split set, workgroup z computes the partial product over its range of K into [splits, M, N] partials
// (bound as C) and shaders/matmul_splitk.wgsl sums them and applies the epilogue.
// Entry point: matmul. Bindings: 0 uniform Params, 1 A, 2 B, 3 C (read_write), 4 bias, 5-9 (Params, C, bias
// and the store functions come from matmul_epilogue.wgsl; B and its reader load_b from a section of
// matmul_b_formats.wgsl: f32, or packed f16 / bf16 weights; the tiles' type and the multiply-add from a section
// of matmul_precision.wgsl).
// A 16x16 workgroup computes a 64x64 tile of C, each invocation the 4x4 block at rows 4*lid.y..,
// columns 4*lid.x.. in four vec4 registers. Tiles of A and B are staged through workgroup memory in 16-deep
// slices as [TK][TM/4] vec4s, each row padded to TROW = 17 vec4s. Each invocation loads the four values of one
// vec4 and stores that vec4 whole: no two invocations write parts of one value in workgroup memory (WGSL lets a
// write to one component touch the whole vector, so component stores from several invocations race). Loads
// follow the operand's contiguous dimension, so consecutive invocations read consecutive global addresses; with
// K contiguous they store down a column of the tile, and the padding spreads those stores over the banks.

override TRANS_A: bool = false;
override TRANS_B: bool = false;

const TM = 64u;
const TN = 64u;
const TK = 16u;
const TROW = 17u; // vec4s per staged tile row: TM / 4 = 16, plus one of padding against bank conflicts

@group(0) @binding(1) var<storage, read> A: array<f32>;

var<workgroup> As: array<tile_vec4, 272>; // [TK][TROW]: row k holds op(A)[m0 .. m0 + 63, k0 + k] as 16 vec4s
var<workgroup> Bs: array<tile_vec4, 272>; // [TK][TROW]: row k holds op(B)[k0 + k, n0 .. n0 + 63] as 16 vec4s

fn load_a(gm: u32, gk: u32) -> f32 {
  if (gm >= p.M || gk >= p.K) { return 0.0; }
  if (TRANS_A) { return A[gk * p.M + gm]; }
  if (p.seg_k != 0u) {
    // K in segments: op(A)'s columns of segment s are a compact [M, width] block (matmul_epilogue.wgsl).
    let sg = p.seg[segment_of(p.seg_k, gk)];
    return A[sg.off + gm * sg.width + (gk - sg.n0)];
  }
  return A[gm * p.K + gk];
}

fn load_b_tile(gk: u32, gn: u32) -> f32 {
  if (gn >= p.N || gk >= p.K) { return 0.0; }
  if (TRANS_B) { return load_b(gn * p.K + gk); }
  return load_b(gk * p.N + gn);
}

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) wid: vec3u,
          @builtin(local_invocation_id) lid: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * TM;
  let n0 = wid.x * TN;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);

  // Split-K: workgroup z sums its own range of K (whole tile slices, so the bounds checks against p.K suffice).
  var k_begin = 0u;
  var k_end = p.K;
  if (p.k_split != 0u) {
    k_begin = wid.z * p.k_split;
    k_end = min(p.K, k_begin + p.k_split);
  }
  for (var k0 = k_begin; k0 < k_end; k0 += TK) {
    // Invocation li stages vec4 (k, q) of each tile: k in 0..15, q in 0..15, i.e. elements 4q .. 4q+3 of row k.
    // The operand's contiguous dimension varies fastest with li.
    var ak = li % TK;
    var aq = li / TK;
    if (TRANS_A) { ak = li / 16u; aq = li % 16u; }
    let am = m0 + 4u * aq;
    As[ak * TROW + aq] = tile_vec4(to_tile(load_a(am, k0 + ak)), to_tile(load_a(am + 1u, k0 + ak)),
                                   to_tile(load_a(am + 2u, k0 + ak)), to_tile(load_a(am + 3u, k0 + ak)));
    var bk = li / 16u;
    var bq = li % 16u;
    if (TRANS_B) { bk = li % TK; bq = li / TK; }
    let bn = n0 + 4u * bq;
    Bs[bk * TROW + bq] = tile_vec4(to_tile(load_b_tile(k0 + bk, bn)), to_tile(load_b_tile(k0 + bk, bn + 1u)),
                                   to_tile(load_b_tile(k0 + bk, bn + 2u)), to_tile(load_b_tile(k0 + bk, bn + 3u)));
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let a = As[k * TROW + lid.y];
      let b = Bs[k * TROW + lid.x];
      acc0 = mac(acc0, a.x, b);
      acc1 = mac(acc1, a.y, b);
      acc2 = mac(acc2, a.z, b);
      acc3 = mac(acc3, a.w, b);
    }
    workgroupBarrier();
  }
  if (p.k_split != 0u) {
    store_partial_block(wid.z, m0 + 4u * lid.y, n0 + 4u * lid.x, acc0, acc1, acc2, acc3);
  } else {
    store_block(m0 + 4u * lid.y, n0 + 4u * lid.x, acc0, acc1, acc2, acc3);
  }
}

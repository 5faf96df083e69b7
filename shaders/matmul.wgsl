// Tiled matrix multiply with the transposes training needs, in f32, or with f16 products summed in f32.
//
//   C[M,N] = alpha * op(A) op(B) (+ bias[n]) (+ beta * C)
//   op(A) is [M,K]: A stored [M,K], or [K,M] when TRANS_A.
//   op(B) is [K,N]: B stored [K,N], or [N,K] when TRANS_B (a Linear weight [out,in] gives x Wᵀ).
//
// Entry point: matmul. Bindings: 0 uniform Params, 1 A, 2 B, 3 C (read_write), 4 bias (Params, C, bias
// and the store functions come from matmul_epilogue.wgsl; B and its reader load_b from a section of
// matmul_b_formats.wgsl: f32, or packed f16 / bf16 weights; the tiles' type and the multiply-add from a section
// of matmul_precision.wgsl).
// A 16x16 workgroup computes a 64x64 tile of C, each invocation the 4x4 block at rows 4*lid.y..,
// columns 4*lid.x.. in four vec4 registers. Tiles of A and B are staged through workgroup memory as
// vec4s in 16-deep slices, loaded so that consecutive invocations read consecutive global addresses
// whichever way the operand is stored.

override TRANS_A: bool = false;
override TRANS_B: bool = false;

const TM = 64u;
const TN = 64u;
const TK = 16u;

@group(0) @binding(1) var<storage, read> A: array<f32>;

var<workgroup> As: array<tile_vec4, 256>; // [TK][TM/4]
var<workgroup> Bs: array<tile_vec4, 256>; // [TK][TN/4]

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

  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    for (var i = 0u; i < 4u; i++) {
      let e = li + i * 256u;
      var am: u32;
      var ak: u32;
      if (TRANS_A) { am = e % TM; ak = e / TM; } else { ak = e % TK; am = e / TK; }
      let gm = m0 + am;
      let gak = k0 + ak;
      var va = 0.0;
      if (gm < p.M && gak < p.K) {
        if (TRANS_A) { va = A[gak * p.M + gm]; } else { va = A[gm * p.K + gak]; }
      }
      As[ak * 16u + am / 4u][am % 4u] = to_tile(va);

      var bn: u32;
      var bk: u32;
      if (TRANS_B) { bk = e % TK; bn = e / TK; } else { bn = e % TN; bk = e / TN; }
      let gn = n0 + bn;
      let gbk = k0 + bk;
      var vb = 0.0;
      if (gn < p.N && gbk < p.K) {
        if (TRANS_B) { vb = load_b(gn * p.K + gbk); } else { vb = load_b(gbk * p.N + gn); }
      }
      Bs[bk * 16u + bn / 4u][bn % 4u] = to_tile(vb);
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let a = As[k * 16u + lid.y];
      let b = Bs[k * 16u + lid.x];
      acc0 = mac(acc0, a.x, b);
      acc1 = mac(acc1, a.y, b);
      acc2 = mac(acc2, a.z, b);
      acc3 = mac(acc3, a.w, b);
    }
    workgroupBarrier();
  }
  store_block(m0 + 4u * lid.y, n0 + 4u * lid.x, acc0, acc1, acc2, acc3);
}

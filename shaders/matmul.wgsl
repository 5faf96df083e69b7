// Tiled f32 matrix multiply with the transposes training needs.
//
//   C[M,N] = alpha * op(A) op(B) (+ bias[n]) (+ beta * C)
//   op(A) is [M,K]: A stored [M,K], or [K,M] when TRANS_A.
//   op(B) is [K,N]: B stored [K,N], or [N,K] when TRANS_B (a Linear weight [out,in] gives x Wᵀ).
//
// Entry point: matmul. Bindings: 0 uniform Params, 1 A, 2 B, 3 C (read_write), 4 bias.
// A 16x16 workgroup computes a 64x64 tile of C, each invocation a 4x4 register block strided by 16
// so shared-memory reads and global writes are contiguous across the x dimension. Tiles of A and
// B are staged through workgroup memory in 16-deep slices, loaded so that consecutive invocations
// read consecutive addresses whichever way the operand is stored.

override TRANS_A: bool = false;
override TRANS_B: bool = false;

const TM = 64u;
const TN = 64u;
const TK = 16u;

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
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

var<workgroup> As: array<f32, 1024>; // [TK][TM]
var<workgroup> Bs: array<f32, 1024>; // [TK][TN]

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) wid: vec3u,
          @builtin(local_invocation_id) lid: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * TM;
  let n0 = wid.x * TN;
  var acc: array<f32, 16>;

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
      As[ak * TM + am] = va;

      var bn: u32;
      var bk: u32;
      if (TRANS_B) { bk = e % TK; bn = e / TK; } else { bn = e % TN; bk = e / TN; }
      let gn = n0 + bn;
      let gbk = k0 + bk;
      var vb = 0.0;
      if (gn < p.N && gbk < p.K) {
        if (TRANS_B) { vb = B[gn * p.K + gbk]; } else { vb = B[gbk * p.N + gn]; }
      }
      Bs[bk * TN + bn] = vb;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = As[k * TM + lid.y + 16u * i];
        b[i] = Bs[k * TN + lid.x + 16u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] = fma(a[i], b[j], acc[i * 4u + j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let gm = m0 + lid.y + 16u * i;
    if (gm >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let gn = n0 + lid.x + 16u * j;
      if (gn >= p.N) { continue; }
      var v = p.alpha * acc[i * 4u + j];
      if (p.has_bias != 0u) { v += bias[gn]; }
      let idx = gm * p.N + gn;
      if (p.beta != 0.0) { v += p.beta * C[idx]; }
      C[idx] = v;
    }
  }
}

// Matrix multiply for thin shapes: a LoRA factor's products, where one side of C is the rank (u = x Aᵀ, du = dy B,
// dB = dyᵀ u, dA = duᵀ x). The 64x64 tiles of matmul.wgsl would leave most of such a C tile empty and walk a long
// K (the tokens) in a handful of workgroups; here a workgroup computes OUTS outputs (OUTS consecutive columns of one
// row, or OUTS consecutive rows of one column), each by LANES invocations that split K among them (lane l takes
// k = l, l + LANES, ...) and then sum their partials in workgroup memory in a fixed tree. The order of every sum is
// fixed, so results are deterministic (no atomics).
//
//   C_g[M,N] = alpha * op(drop(A_g)) op(drop(B_g)) (+ beta * C_g)     for groups g = 0 .. groups - 1 (workgroup z)
//   op(A) is [M,K]: A stored [M,K], or [K,M] when TRANS_A.  op(B) is [K,N]: B stored [K,N], or [N,K] when TRANS_B.
//
// Groups are products of one shape whose operands sit at different element offsets of the same three bindings
// (e.g. the LoRA A of q, k and v in the flat parameter buffer, applied to their common input), so one dispatch
// serves several projections. drop() is LoRA input dropout (shaders/dropout_mask.wgsl) applied as an operand is
// loaded (DROP_A / DROP_B), with the element's index in the stored operand and the group's salt: the mask the
// separate dropout pass drew, without its pass over the activations.
//
// Entry point: matmul_thin. Bindings: 0 uniform Params, 1 uniform Step (shaders/step.wgsl), 2 A, 3 B, 4 C (read_write).

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override DROP_A: bool = false;
override DROP_B: bool = false;
/** Invocations per output, splitting K; a power of two. */
override LANES: u32 = 32u;
/** Outputs per workgroup. */
override OUTS: u32 = 8u;
/** The workgroup's outputs run down a column (M is the thin side) instead of along a row. */
override OUT_ALONG_M: bool = false;
/** OUTS * LANES, at most 256. */
override WG: u32 = 256u;

struct Group {
  /** Element offsets of the group's A, B and C in their bindings. */
  a: u32,
  b: u32,
  c: u32,
  /** Dropout salt of the group's site. */
  salt: u32,
}

struct Params {
  M: u32,
  N: u32,
  K: u32,
  groups: u32,
  alpha: f32,
  beta: f32,
  p_drop: f32,
  _pad0: u32,
  g: array<Group, 8>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;

var<workgroup> partial: array<f32, 256>;

fn load_a(g: Group, m: u32, k: u32) -> f32 {
  var i: u32;
  if (TRANS_A) { i = k * p.M + m; } else { i = m * p.K + k; }
  let v = A[g.a + i];
  if (DROP_A) { return v * dropout_keep_scale(i, step.seed, g.salt, p.p_drop); }
  return v;
}

fn load_b(g: Group, k: u32, n: u32) -> f32 {
  var i: u32;
  if (TRANS_B) { i = n * p.K + k; } else { i = k * p.N + n; }
  let v = B[g.b + i];
  if (DROP_B) { return v * dropout_keep_scale(i, step.seed, g.salt, p.p_drop); }
  return v;
}

@compute @workgroup_size(WG)
fn matmul_thin(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let g = p.g[wid.z];
  let o = t / LANES;
  let lane = t % LANES;
  let tile = wid.x + wid.y * nwg.x;
  var m: u32;
  var n: u32;
  var tiles: u32;
  if (OUT_ALONG_M) {
    let per = (p.M + OUTS - 1u) / OUTS;
    tiles = per * p.N;
    m = (tile % per) * OUTS + o;
    n = tile / per;
  } else {
    let per = (p.N + OUTS - 1u) / OUTS;
    tiles = per * p.M;
    n = (tile % per) * OUTS + o;
    m = tile / per;
  }
  let valid = tile < tiles && m < p.M && n < p.N;
  var acc = 0.0;
  if (valid) {
    for (var k = lane; k < p.K; k += LANES) {
      acc = fma(load_a(g, m, k), load_b(g, k, n), acc);
    }
  }
  partial[t] = acc;
  for (var s = LANES / 2u; s > 0u; s /= 2u) {
    workgroupBarrier();
    if (lane < s) { partial[t] += partial[t + s]; }
  }
  if (valid && lane == 0u) {
    let idx = g.c + m * p.N + n;
    var x = p.alpha * partial[t];
    if (p.beta != 0.0) { x += p.beta * C[idx]; }
    C[idx] = x;
  }
}

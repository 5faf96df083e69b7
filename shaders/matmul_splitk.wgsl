// Split-K's reduction, the second dispatch of a tiled matmul whose K is split across workgroups (shaders/matmul.wgsl
// with Params.k_split): sums each element's partials over the splits in order 0, 1, ... (a fixed order, so results are
// deterministic: no atomics) and writes C through the matmul epilogue (alpha, bias, beta, the LoRA update), which is
// prepended with its parameters and bindings (shaders/matmul_epilogue.wgsl).
//
// Entry point: splitk_reduce. Bindings: 0 uniform Params (the matmul's), 1 partials [splits, M, N], 3 C (read_write),
// 4 bias, 5 u, 6 L, 7 mix, 8 uniform Step, 9 R. One invocation per four columns of a row.

@group(0) @binding(1) var<storage, read> partials: array<f32>;

@compute @workgroup_size(64)
fn splitk_reduce(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  let quads = (p.N + 3u) / 4u;
  if (i >= p.M * quads) { return; }
  let gm = i / quads;
  let n0 = (i % quads) * 4u;
  let splits = (p.K + p.k_split - 1u) / p.k_split;
  let width = min(4u, p.N - n0);
  var v = vec4f(0.0);
  for (var s = 0u; s < splits; s++) {
    let row = (s * p.M + gm) * p.N + n0;
    for (var j = 0u; j < width; j++) { v[j] += partials[row + j]; }
  }
  store_row(gm, n0, v);
}

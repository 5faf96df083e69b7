// Sums equal slices of one buffer in slice order (a fixed order: deterministic, no atomics), two outputs at once:
//
//   out0[i] = Σ_{s < count} part[s * n + i],   out1[i] = Σ_{s < count} part[offset1 + s * n + i],   i < n
//
// The attention backward's per-query-head dk and dv partials (shaders/flash_attention.wgsl, SPLIT_HEADS) become dk
// and dv. Entry point: slice_sum. Bindings: 0 uniform Params, 1 part, 2 out0 (read_write), 3 out1 (read_write).

const WG = 64u;

struct Params { n: u32, count: u32, offset1: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out0: array<f32>;
@group(0) @binding(3) var<storage, read_write> out1: array<f32>;

@compute @workgroup_size(WG)
fn slice_sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  var a = 0.0;
  var b = 0.0;
  for (var s = 0u; s < p.count; s++) {
    a += part[s * p.n + i];
    b += part[p.offset1 + s * p.n + i];
  }
  out0[i] = a;
  out1[i] = b;
}

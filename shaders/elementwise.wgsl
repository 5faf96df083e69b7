// Small elementwise kernels: the residual add (where a norm sits between a projection and the residual, Gemma's
// sandwich norms; elsewhere it runs in the projection's matmul epilogue), accumulation and scaling.
//
//   add:                  out = a + b
//   accumulate:           dx += b
//   scale_in_place:       dx *= factor
//
// Entry points: add (bindings 0,2,3,4), accumulate (0,3,5), scale_in_place (0,5).

const WG = 64u;

struct Params { n: u32, _pad0: u32, factor: f32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  out[i] = a[i] + b[i];
}

@compute @workgroup_size(WG)
fn accumulate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dx[i] += b[i];
}

@compute @workgroup_size(WG)
fn scale_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dx[i] *= p.factor;
}

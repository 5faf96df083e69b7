// SiLU-gated MLP activation, forward and backward, elementwise.
//
//   forward:  act = silu(gate) * up,            silu(g) = g * sigmoid(g)
//   backward: d_gate = d_act * up * silu'(g),   silu'(g) = sigmoid(g) * (1 + g * (1 - sigmoid(g)))
//             d_up   = d_act * silu(g)
//
// Entry points: swiglu_forward (bindings 0,1,2,3), swiglu_backward (bindings 0,1,2,4,5,6).

const WG = 64u;

struct Params { n: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> act: array<f32>;
@group(0) @binding(4) var<storage, read> d_act: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_gate: array<f32>;
@group(0) @binding(6) var<storage, read_write> d_up: array<f32>;

fn sigmoid(g: f32) -> f32 { return 1.0 / (1.0 + exp(-g)); }

@compute @workgroup_size(WG)
fn swiglu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  act[i] = g * sigmoid(g) * up[i];
}

@compute @workgroup_size(WG)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  let sg = sigmoid(g);
  let da = d_act[i];
  d_gate[i] = da * up[i] * sg * (1.0 + g * (1.0 - sg));
  d_up[i] = da * g * sg;
}

// Gated MLP activations, forward and backward, elementwise: SiLU (Llama, Qwen, SmolLM) and GELU with the tanh
// approximation (Gemma's gelu_pytorch_tanh).
//
//   forward:  act = f(gate) * up
//   backward: d_gate = d_act * up * f'(g),  d_up = d_act * f(g)
//   silu:      f(g) = g * sigmoid(g),  f'(g) = sigmoid(g) * (1 + g * (1 - sigmoid(g)))
//   gelu_tanh: f(g) = g/2 * (1 + t),   t = tanh(u),  u = sqrt(2/pi) * (g + 0.044715 g^3)
//              f'(g) = (1 + t)/2 + g/2 * (1 - t^2) * sqrt(2/pi) * (1 + 3 * 0.044715 g^2)
//
// Entry points: swiglu_forward, geglu_forward (bindings 0,1,2,3); swiglu_backward, geglu_backward (bindings 0,1,2,4,5,6).

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

const SQRT_2_OVER_PI = 0.7978845608028654;
const GELU_C = 0.044715;

// tanh(u) = 1 - 2 / (exp(2u) + 1): exact limits +-1 where exp overflows or vanishes; its absolute error near 0
// (about 1e-7) is what gelu needs, since t enters as (1 + t).
fn tanh_limits(u: f32) -> f32 { return 1.0 - 2.0 / (exp(2.0 * u) + 1.0); }
fn gelu_t(g: f32) -> f32 { return tanh_limits(SQRT_2_OVER_PI * (g + GELU_C * g * g * g)); }

@compute @workgroup_size(WG)
fn geglu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  act[i] = 0.5 * g * (1.0 + gelu_t(g)) * up[i];
}

@compute @workgroup_size(WG)
fn geglu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  let t = gelu_t(g);
  let da = d_act[i];
  let df = 0.5 * (1.0 + t) + 0.5 * g * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * g * g);
  d_gate[i] = da * up[i] * df;
  d_up[i] = da * 0.5 * g * (1.0 + t);
}

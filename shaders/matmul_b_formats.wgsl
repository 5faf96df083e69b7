// The B operand of the matmul kernels in one of three storage formats, each read as f32 (all arithmetic stays f32).
// A kernel module prepends exactly one section, chosen by the host; sections are separated by lines "//! <format>".
// Half-precision weights hold two values per u32 word, the lower-indexed value in the low 16 bits (little-endian).
//   load_b(i):  element i of B.           load_b4(i): elements 4i .. 4i+3 of B (the vec4 kernel's unit).
//! f32
@group(0) @binding(2) var<storage, read> B: array<f32>;
fn load_b(i: u32) -> f32 { return B[i]; }
fn load_b4(i: u32) -> vec4f { return vec4f(B[4u * i], B[4u * i + 1u], B[4u * i + 2u], B[4u * i + 3u]); }
//! f32x4
@group(0) @binding(2) var<storage, read> B: array<vec4f>;
fn load_b4(i: u32) -> vec4f { return B[i]; }
//! f16
@group(0) @binding(2) var<storage, read> B: array<u32>;
fn load_b(i: u32) -> f32 { return unpack2x16float(B[i >> 1u])[i & 1u]; }
fn load_b4(i: u32) -> vec4f { return vec4f(unpack2x16float(B[2u * i]), unpack2x16float(B[2u * i + 1u])); }
//! bf16
@group(0) @binding(2) var<storage, read> B: array<u32>;
fn bf16_pair(w: u32) -> vec2f { return vec2f(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }
fn load_b(i: u32) -> f32 { return bf16_pair(B[i >> 1u])[i & 1u]; }
fn load_b4(i: u32) -> vec4f { return vec4f(bf16_pair(B[2u * i]), bf16_pair(B[2u * i + 1u])); }

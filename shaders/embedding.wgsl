// Token embedding gather from one vocabulary slice of a table, and its scatter-add backward.
//
//   forward:  out[n, c] = table[ids[n] - first, c]   for tokens whose id lies in [first, first + count)
//   backward: d_table[ids[n], c] += d_out[n, c] for every n
// A table too large for one binding is stored as slices of consecutive rows (src/engine/vocab-table.ts): one
// forward dispatch per slice, each writing the rows of the tokens it holds. The table is read through load_b, the
// section of matmul_b_formats.wgsl the host prepends (f32, or F16/BF16 halves packed two per word), so a half-precision
// embedding stays packed on the GPU. The backward runs one invocation per column and walks the tokens in order, so
// repeated ids accumulate without atomics and the result is deterministic.
//
// Entry points: embedding_forward (bindings 0,1,2,3), embedding_backward (bindings 0,1,4,5).

const WG = 64u;

struct Params { tokens: u32, cols: u32, first: u32, count: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> d_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_table: array<f32>;

@compute @workgroup_size(WG)
fn embedding_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.tokens * p.cols) { return; }
  let c = i % p.cols;
  let n = i / p.cols;
  let id = ids[n];
  if (id < p.first || id - p.first >= p.count) { return; }
  out[i] = load_b((id - p.first) * p.cols + c);
}

@compute @workgroup_size(WG)
fn embedding_backward(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.cols) { return; }
  for (var n = 0u; n < p.tokens; n++) {
    let dst = ids[n] * p.cols + c;
    d_table[dst] += d_out[n * p.cols + c];
  }
}

// A strided copy of a [rows, cols] block between two row-major arrays: how the LM head's vocabulary slices meet the
// logits. A slice's product [rows, slice] is written into its columns of the [rows, vocab] logits, and the logits'
// gradient columns of a slice are gathered back into a contiguous [rows, slice] operand for d hidden.
//
//   dst[dst_offset + r * dst_stride + c] = src[src_offset + r * src_stride + c]   for r < rows, c < cols
// The element offsets let the host bind each array from a 256-byte-aligned byte offset below the block.
//
// Entry point: copy_block (bindings 0,1,2); one invocation per element, the grid flattened over x and y.

const WG = 64u;

struct Params { rows: u32, cols: u32, src_stride: u32, dst_stride: u32, src_offset: u32, dst_offset: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn copy_block(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) { return; }
  let r = i / p.cols;
  let c = i % p.cols;
  dst[p.dst_offset + r * p.dst_stride + c] = src[p.src_offset + r * p.src_stride + c];
}

// Multi-block LoRA on one projection, backward: J LoRA blocks read the same input and their outputs are mixed
// with per-example weights (SAPT). The forward mix runs in the projection matmul's epilogue
// (shaders/matmul_epilogue.wgsl), which sums in the order written here.
//
//   u = x A_stackᵀ is computed beforehand by a matmul: [N, J*r], column k = j*r + i is block j, rank i.
//   B is the J blocks' B matrices stacked, [J, out_dim, r]; mix is [batch, J]; b(n) = n / seq.
//
//   (forward:          y[n,o] += scale * Σ_j mix[b(n),j] * Σ_i B[j,o,i] * u[n,j*r+i])
//   mix_backward_du:   g[n,k]  = scale * Σ_o dy[n,o] * B[j,o,i]
//                      du[n,k] = mix[b(n),j] * g[n,k]                                  (overwrite)
//                      du_active[n,i] = du[n,active*r+i]                               (flag 1)
//                      u_active[n,i]  = scale * mix[b(n),active] * u[n,active*r+i]     (flag 2)
//                      part[tile,k]   = Σ_{n in tile} g[n,k] * u[n,k]                  (flag 4)
//   mix_backward_dmix: dmix[b,j] += Σ over the tiles of example b, Σ_i part[tile, j*r+i]
// A backward tile is TM consecutive tokens of one example, so the dmix reduction needs no atomics
// and sums in a fixed order.
//
// Entry points and bindings:
//   mix_backward_du    0,1,2,3,5,6,7,8,9  one workgroup per (TM tokens of one example, 64 u columns);
//                                      dy is staged through workgroup memory 64 columns at a time
//   mix_backward_dmix  0,10,11         one workgroup per (example, block)
// Workgroup indices beyond 65535 spill into the y dimension of the grid.

const WG = 64u;
const TM = 8u;

const HAS_DU_ACTIVE = 1u;
const HAS_U_ACTIVE = 2u;
const HAS_DMIX = 4u;

struct Params {
  tokens: u32,
  seq: u32,
  blocks: u32,
  rank: u32,
  out_dim: u32,
  jr: u32,
  batch: u32,
  chunks: u32,   // backward tiles per example: ceil(seq / TM)
  _pad3: u32,
  k_tiles: u32,  // backward: ceil(jr / WG)
  active_block: i32,
  flags: u32,
  scale: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> bmat: array<f32>;
@group(0) @binding(3) var<storage, read> mixw: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> du: array<f32>;
@group(0) @binding(7) var<storage, read_write> du_active: array<f32>;
@group(0) @binding(8) var<storage, read_write> u_active: array<f32>;
@group(0) @binding(9) var<storage, read_write> part_out: array<f32>;
@group(0) @binding(10) var<storage, read> part_in: array<f32>;
@group(0) @binding(11) var<storage, read_write> dmix: array<f32>;

// Backward dy tile, [t][o].
var<workgroup> sdy: array<f32, TM * WG>;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn mix_backward_du(@builtin(workgroup_id) wid: vec3u,
                   @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let tile = wid.x + wid.y * nwg.x;
  let ct = tile / p.k_tiles;  // b * chunks + c
  if (ct >= p.batch * p.chunks) { return; }
  let b = ct / p.chunks;
  let t0 = (ct - b * p.chunks) * TM;  // position of the tile's first token within its example
  let n0 = b * p.seq + t0;
  var cnt = 0u;  // tokens in this tile: the example may be short at the end of the batch
  if (n0 < p.tokens) { cnt = min(min(TM, p.seq - t0), p.tokens - n0); }
  let k = (tile - ct * p.k_tiles) * WG + lid;
  let col = k < p.jr;
  let j = k / p.rank;
  let i = k - j * p.rank;

  var acc: array<f32, TM>;
  for (var oc = 0u; oc < p.out_dim; oc += WG) {
    for (var t = 0u; t < TM; t++) {
      var v = 0.0;
      if (t < cnt && oc + lid < p.out_dim) { v = dy[(n0 + t) * p.out_dim + oc + lid]; }
      sdy[t * WG + lid] = v;
    }
    workgroupBarrier();
    if (col) {
      let w = min(WG, p.out_dim - oc);
      let bbase = (j * p.out_dim + oc) * p.rank + i;
      for (var oo = 0u; oo < w; oo++) {
        let bv = bmat[bbase + oo * p.rank];
        for (var t = 0u; t < TM; t++) { acc[t] = fma(bv, sdy[t * WG + oo], acc[t]); }
      }
    }
    workgroupBarrier();
  }
  if (!col) { return; }

  let m = mixw[b * p.blocks + j];
  let is_active = i32(j) == p.active_block;
  var part = 0.0;
  for (var t = 0u; t < TM; t++) {
    if (t < cnt) {
      let n = n0 + t;
      let g = p.scale * acc[t];
      let uv = u[n * p.jr + k];
      let d = m * g;
      du[n * p.jr + k] = d;
      if (is_active) {
        if ((p.flags & HAS_DU_ACTIVE) != 0u) { du_active[n * p.rank + i] = d; }
        if ((p.flags & HAS_U_ACTIVE) != 0u) { u_active[n * p.rank + i] = p.scale * m * uv; }
      }
      part = fma(g, uv, part);
    }
  }
  if ((p.flags & HAS_DMIX) != 0u) { part_out[ct * p.jr + k] = part; }
}

@compute @workgroup_size(WG)
fn mix_backward_dmix(@builtin(workgroup_id) wid: vec3u,
                     @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let idx = wid.x + wid.y * nwg.x;  // b * blocks + j
  if (idx >= p.batch * p.blocks) { return; }
  let b = idx / p.blocks;
  let j = idx - b * p.blocks;
  let count = p.chunks * p.rank;
  var s = 0.0;
  for (var e = lid; e < count; e += WG) {
    let c = e / p.rank;
    let i = e - c * p.rank;
    s += part_in[(b * p.chunks + c) * p.jr + j * p.rank + i];
  }
  red[lid] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] += red[lid + h]; }
    workgroupBarrier();
  }
  if (lid == 0u) { dmix[idx] += red[0]; }
}

// Fused causal attention with grouped-query / multi-query heads, forward and backward, flash style:
// probabilities are recomputed tile by tile from q, k and the row's logsumexp, so no [T, T] matrix
// is ever written.
//
// Layouts: q, out, d_out, dq are [B*T, Hq*D]; k, v, dk, dv are [B*T, Hkv*D]; lse and delta are
// [B, Hq, T]. Query head h reads key/value head g = h / (Hq / Hkv). s_ij = scale * q_i . k_j (scale from
// the host: 1/sqrt(D), or Gemma's query_pre_attn_scalar^-1/2); only keys j <= i count, and with a sliding
// window W > 0 only keys i - W < j <= i (transformers' sliding_window_overlay: W keys, the query's own
// included). Key tiles wholly outside a block's windows are not visited: the forward and dq passes start at
// the tile of the block's first visible key, the dk/dv pass stops at the tile past its last query.
//
//   attn_fwd       one row i per invocation, streaming over key tiles with an online softmax:
//                    m <- max(m, max_j s_ij);  l <- l * exp(m_old - m) + sum_j exp(s_ij - m);
//                    acc <- acc * exp(m_old - m) + sum_j exp(s_ij - m) v_j
//                  out_i = acc / l,  lse_i = m + log(l)   (so P_ij = exp(s_ij - lse_i))
//   attn_bwd_dq    one query row i per invocation (run first):
//                    delta_i = d_out_i . out_i   (= sum_j P_ij dP_ij; stored for attn_bwd_dkdv)
//                    dP_ij = d_out_i . v_j,  dS_ij = P_ij (dP_ij - delta_i)
//                    dq_i = scale * sum_j dS_ij k_j
//   attn_bwd_dkdv  one key row j of kv head g per invocation, over every query head h of g's group
//                  and every query i >= j:
//                    dv_j = sum_h sum_i P_ij d_out_i,   dk_j = scale * sum_h sum_i dS_ij q_i
//                  or, with SPLIT_HEADS (GPUs, where B * Hkv * T / WG workgroups are too few), one query head
//                  per invocation, into per-head partials that shaders/slice_sum.wgsl sums in head order
// Each output element has exactly one writer, so no atomics are needed.
//
// Entry points and the bindings each uses:
//   attn_fwd 0,1,2,3,4,5   attn_bwd_dq 0,1,2,3,4,5,6,7,8   attn_bwd_dkdv 0,1,2,3,5,6,7,9,10
//
// Operand access: q, k, v, out, d_out, dq, dk, dv (bindings 1-4, 6, 8-10) and their load_*/store_*
// functions come from an access file prepended by the host: flash_attention_vec4.wgsl (vec4 arrays,
// HEAD_DIM a multiple of 4) or flash_attention_f32.wgsl (f32 arrays, any HEAD_DIM).
//
// Tiling: a workgroup owns WG consecutive rows (query rows, or key rows for attn_bwd_dkdv) of one
// (batch, head), one row per invocation; the grid is flattened over x and y. The streamed operand
// (k and v, or q and d_out) advances TILE rows at a time, and an invocation keeps its scores four
// streamed rows to a vec4, so each loaded vec4 of its own row meets four tile rows. The head
// dimension is taken in CHUNK-column chunks: an invocation accumulates one chunk of its output row
// in registers (HEAD_DIM is a pipeline constant, so the loops over it have fixed trip counts).
// Scores need every chunk, so for HEAD_DIM > CHUNK the sweep over the streamed rows runs once per
// output chunk, recomputing the scores; for HEAD_DIM <= CHUNK (every model so far) there is one.
// With STAGE, each tile chunk is loaded once into workgroup memory and shared by the WG invocations
// (GPUs). Without it, invocations read the tile straight from the storage buffers and the kernels
// have no barriers (software adapters: there workgroup memory is ordinary memory, and a barrier
// switches between the invocations' coroutines and makes pipelines several times slower to compile).
// STAGE and tile_barrier come from a section of flash_attention_staging.wgsl, chosen by the host.

override WG: u32 = 64u;
override HEAD_DIM: u32 = 64u;

const TILE = 16u;
const QUADS = 4u; // TILE / 4: scores are kept four streamed rows to a vec4
const CHUNK = 64u;
const CHUNK4 = 16u; // CHUNK in vec4s
const NEG_BIG = -3.0e38;
override CHUNKS: u32 = (HEAD_DIM + CHUNK - 1u) / CHUNK;
override SPLIT_HEADS: bool = false;

struct Params {
  batch: u32,
  seq: u32,
  heads: u32,
  kv_heads: u32,
  scale: f32,
  // Sliding window in keys (0: none). The host passes 0 when the window covers the whole sequence.
  window: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// Bindings 1-4, 6 and 8-10 (q, k, v, out, d_out, dq, dk, dv) are declared by the access file.
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> delta: array<f32>;

// The streamed tile's current chunk: k (or q) in tile_a, v (or d_out) in tile_b, [TILE][CHUNK4].
var<workgroup> tile_a: array<vec4f, TILE * CHUNK4>;
var<workgroup> tile_b: array<vec4f, TILE * CHUNK4>;

// One chunk of TILE streamed rows: batch b, head (query or kv), first row, first column.
struct Tile {
  b: u32,
  head: u32,
  row0: u32,
  col0: u32,
}

// Offset of head h of token (b, t) in a [B*T, H*D] tensor.
fn q_row(b: u32, t: u32, h: u32) -> u32 { return ((b * p.seq + t) * p.heads + h) * HEAD_DIM; }
fn kv_row(b: u32, t: u32, g: u32) -> u32 { return ((b * p.seq + t) * p.kv_heads + g) * HEAD_DIM; }
// Offset of row t of (b, h) in a [B, Hq, T] tensor.
fn stat_at(b: u32, h: u32, t: u32) -> u32 { return (b * p.heads + h) * p.seq + t; }

// Number of vec4s of chunk c that hold head-dim columns (the last one may be partly past D).
fn chunk_vec4s(c: u32) -> u32 { return min(CHUNK4, (HEAD_DIM - c * CHUNK + 3u) / 4u); }

// Element (t, c4) of the streamed tile. Rows past the sequence repeat its last row: the callers mask them.
fn tile_row(tl: Tile, t: u32) -> u32 { return min(tl.row0 + t, p.seq - 1u); }
fn tile_k(tl: Tile, t: u32, c4: u32) -> vec4f {
  if (STAGE) { return tile_a[t * CHUNK4 + c4]; }
  return load_k(kv_row(tl.b, tile_row(tl, t), tl.head), tl.col0 + 4u * c4);
}
fn tile_v(tl: Tile, t: u32, c4: u32) -> vec4f {
  if (STAGE) { return tile_b[t * CHUNK4 + c4]; }
  return load_v(kv_row(tl.b, tile_row(tl, t), tl.head), tl.col0 + 4u * c4);
}
fn tile_q(tl: Tile, t: u32, c4: u32) -> vec4f {
  if (STAGE) { return tile_a[t * CHUNK4 + c4]; }
  return load_q(q_row(tl.b, tile_row(tl, t), tl.head), tl.col0 + 4u * c4);
}
fn tile_do(tl: Tile, t: u32, c4: u32) -> vec4f {
  if (STAGE) { return tile_b[t * CHUNK4 + c4]; }
  return load_do(q_row(tl.b, tile_row(tl, t), tl.head), tl.col0 + 4u * c4);
}

// dots_*: x . row for the four tile rows t..t+3 at column vec4 c4. mix_*: acc + sum_r w[r] row_r
// over the same four rows.
fn dots_k(x: vec4f, tl: Tile, t: u32, c4: u32) -> vec4f {
  return vec4f(dot(x, tile_k(tl, t, c4)), dot(x, tile_k(tl, t + 1u, c4)), dot(x, tile_k(tl, t + 2u, c4)), dot(x, tile_k(tl, t + 3u, c4)));
}
fn dots_v(x: vec4f, tl: Tile, t: u32, c4: u32) -> vec4f {
  return vec4f(dot(x, tile_v(tl, t, c4)), dot(x, tile_v(tl, t + 1u, c4)), dot(x, tile_v(tl, t + 2u, c4)), dot(x, tile_v(tl, t + 3u, c4)));
}
fn dots_q(x: vec4f, tl: Tile, t: u32, c4: u32) -> vec4f {
  return vec4f(dot(x, tile_q(tl, t, c4)), dot(x, tile_q(tl, t + 1u, c4)), dot(x, tile_q(tl, t + 2u, c4)), dot(x, tile_q(tl, t + 3u, c4)));
}
fn dots_do(x: vec4f, tl: Tile, t: u32, c4: u32) -> vec4f {
  return vec4f(dot(x, tile_do(tl, t, c4)), dot(x, tile_do(tl, t + 1u, c4)), dot(x, tile_do(tl, t + 2u, c4)), dot(x, tile_do(tl, t + 3u, c4)));
}
fn mix_k(w: vec4f, tl: Tile, t: u32, c4: u32, acc: vec4f) -> vec4f {
  return fma(vec4f(w.w), tile_k(tl, t + 3u, c4), fma(vec4f(w.z), tile_k(tl, t + 2u, c4), fma(vec4f(w.y), tile_k(tl, t + 1u, c4), fma(vec4f(w.x), tile_k(tl, t, c4), acc))));
}
fn mix_v(w: vec4f, tl: Tile, t: u32, c4: u32, acc: vec4f) -> vec4f {
  return fma(vec4f(w.w), tile_v(tl, t + 3u, c4), fma(vec4f(w.z), tile_v(tl, t + 2u, c4), fma(vec4f(w.y), tile_v(tl, t + 1u, c4), fma(vec4f(w.x), tile_v(tl, t, c4), acc))));
}
fn mix_q(w: vec4f, tl: Tile, t: u32, c4: u32, acc: vec4f) -> vec4f {
  return fma(vec4f(w.w), tile_q(tl, t + 3u, c4), fma(vec4f(w.z), tile_q(tl, t + 2u, c4), fma(vec4f(w.y), tile_q(tl, t + 1u, c4), fma(vec4f(w.x), tile_q(tl, t, c4), acc))));
}
fn mix_do(w: vec4f, tl: Tile, t: u32, c4: u32, acc: vec4f) -> vec4f {
  return fma(vec4f(w.w), tile_do(tl, t + 3u, c4), fma(vec4f(w.z), tile_do(tl, t + 2u, c4), fma(vec4f(w.y), tile_do(tl, t + 1u, c4), fma(vec4f(w.x), tile_do(tl, t, c4), acc))));
}

// Loads a k/v (stage_kv) or q/d_out (stage_q_do) tile chunk into workgroup memory, consecutive
// invocations reading consecutive columns. Both begin with a barrier (every invocation is done with
// the previous tile) and end with one (the new tile is visible). No-ops without STAGE.
fn stage_kv(tl: Tile, lid: u32) {
  if (!STAGE) { return; }
  tile_barrier();
  let n4 = chunk_vec4s(tl.col0 / CHUNK);
  for (var e = lid; e < TILE * n4; e += WG) {
    let t = e / n4;
    let c4 = e % n4;
    let o = kv_row(tl.b, tile_row(tl, t), tl.head);
    tile_a[t * CHUNK4 + c4] = load_k(o, tl.col0 + 4u * c4);
    tile_b[t * CHUNK4 + c4] = load_v(o, tl.col0 + 4u * c4);
  }
  tile_barrier();
}
fn stage_q_do(tl: Tile, lid: u32) {
  if (!STAGE) { return; }
  tile_barrier();
  let n4 = chunk_vec4s(tl.col0 / CHUNK);
  for (var e = lid; e < TILE * n4; e += WG) {
    let t = e / n4;
    let c4 = e % n4;
    let o = q_row(tl.b, tile_row(tl, t), tl.head);
    tile_a[t * CHUNK4 + c4] = load_q(o, tl.col0 + 4u * c4);
    tile_b[t * CHUNK4 + c4] = load_do(o, tl.col0 + 4u * c4);
  }
  tile_barrier();
}

// Row numbers t0..t0+3 of a quad of streamed rows, for masking; the largest of four scores.
fn quad_rows(t0: u32) -> vec4u { return vec4u(t0) + vec4u(0u, 1u, 2u, 3u); }
// Which of the keys `keys` query row i sees: causal, and inside the window.
fn sees(i: u32, keys: vec4u) -> vec4<bool> {
  return (keys <= vec4u(i)) & ((keys + vec4u(p.window) > vec4u(i)) | vec4<bool>(p.window == 0u));
}
// Whether query row i sees any key of the tile starting at j0.
fn tile_live(i: u32, j0: u32) -> bool { return j0 <= i && (p.window == 0u || j0 + TILE + p.window > i + 1u); }
// The tile holding the first key that query row0 (the block's first row, which sees the earliest keys) sees.
fn first_key_tile(row0: u32) -> u32 {
  if (p.window == 0u || row0 + 1u <= p.window) { return 0u; }
  return ((row0 + 1u - p.window) / TILE) * TILE;
}
fn max4(x: vec4f) -> f32 { return max(max(x.x, x.y), max(x.z, x.w)); }

// The workgroup's batch, head and first row for `heads` heads; valid is false past the grid.
struct Block {
  b: u32,
  head: u32,
  row0: u32,
  valid: bool,
}

fn block_of(wid: vec3u, nwg: vec3u, heads: u32) -> Block {
  let blocks = (p.seq + WG - 1u) / WG;
  let w = wid.x + wid.y * nwg.x;
  let bh = w / blocks;
  return Block(bh / heads, bh % heads, (w % blocks) * WG, w < p.batch * heads * blocks);
}

@compute @workgroup_size(WG)
fn attn_fwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let blk = block_of(wid, nwg, p.heads);
  if (!blk.valid) { return; }
  let b = blk.b;
  let h = blk.head;
  let g = h / (p.heads / p.kv_heads);
  let i = blk.row0 + lid;
  let in_seq = i < p.seq;
  let qo = q_row(b, min(i, p.seq - 1u), h);
  let key_end = min(blk.row0 + WG, p.seq); // the block's last row sees keys 0..key_end-1

  var acc: array<vec4f, CHUNK4>;
  var s: array<vec4f, QUADS>;
  for (var oc = 0u; oc < CHUNKS; oc++) {
    let n4_out = chunk_vec4s(oc);
    var m = NEG_BIG;
    var l = 0.0;
    for (var c4 = 0u; c4 < CHUNK4; c4++) { acc[c4] = vec4f(0.0); }
    for (var j0 = first_key_tile(blk.row0); j0 < key_end; j0 += TILE) {
      let live = in_seq && tile_live(i, j0);
      for (var u = 0u; u < QUADS; u++) { s[u] = vec4f(0.0); }
      // Scores over every chunk; the last chunk visited is oc, which stays staged for the values.
      for (var n = 1u; n <= CHUNKS; n++) {
        let c = (oc + n) % CHUNKS;
        let tl = Tile(b, g, j0, c * CHUNK);
        stage_kv(tl, lid);
        if (live) {
          let n4 = chunk_vec4s(c);
          for (var c4 = 0u; c4 < CHUNK4; c4++) {
            if (c4 >= n4) { break; }
            let x = load_q(qo, tl.col0 + 4u * c4);
            for (var u = 0u; u < QUADS; u++) { s[u] += dots_k(x, tl, 4u * u, c4); }
          }
        }
      }
      if (live) {
        let tl = Tile(b, g, j0, oc * CHUNK);
        var m_new = m;
        for (var u = 0u; u < QUADS; u++) {
          m_new = max(m_new, max4(select(vec4f(NEG_BIG), s[u] * p.scale, sees(i, quad_rows(j0 + 4u * u)))));
        }
        let rescale = exp(m - m_new);
        l *= rescale;
        for (var c4 = 0u; c4 < CHUNK4; c4++) { if (c4 >= n4_out) { break; } acc[c4] *= rescale; }
        for (var u = 0u; u < QUADS; u++) {
          if (j0 + 4u * u > i) { break; }
          let e = select(vec4f(0.0), exp(s[u] * p.scale - m_new), sees(i, quad_rows(j0 + 4u * u)));
          l += dot(e, vec4f(1.0));
          for (var c4 = 0u; c4 < CHUNK4; c4++) { if (c4 >= n4_out) { break; } acc[c4] = mix_v(e, tl, 4u * u, c4, acc[c4]); }
        }
        m = m_new;
      }
    }
    if (in_seq) {
      let inv = 1.0 / l;
      for (var c4 = 0u; c4 < CHUNK4; c4++) { if (c4 >= n4_out) { break; } store_out(qo, oc * CHUNK + 4u * c4, acc[c4] * inv); }
      if (oc == 0u) { lse[stat_at(b, h, i)] = m + log(l); }
    }
  }
}

@compute @workgroup_size(WG)
fn attn_bwd_dq(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let blk = block_of(wid, nwg, p.heads);
  if (!blk.valid) { return; }
  let b = blk.b;
  let h = blk.head;
  let g = h / (p.heads / p.kv_heads);
  let i = blk.row0 + lid;
  let in_seq = i < p.seq;
  let qo = q_row(b, min(i, p.seq - 1u), h);
  let so = stat_at(b, h, min(i, p.seq - 1u));
  let key_end = min(blk.row0 + WG, p.seq);

  var delta_i = 0.0;
  var lse_i = 0.0;
  if (in_seq) {
    for (var c4 = 0u; c4 < (HEAD_DIM + 3u) / 4u; c4++) { delta_i += dot(load_do(qo, 4u * c4), load_out(qo, 4u * c4)); }
    delta[so] = delta_i;
    lse_i = lse[so];
  }

  var acc: array<vec4f, CHUNK4>;
  var s: array<vec4f, QUADS>;
  var dp: array<vec4f, QUADS>;
  for (var oc = 0u; oc < CHUNKS; oc++) {
    let n4_out = chunk_vec4s(oc);
    for (var c4 = 0u; c4 < CHUNK4; c4++) { acc[c4] = vec4f(0.0); }
    for (var j0 = first_key_tile(blk.row0); j0 < key_end; j0 += TILE) {
      let live = in_seq && tile_live(i, j0);
      for (var u = 0u; u < QUADS; u++) { s[u] = vec4f(0.0); dp[u] = vec4f(0.0); }
      for (var n = 1u; n <= CHUNKS; n++) {
        let c = (oc + n) % CHUNKS;
        let tl = Tile(b, g, j0, c * CHUNK);
        stage_kv(tl, lid);
        if (live) {
          let n4 = chunk_vec4s(c);
          for (var c4 = 0u; c4 < CHUNK4; c4++) {
            if (c4 >= n4) { break; }
            let x = load_q(qo, tl.col0 + 4u * c4);
            let y = load_do(qo, tl.col0 + 4u * c4);
            for (var u = 0u; u < QUADS; u++) {
              s[u] += dots_k(x, tl, 4u * u, c4);
              dp[u] += dots_v(y, tl, 4u * u, c4);
            }
          }
        }
      }
      if (live) {
        let tl = Tile(b, g, j0, oc * CHUNK);
        for (var u = 0u; u < QUADS; u++) {
          if (j0 + 4u * u > i) { break; }
          let prob = select(vec4f(0.0), exp(s[u] * p.scale - lse_i), sees(i, quad_rows(j0 + 4u * u)));
          let ds = prob * (dp[u] - delta_i);
          for (var c4 = 0u; c4 < CHUNK4; c4++) { if (c4 >= n4_out) { break; } acc[c4] = mix_k(ds, tl, 4u * u, c4, acc[c4]); }
        }
      }
    }
    if (in_seq) {
      for (var c4 = 0u; c4 < CHUNK4; c4++) { if (c4 >= n4_out) { break; } store_dq(qo, oc * CHUNK + 4u * c4, acc[c4] * p.scale); }
    }
  }
}

@compute @workgroup_size(WG)
fn attn_bwd_dkdv(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let group = p.heads / p.kv_heads;
  // SPLIT_HEADS: a workgroup per query head h of the group instead of one per kv head, writing its share of dk and
  // dv to slice h % group of [group, B*T, Hkv*D] partials (bound as dk and dv), which slice_sum.wgsl adds up.
  var blk: Block;
  if (SPLIT_HEADS) { blk = block_of(wid, nwg, p.heads); } else { blk = block_of(wid, nwg, p.kv_heads); }
  if (!blk.valid) { return; }
  let b = blk.b;
  var g = blk.head;
  var h_begin = g * group;
  var h_end = h_begin + group;
  var part = 0u;
  if (SPLIT_HEADS) {
    g = blk.head / group;
    h_begin = blk.head;
    h_end = blk.head + 1u;
    part = (blk.head % group) * p.batch * p.seq * p.kv_heads * HEAD_DIM;
  }
  let j = blk.row0 + lid;
  let in_seq = j < p.seq;
  let ko = kv_row(b, min(j, p.seq - 1u), g);
  let query_start = (blk.row0 / TILE) * TILE; // queries before the block's first key see none of its keys
  // With a window, queries from row0 + WG - 1 + W on see none of the block's keys.
  let query_end = select(p.seq, min(p.seq, blk.row0 + WG - 1u + p.window), p.window != 0u);

  var acc_k: array<vec4f, CHUNK4>;
  var acc_v: array<vec4f, CHUNK4>;
  var s: array<vec4f, QUADS>;
  var dp: array<vec4f, QUADS>;
  for (var oc = 0u; oc < CHUNKS; oc++) {
    let n4_out = chunk_vec4s(oc);
    for (var c4 = 0u; c4 < CHUNK4; c4++) { acc_k[c4] = vec4f(0.0); acc_v[c4] = vec4f(0.0); }
    for (var h = h_begin; h < h_end; h++) {
      for (var i0 = query_start; i0 < query_end; i0 += TILE) {
        let live = in_seq && i0 + TILE > j && (p.window == 0u || i0 < j + p.window);
        for (var u = 0u; u < QUADS; u++) { s[u] = vec4f(0.0); dp[u] = vec4f(0.0); }
        for (var n = 1u; n <= CHUNKS; n++) {
          let c = (oc + n) % CHUNKS;
          let tl = Tile(b, h, i0, c * CHUNK);
          stage_q_do(tl, lid);
          if (live) {
            let n4 = chunk_vec4s(c);
            for (var c4 = 0u; c4 < CHUNK4; c4++) {
              if (c4 >= n4) { break; }
              let x = load_k(ko, tl.col0 + 4u * c4);
              let y = load_v(ko, tl.col0 + 4u * c4);
              for (var u = 0u; u < QUADS; u++) {
                s[u] += dots_q(x, tl, 4u * u, c4);
                dp[u] += dots_do(y, tl, 4u * u, c4);
              }
            }
          }
        }
        if (live) {
          let tl = Tile(b, h, i0, oc * CHUNK);
          let stats = stat_at(b, h, 0u);
          for (var u = 0u; u < QUADS; u++) {
            let rows = quad_rows(i0 + 4u * u);
            if (rows.w < j) { continue; }
            if (rows.x >= p.seq || (p.window != 0u && rows.x >= j + p.window)) { break; }
            let seen = (rows >= vec4u(j)) & (rows < vec4u(p.seq)) & ((rows < vec4u(j + p.window)) | vec4<bool>(p.window == 0u));
            let r = vec4u(stats) + min(rows, vec4u(p.seq - 1u));
            let prob = select(vec4f(0.0), exp(s[u] * p.scale - vec4f(lse[r.x], lse[r.y], lse[r.z], lse[r.w])), seen);
            let ds = prob * (dp[u] - vec4f(delta[r.x], delta[r.y], delta[r.z], delta[r.w]));
            for (var c4 = 0u; c4 < CHUNK4; c4++) {
              if (c4 >= n4_out) { break; }
              acc_v[c4] = mix_do(prob, tl, 4u * u, c4, acc_v[c4]);
              acc_k[c4] = mix_q(ds, tl, 4u * u, c4, acc_k[c4]);
            }
          }
        }
      }
    }
    if (in_seq) {
      for (var c4 = 0u; c4 < CHUNK4; c4++) {
        if (c4 >= n4_out) { break; }
        store_dk(ko + part, oc * CHUNK + 4u * c4, acc_k[c4] * p.scale);
        store_dv(ko + part, oc * CHUNK + 4u * c4, acc_v[c4]);
      }
    }
  }
}

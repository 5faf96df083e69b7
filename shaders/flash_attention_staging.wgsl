// How flash_attention.wgsl reads its streamed tiles; the host prepends one section.
//   staged: through workgroup memory (GPUs), with a barrier before and after each tile is loaded.
//   direct: straight from the storage buffers (software adapters), and no barrier anywhere in the module: a CPU
//           driver compiles a kernel that has a barrier into coroutines (one per invocation), which takes lavapipe
//           minutes per pipeline even when the barrier can never run.
//! staged
const STAGE = true;
fn tile_barrier() { workgroupBarrier(); }
//! direct
const STAGE = false;
fn tile_barrier() {}

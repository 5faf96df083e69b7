// The output head, logits = h · Wᵀ, and its backward d h = d logits · W, recorded so that no binding exceeds the
// binding limit (Gpu.bindingLimit: the device's maxStorageBufferBindingSize unless lowered). Two things outgrow it:
// the [rows, vocab] logits of a long batch (8 x 256 tokens of a 49152-word vocabulary take 384 MiB, where WebGPU
// guarantees 128 MiB), computed here in pieces of rows; and the [vocab, hidden] weight itself (Qwen2.5's 151936 x 896
// take 519 MiB in f32), stored in vocabulary slices (vocab-table.ts): each slice's [rows, slice] product goes to a
// scratch block and then into its columns of the logits, and d h sums the slices' products d logits[:, slice] · W_slice.
// A weight of one slice with aligned rows writes straight into the logits, as one matmul when they fit one binding.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import type { Plan } from '../gpu/plan.ts';
import { recordCopyBlock } from '../gpu/kernels/copy-block.ts';
import { recordMatmul } from '../gpu/kernels/matmul.ts';
import { formatBytes } from '../report/format.ts';
import type { VocabTable } from './vocab-table.ts';

/** Rows at multiples of 64 start at multiples of 256 bytes (the binding alignment) in any f32 [*, width] array. */
const ROW_ALIGN = 64;
const BIND_ALIGN = 256;

/** Provides a scratch buffer; the head asks for 'head.slice' and 'head.hidden_stage', which callers may share between calls. */
export type Alloc = (label: string, floats: number) => BufferRef;

/**
 * Rows of [*, width] f32 logits per piece: all of them when they fit in one binding of `maxBindingBytes`, else the most
 * that do, as a multiple of 64 rows where at least 64 fit (pieces then start on binding boundaries), else fewer rows
 * with room for an unaligned start. Throws, naming the limit, when not even one row fits.
 */
export function headSliceRows(rows: number, width: number, maxBindingBytes: number): number {
  const rowBytes = width * 4;
  if (rows * rowBytes <= maxBindingBytes) return rows;
  const fit = Math.floor(maxBindingBytes / rowBytes);
  if (fit >= ROW_ALIGN) return Math.floor(fit / ROW_ALIGN) * ROW_ALIGN;
  const unaligned = Math.floor((maxBindingBytes - (BIND_ALIGN - 4)) / rowBytes);
  if (unaligned < 1) {
    throw new Error(`one row of logits of width ${width} (${formatBytes(rowBytes)}) does not fit in one binding of ` +
      `${formatBytes(maxBindingBytes)}: this device cannot compute this model's head`);
  }
  return unaligned;
}

function rowsView(ref: BufferRef, first: number, rows: number, width: number): BufferRef {
  return { buffer: ref.buffer, offset: ref.offset + first * width * 4, size: rows * width * 4 };
}

function aligned(ref: BufferRef): boolean {
  return ref.offset % BIND_ALIGN === 0;
}

function maxSliceRows(table: VocabTable): number {
  return Math.max(...table.slices.map((s) => s.rows));
}

/**
 * logits [rows, vocab] = hidden [rows, hidden] · tableᵀ, in pieces of rows whose logits each bind at most
 * `maxBindingBytes` (gpu.bindingLimit unless given), slice by slice of the table. `alloc` provides the staging and
 * scratch buffers the pieces need (none for a table of one slice with aligned pieces).
 */
export function recordHeadInSlices(gpu: Gpu, plan: Plan, s: { rows: number; maxBindingBytes?: number },
  io: { hidden: BufferRef; table: VocabTable; logits: BufferRef }, alloc: Alloc, label: string): void {
  const { rows } = s;
  const { table } = io;
  const V = table.vocab;
  const H = table.hidden;
  const step = headSliceRows(rows, V, s.maxBindingBytes ?? gpu.bindingLimit);
  const sliced = table.slices.length > 1;
  let stage: BufferRef | null = null;
  let scratch: BufferRef | null = null;
  for (let r0 = 0; r0 < rows; r0 += step) {
    const n = Math.min(step, rows - r0);
    const rowLabel = step === rows ? label : `${label}.rows${r0}`;
    let h = rowsView(io.hidden, r0, n, H);
    if (!aligned(h)) {
      stage ??= alloc('head.hidden_stage', step * H);
      plan.copy(h.buffer, h.offset, stage.buffer, stage.offset, h.size);
      h = { ...stage, size: h.size };
    }
    const out = rowsView(io.logits, r0, n, V);
    for (const slice of table.slices) {
      const sliceLabel = sliced ? `${rowLabel}.v${slice.first}` : rowLabel;
      const mm = { a: h, b: slice.ref, bFormat: table.format, M: n, N: slice.rows, K: H, transB: true };
      if (!sliced && aligned(out)) {
        recordMatmul(gpu, plan, { ...mm, c: out }, sliceLabel);
        continue;
      }
      scratch ??= alloc('head.slice', step * maxSliceRows(table));
      const block = { ...scratch, size: n * slice.rows * 4 };
      recordMatmul(gpu, plan, { ...mm, c: block }, sliceLabel);
      recordCopyBlock(gpu, plan, { rows: n, cols: slice.rows }, { ref: block, stride: slice.rows, row: 0, col: 0 },
        { ref: io.logits, stride: V, row: r0, col: slice.first }, `${sliceLabel}.place`);
    }
  }
}

/**
 * dHidden [rows, hidden] = dLogits [rows, vocab] · table: one matmul for a table of one slice, else the sum over
 * slices of dLogits[:, slice] · W_slice (each slice's columns gathered into a scratch block first). dLogits binds whole.
 */
export function recordHeadBackward(gpu: Gpu, plan: Plan, s: { rows: number },
  io: { dLogits: BufferRef; table: VocabTable; dHidden: BufferRef }, alloc: Alloc, label: string): void {
  const { rows } = s;
  const { table } = io;
  const H = table.hidden;
  if (table.slices.length === 1) {
    recordMatmul(gpu, plan, { a: io.dLogits, b: table.slices[0].ref, bFormat: table.format, c: io.dHidden, M: rows, N: H, K: table.vocab }, label);
    return;
  }
  const scratch = alloc('head.slice', rows * maxSliceRows(table));
  for (const [j, slice] of table.slices.entries()) {
    const block = { ...scratch, size: rows * slice.rows * 4 };
    recordCopyBlock(gpu, plan, { rows, cols: slice.rows }, { ref: io.dLogits, stride: table.vocab, row: 0, col: slice.first },
      { ref: block, stride: slice.rows, row: 0, col: 0 }, `${label}.v${slice.first}.gather`);
    recordMatmul(gpu, plan, { a: block, b: slice.ref, bFormat: table.format, c: io.dHidden, M: rows, N: H, K: slice.rows, beta: j > 0 ? 1 : 0 },
      `${label}.v${slice.first}`);
  }
}

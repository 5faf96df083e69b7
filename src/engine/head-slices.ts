// The output head of a forward or prefill pass, logits = h · Wᵀ, recorded as one matmul per slice of rows so that no
// binding exceeds the device's maxStorageBufferBindingSize: [tokens, vocab] logits of a long batch outgrow it (8 x 256
// tokens of a 49152-word vocabulary take 384 MiB, where WebGPU guarantees 128 MiB) while the buffer itself, bound a
// slice at a time, may be larger. The loss and its backward have their own chunking (chunked-loss.ts).
import type { BufferRef, Gpu } from '../gpu/context.ts';
import type { Plan } from '../gpu/plan.ts';
import { recordMatmul } from '../gpu/kernels/matmul.ts';
import { formatBytes } from '../report/format.ts';

/** Slices start at multiples of this many rows: 64 rows of f32 are a multiple of the 256-byte binding alignment. */
const ROW_ALIGN = 64;

/**
 * Rows per slice: all of them when their logits fit in one binding of `maxBindingBytes`, else the most rows that do,
 * rounded down to a multiple of 64. Throws when not even 64 rows of logits fit.
 */
export function headSliceRows(rows: number, width: number, maxBindingBytes: number): number {
  const rowBytes = width * 4;
  if (rows * rowBytes <= maxBindingBytes) return rows;
  const fit = Math.floor(maxBindingBytes / rowBytes / ROW_ALIGN) * ROW_ALIGN;
  if (fit === 0) {
    throw new Error(`the head's logits need ${formatBytes(ROW_ALIGN * rowBytes)} for ${ROW_ALIGN} rows of width ${width}, ` +
      `more than this device binds at once (${formatBytes(maxBindingBytes)})`);
  }
  return fit;
}

/**
 * logits [rows, width] = hidden [rows, hidden] · weightᵀ, in slices of rows whose logits each bind at most
 * `maxBindingBytes` (the device's limit unless given). The weight is bound whole, as the layers bind their inputs.
 */
export function recordHeadInSlices(gpu: Gpu, plan: Plan, s: { rows: number; width: number; hidden: number; maxBindingBytes?: number },
  io: { hidden: BufferRef; weight: BufferRef; logits: BufferRef }, label: string): void {
  const { rows, width: V, hidden: H } = s;
  const step = headSliceRows(rows, V, s.maxBindingBytes ?? gpu.device.limits.maxStorageBufferBindingSize);
  for (let r0 = 0; r0 < rows; r0 += step) {
    const n = Math.min(step, rows - r0);
    const slice = (ref: BufferRef, cols: number): BufferRef => ({ buffer: ref.buffer, offset: ref.offset + r0 * cols * 4, size: n * cols * 4 });
    recordMatmul(gpu, plan, { a: slice(io.hidden, H), b: io.weight, c: slice(io.logits, V), M: n, N: V, K: H, transB: true },
      step === rows ? label : `${label}.rows${r0}`);
  }
}

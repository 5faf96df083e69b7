// Records strided copies of [rows, cols] blocks between row-major f32 arrays (shaders/copy_block.wgsl): the LM head's
// vocabulary slices write their products into columns of the logits, and read the logits' gradient back out of them.
import source from '../../../shaders/copy_block.wgsl';
import { grid, type BufferRef, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { elementwiseCost } from '../dispatch-cost.ts';
import { record } from './record.ts';

const shader = { name: 'copy_block', code: source };

/** Storage bindings start at multiples of this many bytes. */
const BIND_ALIGN = 256;

/** A block inside a row-major array: `ref` starts at its row 0, column 0 of the array; rows are `stride` floats apart. */
export interface BlockView {
  ref: BufferRef;
  stride: number;
  /** The block's first row and column within `ref`. */
  row: number;
  col: number;
}

/**
 * The binding that covers elements [first, first + count) of `ref` from the 256-byte boundary at or below the first,
 * and the first element's index within it: any block can be bound, whatever its offset.
 */
export function alignedBinding(ref: BufferRef, first: number, count: number): { ref: BufferRef; offset: number } {
  const start = ref.offset + first * 4;
  const base = Math.floor(start / BIND_ALIGN) * BIND_ALIGN;
  return { ref: { buffer: ref.buffer, offset: base, size: start - base + count * 4 }, offset: (start - base) / 4 };
}

/** dst block = src block, both [rows, cols]. */
export function recordCopyBlock(gpu: Gpu, plan: Plan, s: { rows: number; cols: number }, src: BlockView, dst: BlockView, label = 'copy_block'): void {
  const { rows, cols } = s;
  const span = (v: BlockView) => alignedBinding(v.ref, v.row * v.stride + v.col, (rows - 1) * v.stride + cols);
  const a = span(src);
  const b = span(dst);
  const p = gpu.uniform(`${label}.params`, [rows, cols, src.stride, dst.stride, a.offset, b.offset, 0, 0], ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32']);
  record(gpu, plan, {
    shader, entry: 'copy_block', label, bindings: { 0: p, 1: a.ref, 2: b.ref }, workgroups: grid(Math.ceil((rows * cols) / 64)),
    cost: elementwiseCost('copy_block', rows * cols, 0, 1, 1),
  });
}

// One binding that covers several ranges of the same buffer, and each range's element offset within it: how a fused
// projection's kernels reach its parts' compact blocks (outputs, gradients, LoRA factors) through one binding each.
import type { BufferRef } from './context.ts';

/** Storage bindings start on this many bytes (WebGPU's minStorageBufferOffsetAlignment, 256 on every adapter). */
const BIND_ALIGN = 256;

/** The span of `refs` from a 256-byte boundary, or null when they are not all in one buffer at float offsets. */
export function bindingSpan(refs: BufferRef[]): { binding: BufferRef; offsets: number[] } | null {
  const buffer = refs[0].buffer;
  if (refs.some((r) => r.buffer !== buffer || r.offset % 4 !== 0)) return null;
  const start = Math.floor(Math.min(...refs.map((r) => r.offset)) / BIND_ALIGN) * BIND_ALIGN;
  const end = Math.max(...refs.map((r) => r.offset + r.size));
  return { binding: { buffer, offset: start, size: end - start }, offsets: refs.map((r) => (r.offset - start) / 4) };
}

/** Floats rounded up to whole 256-byte units, so that blocks laid one after another each start bindable. */
export function padFloats(floats: number): number {
  return Math.ceil(floats / (BIND_ALIGN / 4)) * (BIND_ALIGN / 4);
}

/** Views of one allocation of `floats.length` compact blocks one after another, each starting on a 256-byte boundary. */
export function allocBlocks(alloc: (label: string, floats: number) => BufferRef, label: string, floats: number[]): BufferRef[] {
  const whole = alloc(label, floats.reduce((n, f) => n + padFloats(f), 0));
  let at = whole.offset;
  return floats.map((f) => {
    const ref = { buffer: whole.buffer, offset: at, size: f * 4 };
    at += padFloats(f) * 4;
    return ref;
  });
}

// Scratch buffers shared by every plan on a device, one per purpose: for intermediates that live from one dispatch to
// the next only (split-K partials, per-head attention partials). Dispatches run in order, so plans can share them; a
// plan that needs more gets a larger buffer, and plans recorded earlier keep the one they bound.
import type { Gpu } from './context.ts';

const buffers = new WeakMap<Gpu, Map<string, GPUBuffer>>();

export function deviceScratch(gpu: Gpu, purpose: string, bytes: number): GPUBuffer {
  let byPurpose = buffers.get(gpu);
  if (!byPurpose) buffers.set(gpu, byPurpose = new Map());
  let buffer = byPurpose.get(purpose);
  if (!buffer || buffer.size < bytes) {
    buffer = gpu.createBuffer(purpose, bytes);
    byPurpose.set(purpose, buffer);
  }
  return buffer;
}

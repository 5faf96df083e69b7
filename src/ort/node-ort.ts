// Loads onnxruntime-web in Node: its WebGPU build on the engine's Dawn device (the `webgpu` package), or its wasm backend.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Gpu } from '../gpu/context.ts';
import { nodeGpuInstance } from '../gpu/node-device.ts';
import { webGpuDecoderFactory, type OrtDecoderFactory, type OrtModule } from './ort-decoder.ts';

const WASM_FILE = 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm';
const COPIES_SHARED_WRITES = Symbol.for('clora.copiesSharedMemoryWrites');

/** Gives Node a `navigator.gpu` (Node 20 has no navigator; later versions have one without `gpu`). */
function provideNavigatorGpu(gpu: GPU): void {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator?.gpu) return;
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
}

/**
 * Makes GPUQueue.writeBuffer accept views of a SharedArrayBuffer by copying them first: Dawn's Node binding throws
 * "Invalid argument" for them. Writes from ordinary buffers are passed through untouched. Installed once per process.
 */
function copySharedMemoryWrites(): void {
  const proto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue & { [COPIES_SHARED_WRITES]?: true } } }).GPUQueue.prototype;
  if (proto[COPIES_SHARED_WRITES]) return;
  const write = proto.writeBuffer;
  proto.writeBuffer = function writeBuffer(this: GPUQueue, buffer: GPUBuffer, offset: number, data: BufferSource | SharedArrayBuffer, dataOffset?: number, size?: number): undefined {
    const view = ArrayBuffer.isView(data) ? data : null;
    if (view && view.buffer instanceof SharedArrayBuffer) {
      // dataOffset and size count elements of a typed array, bytes of a DataView.
      const unit = 'BYTES_PER_ELEMENT' in view ? (view as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
      const start = view.byteOffset + (dataOffset ?? 0) * unit;
      const bytes = size === undefined ? view.byteLength - (dataOffset ?? 0) * unit : size * unit;
      return write.call(this, buffer, offset, new Uint8Array(view.buffer, start, bytes).slice());
    }
    return write.call(this, buffer, offset, data as BufferSource, dataOffset, size);
  } as GPUQueue['writeBuffer'];
  proto[COPIES_SHARED_WRITES] = true;
}

/**
 * onnxruntime-web's WebGPU execution provider on `gpu`'s device (made by createNodeGpu), so both run on the same adapter
 * and device. onnxruntime-web ships no WebGPU support for Node (its Node entry registers only the wasm backend), but
 * its browser build runs in Node given three things a browser would provide: `navigator.gpu`, its wasm binary as bytes
 * (the browser build fetches it by URL, and Node's fetch has no file: URLs), and queue writes from its wasm heap, which
 * lives in a SharedArrayBuffer that Dawn's Node binding refuses. The first session's first run is slow (a minute or two
 * on 2 cores): V8 compiles the 26 MB wasm module's optimised tier in the background, and WebGPU's pipeline callbacks
 * wait behind that work.
 */
export async function nodeWebGpuDecoders(gpu: Gpu): Promise<OrtDecoderFactory> {
  provideNavigatorGpu(nodeGpuInstance());
  copySharedMemoryWrites();
  const ort = (await import('onnxruntime-web/webgpu')) as OrtModule;
  ort.env.wasm.wasmBinary = readFileSync(createRequire(import.meta.url).resolve(WASM_FILE));
  ort.env.logLevel = 'error';
  return webGpuDecoderFactory(ort, gpu.device, 'onnxruntime-web WebGPU (same Dawn device)');
}

/** onnxruntime-web's wasm backend in Node (its Node entry), for comparisons where WebGPU cannot run. */
export async function nodeWasmOrt(): Promise<OrtModule> {
  const ort = (await import('onnxruntime-web')) as OrtModule;
  ort.env.logLevel = 'error';
  return ort;
}

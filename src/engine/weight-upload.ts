// Uploads checkpoint tensors into GPU buffers a piece at a time: each piece is read by byte range into one small
// reusable buffer (widened to f32 in a second one where asked) and written at its offset, so host memory stays at a
// few MiB whatever the tensor's size, and reading leaves no large garbage behind for the collector to find late.
import type { Gpu } from '../gpu/context.ts';
import { dtypeBytes, widenInto } from '../model/safetensors.ts';
import type { WeightReader } from '../model/weights.ts';

/** Elements per piece: 16 MiB of f32 once widened. */
const PIECE_ELEMENTS = 4 << 20;
/** Written bytes after which the upload waits for the queue, so the driver's staging copies are recycled. */
const DRAIN_EVERY_BYTES = 64 * 2 ** 20;

/** Where `stored` or `widened` writes a tensor instead of into a buffer of its own: a buffer from `make`, at a byte offset. */
export interface Destination {
  buffer: GPUBuffer;
  byteOffset: number;
}

export class TensorUploader {
  /** Every buffer made so far, for the caller to own or to destroy on failure. */
  readonly owned: GPUBuffer[] = [];
  /** Bytes of those buffers' contents. */
  bytes = 0;
  private raw: Uint8Array | null = null;
  private wide: Float32Array | null = null;
  private undrained = 0;

  /** `pieceElements`: elements a piece holds (tests make it small to cross piece boundaries on small tensors). */
  constructor(private readonly gpu: Gpu, private readonly reader: WeightReader, private readonly pieceElements = PIECE_ELEMENTS) {}

  /**
   * The tensor's bytes [begin, end) as the file stores them (F16/BF16 stay two to a word), in a new buffer named
   * `label`.
   */
  async stored(name: string, begin = 0, end = this.reader.byteLength(name), label = name, into?: Destination): Promise<GPUBuffer> {
    const size = end - begin;
    const buffer = into?.buffer ?? this.make(label, size);
    const base = into?.byteOffset ?? 0;
    const piece = this.pieceElements * 4;
    for (let at = 0; at < size; at += piece) {
      const n = Math.min(piece, size - at);
      const raw = this.rawBuffer(piece);
      await this.reader.readPart(name, begin + at, n, raw);
      // writeBuffer takes whole words: an odd count of halves at the very end gets a zero half after it.
      const words = Math.ceil(n / 4);
      raw.fill(0, n, words * 4);
      await this.write(buffer, new Uint32Array(raw.buffer, 0, words), base + at);
    }
    return buffer;
  }

  /** The tensor's elements [first, end) widened to f32 (exactly, from F16 or BF16), in a new buffer named `label`. */
  async widened(name: string, first = 0, end = this.reader.byteLength(name) / dtypeBytes(this.reader.dtype(name)), label = name, into?: Destination): Promise<GPUBuffer> {
    const dtype = this.reader.dtype(name);
    const elemBytes = dtypeBytes(dtype);
    const count = end - first;
    const buffer = into?.buffer ?? this.make(label, count * 4);
    const base = into?.byteOffset ?? 0;
    for (let at = 0; at < count; at += this.pieceElements) {
      const n = Math.min(this.pieceElements, count - at);
      const bytes = await this.reader.readPart(name, (first + at) * elemBytes, n * elemBytes, this.rawBuffer(this.pieceElements * elemBytes));
      const out = (this.wide ??= new Float32Array(this.pieceElements)).subarray(0, n);
      widenInto(dtype, bytes, out);
      await this.write(buffer, out, base + at * 4);
    }
    return buffer;
  }

  destroy(): void {
    this.owned.forEach((b) => this.gpu.destroyBuffer(b));
    this.owned.length = 0;
  }

  /** A new buffer of `size` bytes, owned like the others, for tensors written into it at offsets (`into`). */
  make(name: string, size: number): GPUBuffer {
    const buffer = this.gpu.createBuffer(name, size);
    this.owned.push(buffer);
    this.bytes += size;
    return buffer;
  }

  private rawBuffer(size: number): Uint8Array {
    if (!this.raw || this.raw.byteLength < size) this.raw = new Uint8Array(size);
    return this.raw;
  }

  private async write(buffer: GPUBuffer, data: Float32Array | Uint32Array, byteOffset: number): Promise<void> {
    this.gpu.write(buffer, data, byteOffset);
    this.undrained += data.byteLength;
    if (this.undrained >= DRAIN_EVERY_BYTES) {
      this.undrained = 0;
      this.gpu.device.queue.submit([]);
      await this.gpu.device.queue.onSubmittedWorkDone();
    }
  }
}

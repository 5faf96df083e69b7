// The embedding table and the LM head on the GPU as vocabulary slices: consecutive rows of a [vocab, hidden] table,
// each slice its own buffer within one binding (Gpu.bindingLimit, at most the device's maxStorageBufferBindingSize and
// maxBufferSize), so a 151936-word table of 519 MiB in f32 binds on a device that allows 128 MiB. F16 and BF16 tables
// stay packed two per word (half the memory); the gather and the head's matmul read the halves directly. A
// classification head's [classes, hidden] weight is a table of one f32 slice. The gather is here; the head's matmuls
// over the slices are in head-slices.ts.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import type { Plan } from '../gpu/plan.ts';
import { recordEmbeddingForward } from '../gpu/kernels/embedding.ts';
import type { MatmulBFormat } from '../gpu/kernels/matmul.ts';
import { halfWords } from '../model/half.ts';
import { widenTensor, type CheckpointTensor, type WeightReader } from '../model/weights.ts';
import type { TensorUploader } from './weight-upload.ts';
import { formatBytes } from '../report/format.ts';

export interface VocabSlice {
  /** [rows, hidden] in the table's format. */
  ref: BufferRef;
  /** The slice's first vocabulary row. */
  first: number;
  rows: number;
}

export interface VocabTable {
  vocab: number;
  hidden: number;
  format: MatmulBFormat;
  slices: VocabSlice[];
}

/** A table of one slice over a buffer that already holds it (a classification head's f32 weight). */
export function wholeTable(ref: BufferRef, vocab: number, hidden: number): VocabTable {
  return { vocab, hidden, format: 'f32', slices: [{ ref, first: 0, rows: vocab }] };
}

/**
 * Rows per slice of a [vocab, hidden] table of `elementBytes`-byte elements: all of them when the table fits in
 * `maxBytes`, else the most that do (rounded down to an even count, so a slice of packed halves ends on a word).
 */
export function vocabSliceRows(vocab: number, hidden: number, elementBytes: number, maxBytes: number, name = 'the table'): number {
  const rowBytes = hidden * elementBytes;
  if (vocab * rowBytes <= maxBytes) return vocab;
  const rows = Math.floor(maxBytes / rowBytes / 2) * 2;
  if (rows < 2) throw new Error(`${name}: two rows of ${hidden} ${elementBytes * 8}-bit values (${formatBytes(2 * rowBytes)}) exceed the binding limit of ${formatBytes(maxBytes)}`);
  return rows;
}

/**
 * Uploads a [vocab, hidden] checkpoint tensor as slices that each fit gpu.bindingLimit: its F16 or BF16 bytes as they
 * are when `half` (never widened on the host), else widened to f32. Buffers are named after the tensor
 * (`name[first:end]` when sliced).
 */
export function uploadVocabTable(gpu: Gpu, t: CheckpointTensor, half: boolean): VocabTable {
  const { name } = t;
  if (t.shape.length !== 2) throw new Error(`${name}: expected a [vocab, hidden] matrix, got shape [${t.shape.join(', ')}]`);
  const [vocab, hidden] = t.shape;
  const packed = half && (t.dtype === 'F16' || t.dtype === 'BF16');
  const format: MatmulBFormat = packed ? (t.dtype === 'F16' ? 'f16' : 'bf16') : 'f32';
  const rows = vocabSliceRows(vocab, hidden, packed ? 2 : 4, gpu.bindingLimit, name);
  const wide = packed ? null : widenTensor(t).data;
  const slices: VocabSlice[] = [];
  for (let first = 0; first < vocab; first += rows) {
    const n = Math.min(rows, vocab - first);
    const data = wide ? wide.subarray(first * hidden, (first + n) * hidden) : halfWords(t.bytes.subarray(first * hidden * 2, (first + n) * hidden * 2));
    const buffer = gpu.upload(rows === vocab ? name : `${name}[${first}:${first + n}]`, data);
    gpu.setBindingAdvice(buffer, `it is a slice of ${name}, which the engine sizes to Gpu.bindingLimit: this is a bug in the engine`);
    slices.push({ ref: { buffer, offset: 0, size: data.byteLength }, first, rows: n });
  }
  return { vocab, hidden, format, slices };
}

/**
 * Uploads a [vocab, hidden] checkpoint tensor as uploadVocabTable does, reading each slice by range from the checkpoint
 * (a piece at a time, through `up`), so the table is never whole in host memory.
 */
export async function streamVocabTable(gpu: Gpu, up: TensorUploader, reader: WeightReader, name: string, half: boolean): Promise<VocabTable> {
  const shape = reader.shapes.get(name);
  if (!shape || shape.length !== 2) throw new Error(`${name}: expected a [vocab, hidden] matrix, got shape [${shape?.join(', ')}]`);
  const [vocab, hidden] = shape;
  const dtype = reader.dtype(name);
  const packed = half && (dtype === 'F16' || dtype === 'BF16');
  const format: MatmulBFormat = packed ? (dtype === 'F16' ? 'f16' : 'bf16') : 'f32';
  const rows = vocabSliceRows(vocab, hidden, packed ? 2 : 4, gpu.bindingLimit, name);
  const slices: VocabSlice[] = [];
  for (let first = 0; first < vocab; first += rows) {
    const n = Math.min(rows, vocab - first);
    const label = rows === vocab ? name : `${name}[${first}:${first + n}]`;
    const [begin, end] = [first * hidden, (first + n) * hidden];
    const buffer = packed ? await up.stored(name, begin * 2, end * 2, label) : await up.widened(name, begin, end, label);
    gpu.setBindingAdvice(buffer, `it is a slice of ${name}, which the engine sizes to Gpu.bindingLimit: this is a bug in the engine`);
    slices.push({ ref: { buffer, offset: 0, size: packed ? Math.ceil((end - begin) / 2) * 4 : (end - begin) * 4 }, first, rows: n });
  }
  return { vocab, hidden, format, slices };
}

/** Bytes the table's slices take on the GPU. */
export function tableBytes(table: VocabTable): number {
  return table.slices.reduce((sum, s) => sum + s.ref.size, 0);
}

export function destroyTable(gpu: Gpu, table: VocabTable): void {
  for (const s of table.slices) gpu.destroyBuffer(s.ref.buffer);
}

/** out[n, :] = table[ids[n], :] for `tokens` ids: one dispatch per slice, each writing the rows of the ids it holds. */
export function recordVocabGather(gpu: Gpu, plan: Plan, table: VocabTable, tokens: number, io: { ids: GPUBuffer | BufferRef; out: BufferRef }, label = 'embedding'): void {
  const whole = table.slices.length === 1;
  for (const s of table.slices) {
    recordEmbeddingForward(gpu, plan, { tokens, cols: table.hidden, first: s.first, count: s.rows, format: table.format },
      { ids: io.ids, table: s.ref, out: io.out }, whole ? label : `${label}.v${s.first}`);
  }
}

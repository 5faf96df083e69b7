// Reads and writes the safetensors format (u64 header length, JSON header, raw little-endian data), validating untrusted files.
import { FormatError } from '../io/errors.ts';
import type { RandomAccessFile } from '../io/random-access.ts';
import { halfTable, packHalf, type HalfDtype } from './half.ts';

/** Every dtype the format defines, with its size in bytes; only the float ones can be widened to f32. */
const DTYPE_BYTES = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

const LOADABLE: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16', 'F64']);

export interface TensorEntry {
  /** The file the tensor came from, so later errors (e.g. an unloadable dtype) can name it. */
  readonly file: string;
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  /** A view into the parsed buffer, not a copy. */
  readonly bytes: Uint8Array;
}

export interface SafetensorsFile {
  readonly file: string;
  readonly metadata: Record<string, string> | null;
  /** In header order. */
  readonly tensors: Map<string, TensorEntry>;
}

export interface HostTensorLike {
  readonly shape: readonly number[];
  /** Written as F32, or as F64 for a Float64Array. */
  readonly data: Float32Array | Float64Array;
}

function isIntIn(x: unknown, max: number): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= max;
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Where a tensor's bytes lie in its file, from the header; `begin`/`end` count from the start of the file. */
export interface TensorInfo {
  readonly file: string;
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly file: string;
  readonly metadata: Record<string, string> | null;
  /** In header order. */
  readonly tensors: Map<string, TensorInfo>;
}

/** The format's own cap on the JSON header (100 MB); a larger length means a corrupt or foreign file. */
const MAX_HEADER_BYTES = 100_000_000;

/** The header length from the first 8 bytes, checked against the file's size. */
function headerLength(file: string, first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8) throw new FormatError(file, `too short for a safetensors file (${fileSize} bytes)`);
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const headerLen = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  if (headerLen > fileSize - 8) {
    throw new FormatError(file, `header length ${headerLen} runs past the end of the file (${fileSize} bytes); not a safetensors file or truncated`);
  }
  if (headerLen > MAX_HEADER_BYTES) throw new FormatError(file, `header length ${headerLen} exceeds the format's limit of ${MAX_HEADER_BYTES} bytes; not a safetensors file`);
  return headerLen;
}

/** Validates the JSON header of a file of `fileSize` bytes: dtypes, shapes, offsets inside the data, no overlaps. */
function parseHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerText = new TextDecoder('utf-8').decode(headerBytes);
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (e) {
    throw new FormatError(file, 'header is not valid JSON', { detail: e instanceof Error ? e.message : String(e), cause: e });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new FormatError(file, 'header is not a JSON object');
  }
  const dataStart = 8 + headerBytes.byteLength;
  const dataLen = fileSize - dataStart;

  let metadata: Record<string, string> | null = null;
  const tensors = new Map<string, TensorInfo>();
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new FormatError(file, '__metadata__ is not an object of strings');
      }
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw new FormatError(file, `__metadata__ value for "${k}" is not a string`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const bad = (problem: string) => new FormatError(file, `tensor ${name}: ${problem}`);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('header entry is not an object');
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string') throw bad('missing dtype');
    if (!Object.prototype.hasOwnProperty.call(DTYPE_BYTES, dtype)) {
      throw bad(`unsupported dtype "${dtype}" (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => isIntIn(d, Number.MAX_SAFE_INTEGER))) {
      throw bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !isIntIn(offsets[0], Number.MAX_SAFE_INTEGER) || !isIntIn(offsets[1], Number.MAX_SAFE_INTEGER)) {
      throw bad(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw bad(`data_offsets [${begin},${end}] out of range (begin after end)`);
    if (end > dataLen) {
      throw bad(`data_offsets [${begin},${end}] out of range: past the end of the data section (${dataLen} bytes); the file is truncated or its header is wrong`);
    }
    const need = numel(shape) * DTYPE_BYTES[dtype as SafetensorsDtype];
    if (need !== end - begin) {
      throw bad(`shape ${fmtShape(shape)} of ${dtype} needs ${need} bytes but data_offsets [${begin},${end}] hold ${end - begin}`);
    }
    spans.push({ name, begin, end });
    tensors.set(name, { file, name, dtype: dtype as SafetensorsDtype, shape: shape.slice(), begin: dataStart + begin, end: dataStart + end });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1];
    const cur = spans[i];
    if (cur.begin < prev.end) {
      throw new FormatError(file, `tensor ${cur.name}: data_offsets [${cur.begin},${cur.end}] overlap tensor ${prev.name} [${prev.begin},${prev.end}]`);
    }
  }
  return { file, metadata, tensors };
}

/** Parses and validates a whole safetensors file held in memory; tensor bytes are views into `buf`. */
export function parseSafetensors(buf: Uint8Array, file = 'model.safetensors'): SafetensorsFile {
  const headerLen = headerLength(file, buf, buf.byteLength);
  const header = parseHeader(file, buf.subarray(8, 8 + headerLen), buf.byteLength);
  const tensors = new Map<string, TensorEntry>();
  for (const [name, t] of header.tensors) {
    tensors.set(name, { file, name, dtype: t.dtype, shape: t.shape, bytes: buf.subarray(t.begin, t.end) });
  }
  return { file, metadata: header.metadata, tensors };
}

/** Reads and validates only the header of a file opened for range reads (two small reads, whatever the file's size). */
export async function readSafetensorsHeader(f: RandomAccessFile): Promise<SafetensorsHeader> {
  if (f.size < 8) throw new FormatError(f.name, `too short for a safetensors file (${f.size} bytes)`);
  const headerLen = headerLength(f.name, await f.read(0, 8), f.size);
  return parseHeader(f.name, await f.read(8, headerLen), f.size);
}

/**
 * Reads one tensor's bytes from a file whose header `info` came from: into a fresh, aligned array, or to the start of
 * `into` when given.
 */
export async function readTensor(f: RandomAccessFile, info: TensorInfo, into?: Uint8Array): Promise<TensorEntry> {
  let bytes: Uint8Array;
  try {
    bytes = await f.read(info.begin, info.end - info.begin, into);
    // A source that ignored `into` still gives the caller its bytes where it asked for them.
    if (into && bytes.buffer !== into.buffer) {
      into.set(bytes);
      bytes = into.subarray(0, bytes.byteLength);
    }
  } catch (e) {
    const why = e instanceof FormatError ? e.problem : e instanceof Error ? e.message : String(e);
    throw new FormatError(info.file, `tensor ${info.name}: ${why}`, { cause: e });
  }
  return { file: info.file, name: info.name, dtype: info.dtype, shape: info.shape, bytes };
}

/** Bytes at an unaligned offset cannot back a typed array view, so those are copied first. */
function aligned(bytes: Uint8Array, size: number): ArrayBuffer {
  if (bytes.byteOffset % size === 0) return bytes.buffer as ArrayBuffer;
  return bytes.slice().buffer as ArrayBuffer;
}

function alignedOffset(bytes: Uint8Array, size: number): number {
  return bytes.byteOffset % size === 0 ? bytes.byteOffset : 0;
}

/** Bytes per element of each dtype. */
export function dtypeBytes(dtype: SafetensorsDtype): number {
  return DTYPE_BYTES[dtype];
}

/**
 * Widens `out.length` values of a float dtype from `bytes` into `out` (a part of a tensor at a time, when the caller
 * reads it in pieces). F16 and BF16 convert exactly; F64 rounds to nearest. Assumes a little-endian host, as all
 * WebGPU hosts are.
 */
export function widenInto(dtype: 'F32' | 'F16' | 'BF16' | 'F64', bytes: Uint8Array, out: Float32Array): void {
  const n = out.length;
  switch (dtype) {
    case 'F32':
      out.set(new Float32Array(aligned(bytes, 4), alignedOffset(bytes, 4), n));
      break;
    case 'F64':
      out.set(new Float64Array(aligned(bytes, 8), alignedOffset(bytes, 8), n));
      break;
    case 'F16': {
      const src = new Uint16Array(aligned(bytes, 2), alignedOffset(bytes, 2), n);
      const dst = new Uint32Array(out.buffer, out.byteOffset, n);
      const table = halfTable();
      for (let i = 0; i < n; i++) dst[i] = table[src[i]];
      break;
    }
    case 'BF16': {
      const src = new Uint16Array(aligned(bytes, 2), alignedOffset(bytes, 2), n);
      const dst = new Uint32Array(out.buffer, out.byteOffset, n);
      for (let i = 0; i < n; i++) dst[i] = src[i] << 16;
      break;
    }
  }
}

/** Widens a float tensor to a fresh Float32Array (never a view, so the file buffer can be freed). */
export function toFloat32(entry: TensorEntry): Float32Array {
  const { dtype } = entry;
  if (!LOADABLE.has(dtype)) {
    throw new FormatError(entry.file, `tensor ${entry.name}: dtype ${dtype} cannot be loaded as floats (supported: F32, F16, BF16, F64)`);
  }
  const out = new Float32Array(numel(entry.shape));
  widenInto(dtype as 'F32' | 'F16' | 'BF16' | 'F64', entry.bytes, out);
  return out;
}

/**
 * Serialises f32 (and f64) tensors in the given order, the f32 ones as `opts.float32As` (default F32; F16 and BF16
 * round to nearest even). The header is padded with spaces to a multiple of 8 bytes (the format allows trailing
 * whitespace) so every tensor starts 8-byte aligned for readers that map the file.
 */
export function writeSafetensors(
  tensors: Record<string, HostTensorLike> | Map<string, HostTensorLike>,
  metadata?: Record<string, string>,
  opts: { float32As?: 'F32' | HalfDtype } = {},
): Uint8Array {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const half = opts.float32As === 'F16' || opts.float32As === 'BF16' ? opts.float32As : null;
  const payloads: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    if (name === '__metadata__') throw new Error('writeSafetensors: "__metadata__" is reserved and cannot name a tensor');
    if (t.data.length !== numel(t.shape)) {
      throw new Error(`writeSafetensors: ${name} has ${t.data.length} values but shape ${fmtShape(t.shape)}`);
    }
    const wide = t.data instanceof Float64Array;
    const bytes = !wide && half
      ? new Uint8Array(packHalf(t.data as Float32Array, half).buffer, 0, t.data.length * 2)
      : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: wide ? 'F64' : half ?? 'F32', shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    payloads.push(bytes);
    offset += bytes.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, headerLen, true);
  dv.setUint32(4, Math.floor(headerLen / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const bytes of payloads) {
    out.set(bytes, pos);
    pos += bytes.byteLength;
  }
  return out;
}

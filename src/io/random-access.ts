// Random access to one file's bytes by range, so a reader takes what it needs (a header, one tensor) without the whole
// file in memory: checkpoints over 2 GiB, and models kept in browser storage, are read a piece at a time.
import { FormatError } from './errors.ts';

/**
 * One open file. Every source of model files (a folder in Node, picked Files, a URL prefix, memory, browser storage)
 * hands these out through `FileSource.open`, and readers such as the safetensors loader ask only for byte ranges.
 */
export interface RandomAccessFile {
  /** The file's name as errors show it. */
  readonly name: string;
  /** Its size in bytes (may exceed 2 GiB: offsets are plain numbers, exact up to 2^53). */
  readonly size: number;
  /**
   * Exactly `length` bytes from `offset`, in a fresh array the caller owns, or, when `into` is given (at least
   * `length` bytes), written to its start and returned as a view of it: a reader that reuses one buffer for every
   * tensor leaves no garbage behind. A range past the end of the file is a FormatError naming the file (a truncated
   * download or a header that lies), never a short read.
   */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /** Releases what the file holds (a Node file descriptor); later reads fail. Safe to call twice. */
  close(): Promise<void>;
}

/** Throws a FormatError naming `name` when [offset, offset + length) is not a range inside a file of `size` bytes. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new RangeError(`${name}: invalid byte range (offset ${offset}, length ${length})`);
  }
  if (offset + length > size) {
    throw new FormatError(name, `bytes ${offset}..${offset + length} lie past the end of the file (${size} bytes); the file is truncated or its header is wrong`);
  }
}

/** Where a read of `length` bytes goes: the start of `into` (checked to be large enough), else a fresh array. */
export function target(name: string, length: number, into?: Uint8Array): Uint8Array {
  if (!into) return new Uint8Array(length);
  if (into.byteLength < length) throw new RangeError(`${name}: a read of ${length} bytes into a buffer of ${into.byteLength}`);
  return into.subarray(0, length);
}

/** A file held in memory; reads copy, so callers may keep or transfer what they get. */
export function bytesRandomAccess(name: string, bytes: Uint8Array): RandomAccessFile {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length, into) {
      checkRange(name, bytes.byteLength, offset, length);
      const out = target(name, length, into);
      out.set(bytes.subarray(offset, offset + length));
      return out;
    },
    async close() {},
  };
}

/** A browser File or Blob, read through `slice`, so only the requested range is ever loaded. */
export function blobRandomAccess(name: string, blob: Blob): RandomAccessFile {
  return {
    name,
    size: blob.size,
    async read(offset, length, into) {
      checkRange(name, blob.size, offset, length);
      const got = new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
      // A file changed on disk after it was picked reads short rather than failing.
      if (got.byteLength !== length) throw new FormatError(name, `read ${got.byteLength} of ${length} bytes at offset ${offset}; the file changed after it was picked`);
      if (!into) return got;
      const out = target(name, length, into);
      out.set(got);
      return out;
    },
    async close() {},
  };
}

/** Reads a whole file through its handle (small files such as JSON, or sources that cannot do better). */
export async function readWhole(file: RandomAccessFile): Promise<Uint8Array> {
  return file.read(0, file.size);
}

/** Opens, runs `use` and closes, also when `use` throws. */
export async function withFile<T>(open: Promise<RandomAccessFile>, use: (file: RandomAccessFile) => Promise<T>): Promise<T> {
  const file = await open;
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

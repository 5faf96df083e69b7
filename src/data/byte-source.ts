// A file's bytes as an incremental stream that works alike over browser Files, memory and (in node-byte-source.ts) Node files.

export interface ByteSource {
  /** The file name (no folder), used for the task name, the format and every error message. */
  readonly name: string;
  /** Total bytes when known up front, for progress reports. */
  readonly size: number | null;
  /** A fresh pass over the bytes, in chunks; each call starts again from the beginning. */
  stream(): AsyncIterable<Uint8Array>;
}

/** Chunk size used by the in-memory source and the Node file source. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

/** A browser File or Blob (a Blob has no name, so give one). Reads through `blob.stream()`, never whole. */
export function fileByteSource(file: Blob, name?: string): ByteSource {
  const fileName = name ?? (file as Partial<File>).name ?? 'blob';
  return {
    name: fileName,
    size: file.size,
    async *stream() {
      // getReader rather than async iteration of the ReadableStream, which older Safari and Chrome lack.
      const reader = file.stream().getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      } finally {
        reader.releaseLock();
      }
    },
  };
}

/** Bytes or text held in memory (tests, pasted data), handed out in chunks of `chunkSize` bytes. */
export function bytesSource(name: string, data: Uint8Array | string, chunkSize = DEFAULT_CHUNK_SIZE): ByteSource {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new Error(`chunk size must be a positive integer, got ${chunkSize}`);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return {
    name,
    size: bytes.byteLength,
    async *stream() {
      for (let at = 0; at < bytes.byteLength; at += chunkSize) yield bytes.subarray(at, at + chunkSize);
    },
  };
}

/** The lower-case extension of a file name without the dot ('' when there is none). */
export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** The last component of a path (a folder keeps its full name, dots included). */
export function baseName(path: string): string {
  const norm = path.replace(/\\/g, '/').replace(/\/+$/, '');
  return norm.slice(norm.lastIndexOf('/') + 1);
}

/** A file name without its folder and extension: the default task name. */
export function stemOf(name: string): string {
  const file = baseName(name);
  const dot = file.lastIndexOf('.');
  return dot > 0 ? file.slice(0, dot) : file;
}

// Incremental UTF-8 decoding of a ByteSource with exact line numbers for invalid bytes, and a streaming line splitter.
import { FormatError } from '../io/errors.ts';
import type { ByteSource } from './byte-source.ts';

/** Called after every chunk with the bytes read so far and the total when known. */
export type ProgressCallback = (bytesRead: number, totalBytes: number | null) => void;

const NEWLINE = 0x0a;

/** Number of '\n' in `text`. */
export function countNewlines(text: string, from = 0, to = text.length): number {
  let n = 0;
  for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) n++;
  return n;
}

function countNewlineBytes(bytes: Uint8Array, to: number): number {
  let n = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1 && at < to; at = bytes.indexOf(NEWLINE, at + 1)) n++;
  return n;
}

/**
 * Index of the first byte that starts an ill-formed UTF-8 sequence (the rules TextDecoder applies: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or -1 when every sequence is well-formed or only cut off at the end.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const c = bytes[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let more: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) more = 1;
    else if (c === 0xe0) (more = 2), (lo = 0xa0);
    else if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) more = 2;
    else if (c === 0xed) (more = 2), (hi = 0x9f);
    else if (c === 0xf0) (more = 3), (lo = 0x90);
    else if (c >= 0xf1 && c <= 0xf3) more = 3;
    else if (c === 0xf4) (more = 3), (hi = 0x8f);
    else return i;
    for (let k = 1; k <= more; k++) {
      if (i + k >= n) return -1;
      const b = bytes[i + k];
      if (k === 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf) return i;
    }
    i += more + 1;
  }
  return -1;
}

/** The trailing bytes of a well-formed prefix that begin a multi-byte character not yet complete. */
function incompleteTail(bytes: Uint8Array): Uint8Array {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 4); i--) {
    const c = bytes[i];
    if ((c & 0xc0) === 0x80) continue;
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return bytes.length - i < need ? bytes.slice(i) : new Uint8Array(0);
  }
  return new Uint8Array(0);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * A fatal TextDecoder in stream mode that keeps count of lines, so a bad byte is reported as
 * `file:line: invalid UTF-8` with the exact line even when the bad sequence straddles two chunks.
 * A leading byte-order mark is dropped.
 */
export class Utf8ChunkDecoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** Bytes at the end of the last chunk that start a character the next chunk completes. */
  private pending: Uint8Array = new Uint8Array(0);
  /** 1-based line at the current position. */
  line = 1;
  /** Bytes decoded so far. */
  bytes = 0;

  constructor(readonly file: string) {}

  decode(chunk: Uint8Array): string {
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch (e) {
      const joined = concat(this.pending, chunk);
      const at = firstInvalidUtf8(joined);
      const line = this.line + (at < 0 ? 0 : countNewlineBytes(joined, at));
      const offset = this.bytes - this.pending.length + Math.max(at, 0);
      throw new FormatError(this.file, 'invalid UTF-8', { line, detail: `byte offset ${offset}`, cause: e });
    }
    const tailWindow = chunk.length >= 4 ? chunk.subarray(chunk.length - 4) : concat(this.pending, chunk);
    this.pending = incompleteTail(tailWindow);
    this.line += countNewlines(text);
    this.bytes += chunk.length;
    return text;
  }

  /** Flushes the decoder; throws when the file ends inside a multi-byte character. */
  end(): string {
    try {
      return this.decoder.decode();
    } catch (e) {
      throw new FormatError(this.file, 'invalid UTF-8', { line: this.line, detail: 'the file ends inside a multi-byte character', cause: e });
    }
  }
}

/** Reads a source chunk by chunk, reporting progress after each chunk. */
export async function* readChunks(source: ByteSource, onProgress?: ProgressCallback): AsyncGenerator<Uint8Array> {
  let read = 0;
  for await (const chunk of source.stream()) {
    if (chunk.byteLength === 0) continue;
    read += chunk.byteLength;
    yield chunk;
    onProgress?.(read, source.size);
  }
}

/** Decoded text of a source in pieces as they arrive; a piece may end anywhere, even inside a line. */
export async function* readTextChunks(source: ByteSource, onProgress?: ProgressCallback): AsyncGenerator<string> {
  const decoder = new Utf8ChunkDecoder(source.name);
  for await (const chunk of readChunks(source, onProgress)) {
    const text = decoder.decode(chunk);
    if (text) yield text;
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

/**
 * Calls `onLine` for every line of a source with its 1-based number, reading incrementally: only the current
 * chunk and the unfinished line are held. A trailing '\r' is removed; the last line needs no newline.
 */
export async function forEachLine(
  source: ByteSource,
  onLine: (text: string, line: number) => void,
  onProgress?: ProgressCallback,
): Promise<void> {
  let carry = '';
  let line = 1;
  const emit = (text: string) => onLine(text.endsWith('\r') ? text.slice(0, -1) : text, line++);
  for await (const piece of readTextChunks(source, onProgress)) {
    const text = carry + piece;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      emit(text.slice(start, nl));
      start = nl + 1;
    }
    carry = start === 0 ? text : text.slice(start);
  }
  if (carry.length > 0) emit(carry);
}

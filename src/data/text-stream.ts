// Incremental UTF-8 decoding of a ByteSource with exact line numbers for invalid bytes, and a streaming line splitter.
import { FormatError } from '../io/errors.ts';
import { nonUtf8Encoding, NOT_UTF8_ADVICE, SNIFF_BYTES } from '../io/text-encoding.ts';
import type { ByteSource } from './byte-source.ts';

/** Called after every chunk with the bytes read so far and the total when known. */
export type ProgressCallback = (bytesRead: number, totalBytes: number | null) => void;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Number of line breaks in `text` between `from` and `to`: of '\n' (also ending '\r\n'), or of `lineBreak`. */
export function countNewlines(text: string, from = 0, to = text.length, lineBreak: '\n' | '\r' = '\n'): number {
  let n = 0;
  for (let at = text.indexOf(lineBreak, from); at !== -1 && at < to; at = text.indexOf(lineBreak, at + 1)) n++;
  return n;
}

function countNewlineBytes(bytes: Uint8Array, to: number, lineBreak = NEWLINE): number {
  let n = 0;
  for (let at = bytes.indexOf(lineBreak); at !== -1 && at < to; at = bytes.indexOf(lineBreak, at + 1)) n++;
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
 * A leading byte-order mark is dropped. Text in UTF-16 or UTF-32 (recognised from the first bytes) and NUL bytes,
 * which no text file holds, are refused with what the file is and what to do. Lines end at '\n' or '\r\n', or at
 * '\r' in a file whose first line break is a lone '\r' (old Mac files).
 */
export class Utf8ChunkDecoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** Bytes at the end of the last chunk that start a character the next chunk completes. */
  private pending: Uint8Array = new Uint8Array(0);
  /** The first bytes, kept until the encoding has been recognised (then null). */
  private head: Uint8Array | null = new Uint8Array(0);
  /** The line-break character counted: '\n', or '\r' in a CR-only file; null until the first line break. */
  private lineBreak: '\n' | '\r' | null = null;
  /** The last text ended in '\r' before the line-break style was known. */
  private pendingCr = false;
  /** 1-based line at the current position. */
  line = 1;
  /** Bytes decoded so far. */
  bytes = 0;

  constructor(readonly file: string) {}

  /** True when lines end at a lone '\r' (known from the first line break on). */
  get crOnly(): boolean {
    return this.lineBreak === '\r';
  }

  decode(chunk: Uint8Array): string {
    if (this.head !== null) this.checkEncoding(chunk, false);
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch (e) {
      // Bytes of UTF-16 or UTF-32 are invalid UTF-8 too: say which it is, even when fewer bytes than usual were seen
      // (the first bytes, this chunk's included, are still held while the encoding is undecided).
      const found = this.head === null ? null : nonUtf8Encoding(this.head, true);
      if (found) throw new FormatError(this.file, 'not UTF-8 text', { line: 1, detail: found });
      const joined = concat(this.pending, chunk);
      const at = firstInvalidUtf8(joined);
      const line = this.line + (at < 0 ? 0 : countNewlineBytes(joined, at, this.lineBreakByte(joined, at)));
      const offset = this.bytes - this.pending.length + Math.max(at, 0);
      throw new FormatError(this.file, 'invalid UTF-8', { line, detail: `byte offset ${offset}; ${NOT_UTF8_ADVICE}`, cause: e });
    }
    const nul = text.indexOf('\0');
    if (nul >= 0) {
      // UTF-16 shows as NUL bytes; said as such even when fewer bytes than usual have been seen.
      const found = this.head === null ? null : nonUtf8Encoding(this.head, true);
      if (found) throw new FormatError(this.file, 'not UTF-8 text', { line: 1, detail: found });
      this.countLines(text.slice(0, nul));
      throw new FormatError(this.file, 'a NUL byte: this is not a text file', { line: this.line, detail: NOT_UTF8_ADVICE });
    }
    const tailWindow = chunk.length >= 4 ? chunk.subarray(chunk.length - 4) : concat(this.pending, chunk);
    this.pending = incompleteTail(tailWindow);
    this.countLines(text);
    this.bytes += chunk.length;
    return text;
  }

  /** Flushes the decoder; throws when the file ends inside a multi-byte character. */
  end(): string {
    if (this.head !== null) this.checkEncoding(new Uint8Array(0), true);
    try {
      return this.decoder.decode();
    } catch (e) {
      throw new FormatError(this.file, 'invalid UTF-8', { line: this.line, detail: `the file ends inside a multi-byte character; ${NOT_UTF8_ADVICE}`, cause: e });
    }
  }

  /** The byte that ends lines in `bytes` before `to`: as already known, else as the first line break there says. */
  private lineBreakByte(bytes: Uint8Array, to: number): number {
    if (this.lineBreak !== null) return this.lineBreak === '\r' ? CARRIAGE_RETURN : NEWLINE;
    for (let i = 0; i < to; i++) {
      if (bytes[i] === NEWLINE) return NEWLINE;
      if (bytes[i] === CARRIAGE_RETURN) return bytes[i + 1] === NEWLINE ? NEWLINE : CARRIAGE_RETURN;
    }
    return NEWLINE;
  }

  /** Adds `chunk` to the first bytes and refuses the file once they show UTF-16 or UTF-32. */
  private checkEncoding(chunk: Uint8Array, final: boolean): void {
    const head = concat(this.head!, chunk.subarray(0, SNIFF_BYTES));
    const found = nonUtf8Encoding(head, final);
    if (found === undefined) {
      this.head = head;
      return;
    }
    this.head = null;
    if (found !== null) throw new FormatError(this.file, 'not UTF-8 text', { line: 1, detail: found });
  }

  /** Moves `line` past the line breaks of `text`, choosing the style at the first break. */
  private countLines(text: string): void {
    if (text === '') return;
    if (this.lineBreak === null) {
      if (this.pendingCr) {
        this.pendingCr = false;
        this.lineBreak = text[0] === '\n' ? '\n' : '\r';
        if (this.lineBreak === '\r') this.line++;
      } else {
        const lf = text.indexOf('\n');
        const cr = text.indexOf('\r');
        if (cr >= 0 && (lf < 0 || cr < lf)) {
          if (cr === text.length - 1) {
            this.pendingCr = true;
            return;
          }
          this.lineBreak = text[cr + 1] === '\n' ? '\n' : '\r';
        } else if (lf >= 0) {
          this.lineBreak = '\n';
        } else {
          return;
        }
      }
    }
    this.line += countNewlines(text, 0, text.length, this.lineBreak);
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
 * chunk and the unfinished line are held. Lines end at '\n', '\r\n' or a lone '\r' (old Mac files, whose lines
 * the user means as lines); the last line needs no line break (`unterminated` is then true).
 */
export async function forEachLine(
  source: ByteSource,
  onLine: (text: string, line: number, unterminated?: boolean) => void,
  onProgress?: ProgressCallback,
): Promise<void> {
  // Only the new piece is searched for line breaks, so a line longer than many pieces costs its length, not more.
  let carry = '';
  let line = 1;
  let afterCr = false; // the last piece ended in '\r': a '\n' starting this one belongs to it
  for await (const piece of readTextChunks(source, onProgress)) {
    let start = afterCr && piece[0] === '\n' ? 1 : 0;
    afterCr = false;
    // The next '\r' and '\n' at or after `start`, each looked up again only once passed.
    let cr = piece.indexOf('\r', start);
    let lf = piece.indexOf('\n', start);
    for (;;) {
      if (cr !== -1 && cr < start) cr = piece.indexOf('\r', start);
      if (lf !== -1 && lf < start) lf = piece.indexOf('\n', start);
      const end = cr !== -1 && (lf === -1 || cr < lf) ? cr : lf;
      if (end === -1) break;
      onLine(carry + piece.slice(start, end), line++);
      carry = '';
      start = end + 1;
      if (end === cr) {
        if (start === piece.length) afterCr = true;
        else if (piece[start] === '\n') start++;
      }
    }
    carry += start === 0 ? piece : piece.slice(start);
  }
  if (carry.length > 0) onLine(carry, line, true);
}

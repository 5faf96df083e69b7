// Recognises text that is not UTF-8 from its first bytes (UTF-16 and UTF-32, with or without a byte-order mark), so
// that readers can say what the file is and what to do instead of reporting the first character they trip on.

/** Byte-order marks of the encodings readers refuse, longest first (UTF-32 LE starts like UTF-16 LE). */
const MARKS: ReadonlyArray<{ bytes: number[]; name: string }> = [
  { bytes: [0xff, 0xfe, 0x00, 0x00], name: 'UTF-32 (little-endian, with a byte-order mark)' },
  { bytes: [0x00, 0x00, 0xfe, 0xff], name: 'UTF-32 (big-endian, with a byte-order mark)' },
  { bytes: [0xff, 0xfe], name: 'UTF-16 (little-endian, with a byte-order mark)' },
  { bytes: [0xfe, 0xff], name: 'UTF-16 (big-endian, with a byte-order mark)' },
];

/** Bytes looked at to recognise UTF-16 without a byte-order mark. */
export const SNIFF_BYTES = 64;

const ADVICE = 'save it as UTF-8 text';

/**
 * The encoding `head` (a file's first bytes) is in when it is one readers refuse, as a sentence ending in what to
 * do; null when it may be UTF-8; undefined when more bytes are needed to tell (`final` says there are no more).
 * Without a byte-order mark, UTF-16 text of mostly ASCII characters shows as a NUL byte in every pair, at the odd
 * offsets (little-endian) or the even ones (big-endian): more than half of the pairs looked at, and the first.
 */
export function nonUtf8Encoding(head: Uint8Array, final: boolean): string | null | undefined {
  for (const { bytes, name } of MARKS) {
    const n = Math.min(bytes.length, head.length);
    if (bytes.slice(0, n).every((b, i) => head[i] === b)) {
      if (n === bytes.length) return `the file is ${name} text; ${ADVICE}`;
      if (!final) return undefined;
    }
  }
  if (head.length < SNIFF_BYTES && !final) return undefined;
  const pairs = Math.floor(Math.min(head.length, SNIFF_BYTES) / 2);
  if (pairs === 0) return null;
  let lowNul = 0;
  let highNul = 0;
  for (let p = 0; p < pairs; p++) {
    const a = head[2 * p];
    const b = head[2 * p + 1];
    if (a !== 0 && b === 0) lowNul++;
    if (a === 0 && b !== 0) highNul++;
  }
  if (head[0] !== 0 && head[1] === 0 && lowNul * 2 > pairs) return `the file is UTF-16 (little-endian, without a byte-order mark) text: every other byte is NUL; ${ADVICE}`;
  if (head[0] === 0 && head[1] !== 0 && highNul * 2 > pairs) return `the file is UTF-16 (big-endian, without a byte-order mark) text: every other byte is NUL; ${ADVICE}`;
  return null;
}

/** What to tell about bytes that are not UTF-8 when no other encoding was recognised. */
export const NOT_UTF8_ADVICE = 'the file must be UTF-8 text: save it as UTF-8 (is it binary, or in Latin-1 or Windows-1252?)';

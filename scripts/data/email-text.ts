// Turns a raw RFC 822 email into short plain text: the decoded subject and the start of the first text body, without headers, MIME or HTML.

/** One parsed message or MIME part: header fields (lower-case names, unfolded) and the raw body. */
interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Splits a message or part at its first empty line and unfolds continuation lines of the header block. */
function parsePart(raw: string): Part {
  const text = raw.replace(/\r\n?/g, '\n');
  const cut = text.search(/\n\n/);
  const head = cut < 0 ? text : text.slice(0, cut);
  const body = cut < 0 ? '' : text.slice(cut + 2);
  const headers = new Map<string, string>();
  let last: string | null = null;
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && last !== null) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`);
      continue;
    }
    const m = /^([!-9;-~]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    last = m[1].toLowerCase();
    // The first occurrence wins, as mail readers show it.
    if (!headers.has(last)) headers.set(last, m[2].trim());
  }
  return { headers, body };
}

/** A header parameter such as charset or boundary, with quotes removed; null when absent. */
function headerParam(value: string, name: string): string | null {
  const m = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
  return m ? (m[1] ?? m[2]) : null;
}

/** Decodes bytes in a named charset, falling back to Latin-1 for charsets TextDecoder does not know. */
function decodeBytes(bytes: Uint8Array, charset: string | null): string {
  const label = (charset ?? 'us-ascii').toLowerCase().replace(/^3d/, '');
  try {
    return new TextDecoder(label === 'us-ascii' ? 'windows-1252' : label).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

/** The code units of a string (each below 256 after a Latin-1 reading) as bytes. */
function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function decodeQuotedPrintable(s: string, header: boolean): Uint8Array {
  const src = header ? s.replace(/_/g, ' ') : s.replace(/=[ \t]*\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(src.slice(i + 1, i + 3))) {
      out.push(parseInt(src.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const code = src.charCodeAt(i);
      if (code < 0x80) out.push(code);
      else for (const b of new TextEncoder().encode(c)) out.push(b);
    }
  }
  return Uint8Array.from(out);
}

function decodeBase64(s: string): Uint8Array {
  const clean = s.replace(/[^A-Za-z0-9+/]/g, '');
  return new Uint8Array(Buffer.from(clean.slice(0, clean.length - (clean.length % 4)), 'base64'));
}

/** Decodes RFC 2047 encoded words (=?charset?B|Q?text?=) in a header value. */
export function decodeHeaderWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_all, charset: string, enc: string, text: string) => {
      const bytes = enc.toUpperCase() === 'B' ? decodeBase64(text) : decodeQuotedPrintable(text, true);
      return decodeBytes(bytes, charset.replace(/\*.*$/, ''));
    });
}

/** The body of a leaf part as text, undoing its transfer encoding and charset. */
function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  const charset = headerParam(part.headers.get('content-type') ?? '', 'charset');
  if (encoding === 'base64') return decodeBytes(decodeBase64(part.body), charset);
  if (encoding === 'quoted-printable') return decodeBytes(decodeQuotedPrintable(part.body, false), charset);
  return part.body;
}

/** The first text part of a (possibly multipart) message, preferring text/plain over text/html. */
function findText(part: Part, depth = 0): { text: string; html: boolean } | null {
  const type = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  if (type.startsWith('multipart/') && depth < 8) {
    const boundary = headerParam(part.headers.get('content-type') ?? '', 'boundary');
    if (boundary === null) return null;
    const pieces = part.body.split(`--${boundary}`).slice(1);
    const found = pieces
      .filter((p) => !p.startsWith('--'))
      .map((p) => findText(parsePart(p.replace(/^[ \t]*\n/, '')), depth + 1))
      .filter((t): t is { text: string; html: boolean } => t !== null);
    return found.find((t) => !t.html) ?? found[0] ?? null;
  }
  if (type.startsWith('message/rfc822') && depth < 8) return findText(parsePart(part.body), depth + 1);
  if (!type.startsWith('text/') && part.headers.has('content-type')) return null;
  return { text: decodeBody(part), html: type.startsWith('text/html') };
}

const NAMED_ENTITIES: Record<string, string> = {
  nbsp: ' ',
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  copy: '(c)',
  reg: '(R)',
  trade: '(TM)',
  middot: '·',
  bull: '•',
  mdash: '—',
  ndash: '–',
  hellip: '…',
  rsquo: '’',
  lsquo: '‘',
  rdquo: '”',
  ldquo: '“',
  pound: '£',
  euro: '€',
};

/** Replaces HTML character references; unknown named ones become a space. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);?/gi, (all, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
    }
    const named = NAMED_ENTITIES[ref.toLowerCase()];
    if (named !== undefined) return named;
    return all.endsWith(';') ? ' ' : all;
  });
}

/** Removes markup: comments, style/script/head blocks and every tag, then decodes character references. */
export function stripHtml(s: string): string {
  return decodeEntities(
    s
      .replace(/<!--[\s\S]*?-->/g, ' ')
      .replace(/<(style|script|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<\/?[a-z!][^>]*>/gi, ' '),
  );
}

/** Shortens runs of four or more of the same symbol (rules such as ===== or *****) to three. */
export function shortenRules(s: string): string {
  return s.replace(/([^\p{L}\p{N}\s])\1{3,}/gu, '$1$1$1');
}

/** Collapses runs of whitespace (and drops control characters) into single spaces, trimmed. */
export function collapseWhitespace(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f\u00ad\u200b-\u200d\ufeff]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** At most `max` characters, cut at the last space before the limit when there is one in its second half. */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.lastIndexOf(' ', max);
  return (cut > max / 2 ? s.slice(0, cut) : s.slice(0, max)).trim();
}

const LOOKS_LIKE_HTML = /<(html|body|p|br|div|font|table|td|center|a\s)[\s>]/i;

/** The subject and the cleaned start of the body of a raw email, or null when it has no readable text part. */
export function emailSubjectAndBody(raw: string, maxSubject = 80, maxBody = 300): { subject: string; body: string } | null {
  const msg = parsePart(raw);
  const subject = clip(shortenRules(collapseWhitespace(decodeHeaderWords(msg.headers.get('subject') ?? ''))), maxSubject);
  const found = findText(msg);
  if (found === null) return null;
  const text = found.html || LOOKS_LIKE_HTML.test(found.text) ? stripHtml(found.text) : found.text;
  // Only the head of the body is kept; clipping a little more first keeps word boundaries intact.
  const body = clip(shortenRules(collapseWhitespace(text.slice(0, maxBody * 20))), maxBody);
  return { subject, body };
}

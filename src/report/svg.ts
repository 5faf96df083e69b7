// Shared pieces of the standalone SVG documents: XML escaping, label shortening, number formatting, and the document's frame.

// Characters XML 1.0 forbids anywhere in a document: C0 controls other than tab, LF and CR,
// lone surrogates, and U+FFFE / U+FFFF.
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text made safe for XML character data and attribute values: forbidden characters dropped, markup characters escaped. */
export function escapeXml(text: string): string {
  return text
    .replace(XML_INVALID, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The first `max` characters of `s` (by code point), with an ellipsis when cut. */
export function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, Math.max(0, max - 1)).join('') + '…';
}

/** Margin around a drawing, in px. */
export const PAD = 12;
/** Height of the title band at the top. */
export const TITLE_H = 34;
/** Approximate width of a character of 12px text, for sizing labels. */
export const CHAR_W = 6.8;

/** The width a drawing needs to show `title` in the title band. */
export const titleWidth = (title: string): number => PAD * 2 + [...title].length * 8;

/** A coordinate with at most two decimals. */
export const n2 = (v: number): string => String(Math.round(v * 100) / 100);

/**
 * The first lines of a standalone SVG document (XML declaration, the `<svg>` element on a white
 * background, a `<title>`, and the title drawn at the top left in the TITLE_H band); the caller
 * pushes the drawing and closes it with `svgEnd`.
 */
export function svgStart(width: number, height: number, title: string): string[] {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif" font-size="12" style="background:#ffffff">`,
    `<title>${escapeXml(title)}</title>`,
    `<text x="${PAD}" y="22" font-size="14" font-weight="600" fill="#111827">${escapeXml(title)}</text>`,
  ];
}

/** Closes the document begun by `svgStart` and joins its lines. */
export function svgEnd(lines: string[]): string {
  return [...lines, '</svg>'].join('\n') + '\n';
}

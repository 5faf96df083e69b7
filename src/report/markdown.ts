// Markdown building blocks for reports: escaped inline text, numbers with one decimal, and pipe tables.

/** Text made literal in inline Markdown (table cells, headings, image alt text): markup characters backslash-escaped, line breaks as spaces. */
export function escapeMarkdown(text: string): string {
  return text.replace(/\r\n|[\r\n]/g, ' ').replace(/[\\`*_[\]<>|&~]/g, (c) => `\\${c}`);
}

/** A number with one decimal ("-0.0" written "0.0"), or an empty string for null or a non-finite value. */
export function oneDecimal(v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '';
  const s = v.toFixed(1);
  return Number(s) === 0 ? '0.0' : s;
}

/**
 * A pipe table: a header row, the delimiter row (columns after the first right-aligned when
 * `numeric`, as columns of numbers), then the rows. Cells are used as given (escape text first);
 * an empty cell stays blank.
 */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], numeric = true): string {
  const line = (cells: readonly string[]) => `|${cells.map((c) => (c === '' ? ' ' : ` ${c} `)).join('|')}|`;
  const align = header.map((_, i) => (numeric && i > 0 ? '---:' : '---'));
  return [line(header), line(align), ...rows.map(line)].join('\n');
}

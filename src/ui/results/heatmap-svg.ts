// Builds a standalone SVG document of a score heatmap (one coloured, labelled square per score) for download.
import { contrastText, scoreColor } from './color-scale.ts';

/** What the SVG shows: a title, row and column labels, and the cells (null cells are left out). */
export interface HeatmapSvgInput {
  title: string;
  rowLabels: readonly string[];
  columnLabels: readonly string[];
  /** cells[row][column]; rows and columns beyond the labels are ignored. */
  cells: readonly (readonly (number | null)[])[];
  /** The score range of the colour scale (default 0..100). */
  min?: number;
  max?: number;
}

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

const CELL_W = 52;
const CELL_H = 30;
const CHAR_W = 6.8;
const PAD = 12;
const TITLE_H = 34;
const ROW_LABEL_MAX = 36;
const COL_LABEL_MAX = 24;
const SLANT = Math.SQRT1_2;

const n2 = (v: number): string => String(Math.round(v * 100) / 100);

/**
 * A complete SVG document (with XML declaration) of the heatmap: the title on top, column labels
 * slanted above the columns, row labels on the left, and for every non-null cell one `<rect>` in the
 * score colour with the score (one decimal) printed in a contrasting colour and the full row and
 * column names in a `<title>` tooltip. Every text is XML-escaped. Long labels are shortened with an
 * ellipsis in the drawing (the tooltips keep them whole).
 */
export function heatmapSvg(input: HeatmapSvgInput): string {
  const { title, rowLabels, columnLabels, cells, min = 0, max = 100 } = input;
  const rows = rowLabels.map((l) => truncate(l, ROW_LABEL_MAX));
  const cols = columnLabels.map((l) => truncate(l, COL_LABEL_MAX));
  const longestRow = Math.max(0, ...rows.map((l) => [...l].length));
  const longestCol = Math.max(0, ...cols.map((l) => [...l].length));
  const left = PAD + longestRow * CHAR_W + 10;
  const header = Math.ceil(longestCol * CHAR_W * SLANT) + 14;
  const top = TITLE_H + header;
  const lastColOverhang = cols.length > 0 ? [...cols[cols.length - 1]].length * CHAR_W * SLANT - CELL_W / 2 : 0;
  const width = Math.ceil(Math.max(left + cols.length * CELL_W + Math.max(PAD, lastColOverhang + PAD), PAD * 2 + [...title].length * 8));
  const height = Math.ceil(top + rows.length * CELL_H + PAD);

  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif" font-size="12" style="background:#ffffff">`,
  );
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<text x="${PAD}" y="22" font-size="14" font-weight="600" fill="#111827">${escapeXml(title)}</text>`);
  cols.forEach((label, c) => {
    const x = left + c * CELL_W + CELL_W / 2;
    out.push(`<text transform="translate(${n2(x)} ${n2(top - 6)}) rotate(-45)" fill="#374151">${escapeXml(label)}</text>`);
  });
  rows.forEach((label, r) => {
    const y = top + r * CELL_H + CELL_H / 2;
    out.push(`<text x="${n2(left - 8)}" y="${n2(y)}" text-anchor="end" dominant-baseline="central" fill="#374151">${escapeXml(label)}</text>`);
  });
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < cols.length; c++) {
      const v = cells[r]?.[c];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const fill = scoreColor(v, min, max);
      const x = left + c * CELL_W;
      const y = top + r * CELL_H;
      const tip = `${rowLabels[r]}, ${columnLabels[c]}: ${v.toFixed(2)}`;
      out.push(
        `<g><title>${escapeXml(tip)}</title>` +
          `<rect x="${n2(x + 1)}" y="${n2(y + 1)}" width="${CELL_W - 2}" height="${CELL_H - 2}" rx="3" fill="${fill}"/>` +
          `<text x="${n2(x + CELL_W / 2)}" y="${n2(y + CELL_H / 2)}" text-anchor="middle" dominant-baseline="central" fill="${contrastText(fill)}">${v.toFixed(1)}</text></g>`,
      );
    }
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

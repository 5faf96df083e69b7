// Builds a standalone SVG document of a score heatmap (one coloured, labelled square per score) for downloads and reports.
import type { RunResults } from '../cl/runner.ts';
import { contrastText, scoreColor } from './color-scale.ts';
import { CHAR_W, escapeXml, n2, PAD, svgEnd, svgStart, TITLE_H, titleWidth, truncate } from './svg.ts';
import { stageRows } from './tables.ts';
import { taskBaseline } from './verdicts.ts';

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

const CELL_W = 52;
const CELL_H = 30;
const ROW_LABEL_MAX = 36;
const COL_LABEL_MAX = 24;
const SLANT = Math.SQRT1_2;

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
  const width = Math.ceil(Math.max(left + cols.length * CELL_W + Math.max(PAD, lastColOverhang + PAD), titleWidth(title)));
  const height = Math.ceil(top + rows.length * CELL_H + PAD);

  const out = svgStart(width, height, title);
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
  return svgEnd(out);
}

/** The heatmap of one method's score matrix in a run: rows are its training stages, columns the tasks. */
export function methodHeatmapSvg(results: RunResults, method: string): string {
  const rows = stageRows(results, method);
  const rowLabels = rows.map((r) => r.label);
  const cells = rows.map((r) => r.cells);
  for (const key of ['majority', 'chance'] as const) {
    const values = results.tasks.map((_, t) => taskBaseline(results, t)?.[key] ?? null);
    if (values.every((v) => v === null)) continue;
    rowLabels.push(key === 'majority' ? '(majority label)' : '(chance)');
    cells.push(values);
  }
  return heatmapSvg({
    title: `${method}: score on each task (columns) after each training stage (rows)`,
    rowLabels,
    columnLabels: results.tasks.map((t, i) => `${i + 1}: ${t.name}`),
    cells,
  });
}

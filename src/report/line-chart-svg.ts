// Builds a standalone SVG document of a grid of small line charts that share their axes and a legend of method colours.
import type { LegendEntry, MethodSeries } from './series.ts';
import { CHAR_W, escapeXml, n2, PAD, svgEnd, svgStart, TITLE_H, titleWidth, truncate } from './svg.ts';

/** A line of a panel: drawn in its colour, dashed when asked, with a dot on every point. */
export type ChartLine = Pick<MethodSeries, 'label' | 'color' | 'dashed' | 'points'> & { dash?: readonly number[] };

/** One axis shared by every panel. */
export interface ChartAxis {
  min: number;
  max: number;
  /** Values that get a tick label (and, on the y axis, a grid line). */
  ticks: readonly number[];
  label: string;
}

/** What the SVG shows: a title, a legend, and one panel per entry of `panels`, left to right, top to bottom. */
export interface PanelGridSvgInput {
  title: string;
  legend: readonly LegendEntry[];
  panels: readonly { title: string; lines: readonly ChartLine[] }[];
  x: ChartAxis;
  y: ChartAxis;
  /** Panels per row (default: up to 3). */
  columns?: number;
  /** Shown in a panel without lines. */
  emptyText?: string;
}

const LEGEND_ROW_H = 20;
const SWATCH_W = 24;
const PANEL_W = 240;
const PANEL_H = 180;
const GAP = 16;
/** Plot area inside a panel: room for the panel title above, tick labels left and below. */
const PLOT = { left: 36, right: 10, top: 24, bottom: 34 };

const dash = (dashed: boolean, pattern?: readonly number[]): string =>
  (pattern && pattern.length > 0 ? ` stroke-dasharray="${pattern.join(' ')}"` : pattern || !dashed ? '' : ' stroke-dasharray="6 4"');
const label = (v: number): string => String(Math.round(v * 10) / 10);

/** Lays the legend entries out in rows that fit `width`; returns the SVG lines and the height used. */
function legendLines(entries: readonly LegendEntry[], top: number, width: number): { lines: string[]; height: number } {
  const lines: string[] = [];
  let x = PAD;
  let row = 0;
  for (const e of entries) {
    const w = SWATCH_W + 6 + [...e.label].length * CHAR_W + 18;
    if (x > PAD && x + w > width - PAD) {
      x = PAD;
      row++;
    }
    const y = top + row * LEGEND_ROW_H + LEGEND_ROW_H / 2;
    lines.push(
      `<g class="legend-entry"><line x1="${n2(x)}" y1="${n2(y)}" x2="${n2(x + SWATCH_W)}" y2="${n2(y)}" stroke="${e.color}" stroke-width="3"${dash(e.dashed, e.dash)}/>` +
        `<text x="${n2(x + SWATCH_W + 6)}" y="${n2(y)}" dominant-baseline="central" fill="#374151">${escapeXml(e.label)}</text></g>`,
    );
    x += w;
  }
  return { lines, height: entries.length > 0 ? (row + 1) * LEGEND_ROW_H + 8 : 0 };
}

/**
 * A complete SVG document (with XML declaration): the title on top, the legend below it, then the
 * panels in a grid. Each panel is a `<g class="panel">` with its title, a frame, y grid lines and
 * tick labels, x tick labels, the axis labels, and for every line one `<polyline>` (points clamped
 * to the axes' ranges, with the line's label as a `<title>` tooltip) plus a dot per point, so a
 * single-point line still shows. Every text is XML-escaped; long panel titles are shortened.
 */
export function panelGridSvg(input: PanelGridSvgInput): string {
  const { title, legend, panels, x: xAxis, y: yAxis, emptyText = 'No data.' } = input;
  const columns = Math.max(1, Math.min(input.columns ?? 3, panels.length || 1));
  const rows = Math.ceil(panels.length / columns);
  const width = Math.ceil(Math.max(PAD * 2 + columns * PANEL_W + (columns - 1) * GAP, titleWidth(title)));
  const legendTop = TITLE_H;
  const legendOut = legendLines(legend, legendTop, width);
  const gridTop = legendTop + legendOut.height;
  const height = Math.ceil(gridTop + rows * PANEL_H + Math.max(0, rows - 1) * GAP + PAD);

  const plotW = PANEL_W - PLOT.left - PLOT.right;
  const plotH = PANEL_H - PLOT.top - PLOT.bottom;
  const clamp = (v: number, a: ChartAxis) => Math.min(a.max, Math.max(a.min, v));
  const sx = (v: number) => PLOT.left + ((clamp(v, xAxis) - xAxis.min) / (xAxis.max - xAxis.min || 1)) * plotW;
  const sy = (v: number) => PLOT.top + plotH - ((clamp(v, yAxis) - yAxis.min) / (yAxis.max - yAxis.min || 1)) * plotH;
  const titleMax = Math.floor(PANEL_W / CHAR_W) - 1;

  const out = svgStart(width, height, title);
  out.push(...legendOut.lines);
  panels.forEach((panel, i) => {
    const left = PAD + (i % columns) * (PANEL_W + GAP);
    const top = gridTop + Math.floor(i / columns) * (PANEL_H + GAP);
    out.push(`<g class="panel" transform="translate(${n2(left)} ${n2(top)})">`);
    out.push(`<title>${escapeXml(panel.title)}</title>`);
    out.push(`<text x="0" y="14" font-weight="600" fill="#111827">${escapeXml(truncate(panel.title, titleMax))}</text>`);
    out.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${plotW}" height="${plotH}" fill="#ffffff" stroke="#d1d5db"/>`);
    for (const t of yAxis.ticks) {
      const y = n2(sy(t));
      out.push(`<line x1="${PLOT.left}" y1="${y}" x2="${PLOT.left + plotW}" y2="${y}" stroke="#e5e7eb"/>`);
      out.push(`<text x="${PLOT.left - 5}" y="${y}" text-anchor="end" dominant-baseline="central" font-size="10" fill="#6b7280">${label(t)}</text>`);
    }
    for (const t of xAxis.ticks) {
      out.push(`<text x="${n2(sx(t))}" y="${PLOT.top + plotH + 13}" text-anchor="middle" font-size="10" fill="#6b7280">${label(t)}</text>`);
    }
    out.push(`<text x="${n2(PLOT.left + plotW / 2)}" y="${PANEL_H - 4}" text-anchor="middle" font-size="10" fill="#6b7280">${escapeXml(xAxis.label)}</text>`);
    out.push(`<text transform="translate(9 ${n2(PLOT.top + plotH / 2)}) rotate(-90)" text-anchor="middle" font-size="10" fill="#6b7280">${escapeXml(yAxis.label)}</text>`);
    if (panel.lines.length === 0) {
      out.push(`<text x="${n2(PLOT.left + plotW / 2)}" y="${n2(PLOT.top + plotH / 2)}" text-anchor="middle" dominant-baseline="central" fill="#9ca3af">${escapeXml(emptyText)}</text>`);
    }
    for (const line of panel.lines) {
      const pts = line.points.map((p) => `${n2(sx(p.x))},${n2(sy(p.y))}`);
      out.push(
        `<g class="series"><title>${escapeXml(line.label)}</title>` +
          `<polyline points="${pts.join(' ')}" fill="none" stroke="${line.color}" stroke-width="2" stroke-linejoin="round"${dash(line.dashed, line.dash)}/>` +
          pts.map((p) => {
            const [cx, cy] = p.split(',');
            return `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${line.color}"/>`;
          }).join('') +
          '</g>',
      );
    }
    out.push('</g>');
  });
  return svgEnd(out);
}

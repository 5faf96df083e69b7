// Browser downloads for the results view: a Blob or text saved through a temporary <a download>, and a chart as PNG.
import { Chart, Title } from 'chart.js';

// The title is only switched on while a chart is drawn for its image.
Chart.register(Title);

/** Saves `blob` as `fileName` through a temporary link; the object URL is released shortly after. */
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  try {
    a.click();
  } finally {
    a.remove();
    // Some browsers read the URL after click() returns.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** Saves text (JSON, CSV, SVG) as `fileName` with the given MIME type. */
export function downloadText(text: string, fileName: string, mime: string): void {
  downloadBlob(new Blob([text], { type: `${mime};charset=utf-8` }), fileName);
}

/** `downloadText` of what `make` returns; a failure to make or save it goes to `onError` with a title naming the file. */
export function saveText(fileName: string, mime: string, make: () => string, onError: (title: string, error: unknown) => void): void {
  try {
    downloadText(make(), fileName, mime);
  } catch (error) {
    onError(`Could not export ${fileName}`, error);
  }
}

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the chart image could not be decoded'));
    img.src = src;
  });
}

/** How a chart is drawn for its image: sharper than on screen, with its legend and a title. */
export interface ChartImageOptions {
  /** Background behind the chart (the page's surface colour keeps the theme's axis text readable). */
  background: string;
  /** Device pixels per CSS pixel of the image (at least the screen's); default 2. */
  pixelRatio?: number;
  /** A title drawn above the chart in the image only. */
  title?: string;
  /** Colour of the title. */
  titleColor?: string;
}

/**
 * Chart.js's `toBase64Image` of the chart redrawn for export (higher pixel ratio, legend shown,
 * optional title), after which the chart is put back as it was.
 */
function exportImage(chart: Chart, opts: ChartImageOptions): string {
  const options = chart.options;
  const plugins = options.plugins ?? (options.plugins = {});
  const before = { ratio: options.devicePixelRatio, legend: plugins.legend?.display };
  const ratio = Math.max(opts.pixelRatio ?? 2, chart.currentDevicePixelRatio);
  try {
    options.devicePixelRatio = ratio;
    if (plugins.legend) plugins.legend.display = chart.data.datasets.length > 0;
    // Plain objects only: the resolved options are proxies that cannot be spread.
    if (opts.title) plugins.title = { display: true, text: opts.title, color: opts.titleColor, font: { size: 13, weight: 'bold' } } as typeof plugins.title;
    chart.resize();
    chart.update('none');
    return chart.toBase64Image('image/png', 1);
  } finally {
    options.devicePixelRatio = before.ratio;
    if (plugins.legend) plugins.legend.display = before.legend;
    if (opts.title) plugins.title = { display: false } as typeof plugins.title;
    chart.resize();
    chart.update('none');
  }
}

/** The chart as a PNG Blob (see `ChartImageOptions`), drawn over a solid background so it reads well in any image viewer. */
export async function chartPng(chart: Chart, opts: ChartImageOptions): Promise<Blob> {
  const img = await loadImage(exportImage(chart, opts));
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const g = canvas.getContext('2d');
  if (!g) throw new Error('no 2D canvas context to draw the chart image');
  g.fillStyle = opts.background;
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.drawImage(img, 0, 0);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the browser could not encode the chart as PNG'))), 'image/png');
  });
}

/** The value of a CSS custom property on `el` (e.g. '--surface'), or `fallback` when unset. */
export function cssVarOn(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

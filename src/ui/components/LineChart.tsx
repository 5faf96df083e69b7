// A live-updating line chart (Chart.js on a canvas) for loss curves and, later, forgetting curves.
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartDataset } from 'chart.js';
import { useEffect, useRef } from 'react';
import { useColorScheme } from './use-color-scheme.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend);

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  label: string;
  color: string;
  points: readonly Point[];
  /** Line dash pattern (e.g. [6, 4]); solid when left out. */
  dash?: number[];
  /** A reference line (a baseline): thin, without point markers. */
  reference?: boolean;
}

export interface LineChartProps {
  series: readonly Series[];
  xLabel: string;
  yLabel: string;
  /** Fixes the x axis to [xMin, xMax] so a run fills the chart from left to right as it goes. */
  xMin?: number;
  xMax?: number;
  /** Fixes the y axis to [yMin, yMax] (e.g. 0..100 for scores); automatic when left out. */
  yMin?: number;
  yMax?: number;
  /** Shows Chart.js's legend; by default it is shown when there is more than one series. */
  showLegend?: boolean;
  height?: number;
  /** Shown over the empty chart. */
  emptyText?: string;
  testId?: string;
}

type LineDataset = ChartDataset<'line', Point[]>;

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function LineChart({ series, xLabel, yLabel, xMin, xMax, yMin, yMax, showLegend, height = 260, emptyText, testId }: LineChartProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const chartRef = useRef<Chart<'line', Point[]> | null>(null);
  const scheme = useColorScheme();

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const text = cssVar('--text-muted', '#6b7280');
    const grid = cssVar('--border', '#e5e7eb');
    const chart = new Chart<'line', Point[]>(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: {
          legend: { display: false, labels: { color: text, boxWidth: 12 } },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? `${xLabel} ${items[0].parsed.x}` : ''),
              label: (item) => ` ${item.dataset.label ?? ''}: ${Number(item.parsed.y).toPrecision(4)}`,
            },
          },
        },
        scales: {
          x: {
            type: 'linear',
            title: { display: true, text: xLabel, color: text },
            ticks: { color: text, precision: 0 },
            grid: { color: grid },
          },
          y: {
            type: 'linear',
            title: { display: true, text: yLabel, color: text },
            ticks: { color: text },
            grid: { color: grid },
          },
        },
      },
    });
    chartRef.current = chart;
    return () => {
      chart.destroy();
      chartRef.current = null;
    };
  }, [xLabel, yLabel]);

  // A switch between light and dark: the axes take the new theme's colours (the canvas keeps what it drew with).
  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    const text = cssVar('--text-muted', '#6b7280');
    const grid = cssVar('--border', '#e5e7eb');
    for (const axis of [chart.options.scales?.x, chart.options.scales?.y]) {
      if (!axis) continue;
      if (axis.title) axis.title.color = text;
      if (axis.ticks) axis.ticks.color = text;
      if (axis.grid) axis.grid.color = grid;
    }
    const legend = chart.options.plugins?.legend;
    if (legend?.labels) legend.labels.color = text;
    chart.update('none');
  }, [scheme]);

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    const total = series.reduce((n, s) => n + (s.reference ? 0 : s.points.length), 0);
    chart.data.datasets = series.map((s, i): LineDataset => {
      const old = chart.data.datasets[i];
      const ds: LineDataset = old ?? { data: [] };
      ds.label = s.label;
      ds.data = s.points as Point[];
      ds.borderColor = s.color;
      ds.backgroundColor = s.color;
      ds.borderWidth = s.reference ? 1 : 2;
      ds.borderDash = s.dash ?? [];
      ds.pointRadius = s.reference || total > 80 ? 0 : 2.5;
      ds.pointHoverRadius = s.reference ? 0 : 4;
      // Straight segments through the measured points: a smoothed line overshoots them and suggests scores never measured.
      ds.tension = 0;
      return ds;
    });
    const xs = chart.options.scales?.x;
    if (xs) {
      xs.min = xMin;
      xs.max = xMax;
    }
    const ys = chart.options.scales?.y;
    if (ys) {
      ys.min = yMin;
      ys.max = yMax;
    }
    const legend = chart.options.plugins?.legend;
    if (legend) legend.display = showLegend ?? series.length > 1;
    chart.update('none');
    // The labels are listed so a chart re-created for new labels gets its data back.
  }, [series, xMin, xMax, yMin, yMax, showLegend, xLabel, yLabel]);

  const count = series.reduce((n, s) => n + (s.reference ? 0 : s.points.length), 0);
  return (
    <div className="chart" style={{ height }} data-testid={testId} data-points={count}>
      <canvas ref={canvasRef} role="img" aria-label={`${yLabel} by ${xLabel}`} />
      {count === 0 && emptyText ? <div className="chart-empty">{emptyText}</div> : null}
    </div>
  );
}

// A Chart.js bar chart of the selector's weight per task module for one answer, with the numbers beneath it.
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useMemo, useRef } from 'react';
import { paletteColor } from '../../report/color-scale.ts';
import { formatWeight, topModule, weightBars } from './playground-state.ts';
import './playground.css';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export interface WeightsChartProps {
  weights: number[];
  /** The run's task names, labelling module i. */
  taskNames: string[];
  height?: number;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** The canvas: the chart is built once and its data replaced when the weights change. */
function BarCanvas({ labels, values, height }: { labels: string[]; values: number[]; height: number }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const chartRef = useRef<Chart<'bar', number[], string> | null>(null);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const text = cssVar('--text-muted', '#6b7280');
    const grid = cssVar('--border', '#e5e7eb');
    const chart = new Chart<'bar', number[], string>(canvas, {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'weight', data: [] }] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => ` weight ${formatWeight(Number(item.parsed.y))}` } },
        },
        scales: {
          x: { type: 'category', title: { display: true, text: 'task module', color: text }, ticks: { color: text }, grid: { display: false } },
          y: { type: 'linear', beginAtZero: true, title: { display: true, text: 'weight', color: text }, ticks: { color: text }, grid: { color: grid } },
        },
      },
    });
    chartRef.current = chart;
    return () => {
      chart.destroy();
      chartRef.current = null;
    };
  }, []);

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    chart.data.labels = labels;
    const ds = chart.data.datasets[0];
    ds.data = values;
    ds.backgroundColor = values.map((_, i) => paletteColor(i));
    ds.borderRadius = 3;
    const y = chart.options.scales?.y;
    // Weights that look like a distribution get a fixed 0..1 axis, so answers compare at a glance.
    if (y) y.suggestedMax = values.every((v) => v <= 1) ? 1 : undefined;
    chart.update('none');
  }, [labels, values]);

  return (
    <div className="chart playground-chart" style={{ height }}>
      <canvas ref={canvasRef} role="img" aria-label={labels.map((l, i) => `${l}: ${formatWeight(values[i])}`).join(', ')} />
    </div>
  );
}

/** Test id `playground-weights` with `data-weights` (the weights as JSON). */
export function WeightsChart({ weights, taskNames, height = 200 }: WeightsChartProps) {
  const bars = useMemo(() => weightBars(weights, taskNames), [weights, taskNames]);
  const labels = useMemo(() => bars.map((b) => b.label), [bars]);
  const values = useMemo(() => bars.map((b) => b.weight), [bars]);
  const top = topModule(weights);
  return (
    <figure className="playground-weights" data-testid="playground-weights" data-weights={JSON.stringify(weights)}>
      <figcaption className="playground-weights-title">
        Selector weight per task module
        {top !== null ? <span className="muted"> · most weight on {bars[top].label}</span> : null}
      </figcaption>
      <BarCanvas labels={labels} values={values} height={height} />
      <ol className="playground-weight-list">
        {bars.map((b) => (
          <li key={b.index} className={b.index === top ? 'playground-weight-top' : undefined}>
            <span className="playground-swatch" style={{ background: paletteColor(b.index) }} aria-hidden="true" />
            <span className="playground-weight-label">{b.label}</span>
            <span className="playground-weight-value">{formatWeight(b.weight)}</span>
            <span className="muted playground-weight-share">{(100 * b.share).toFixed(1)}%</span>
          </li>
        ))}
      </ol>
    </figure>
  );
}

// A titled line chart of method series with a "PNG" button that saves the chart as an image.
import { Chart } from 'chart.js';
import { useMemo, useRef, type ReactNode } from 'react';
import { LineChart, type Series } from '../components/LineChart.tsx';
import { chartPng, cssVarOn, downloadBlob } from './download.ts';
import type { MethodSeries } from '../../report/series.ts';
import './results.css';

export interface ExportableChartProps {
  /** Test id of the frame; the PNG button gets `<testId>-png`. */
  testId: string;
  title: ReactNode;
  /** The lines; `dash` (a comparison's line style per run) overrides the plain dashes of `dashed`. */
  series: readonly (MethodSeries & { dash?: readonly number[] })[];
  /** Reference lines drawn thin and dotted under the series (a task's majority-label and chance scores); not counted in data-series. */
  baselines?: readonly Pick<MethodSeries, 'label' | 'color' | 'points'>[];
  /** File name of the PNG download. */
  fileName: string;
  /** Title drawn into the PNG (the chart on screen has its caption instead). */
  imageTitle?: string;
  xLabel: string;
  yLabel: string;
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  height?: number;
  showLegend?: boolean;
  emptyText?: string;
  /** Reports a failed export. */
  onError: (title: string, error: unknown) => void;
}

const DASH = [6, 4];

/** The axes of a forgetting-curve chart over T training stages: stages 1..T (0..2 for one task), scores 0..100, no legend of its own. */
export function stageAxes(T: number) {
  return { xLabel: 'after training task', yLabel: 'score', xMin: T > 1 ? 1 : 0, xMax: T > 1 ? T : 2, yMin: 0, yMax: 100, showLegend: false } as const;
}

/** The caption of a task's chart: its 1-based index, its name and how it is scored. */
export function TaskChartTitle({ task, name, metric }: { task: number; name: string; metric: string }) {
  return (
    <>
      <span className="results-task-index">{task + 1}</span> {name}
      <span className="muted results-metric-name"> · {metric}</span>
    </>
  );
}

/**
 * The frame carries `data-series` (number of series drawn) and `data-points` (their total points)
 * next to its test id, for end-to-end checks.
 */
export function ExportableChart(props: ExportableChartProps) {
  const { testId, title, series, baselines, fileName, imageTitle, onError, ...chart } = props;
  const frameRef = useRef<HTMLElement>(null);
  const lines = useMemo<Series[]>(
    () => [
      ...series.map((s) => ({ label: s.label, color: s.color, points: s.points, dash: s.dash ? [...s.dash] : s.dashed ? DASH : undefined })),
      ...(baselines ?? []).map((b) => ({ label: b.label, color: b.color, points: b.points, dash: [2, 3], reference: true })),
    ],
    [series, baselines],
  );
  const points = series.reduce((n, s) => n + s.points.length, 0);

  const savePng = async () => {
    try {
      const canvas = frameRef.current?.querySelector('canvas');
      const instance = canvas ? (Chart.getChart(canvas) as Chart | undefined) : undefined;
      if (!instance) throw new Error('the chart is not drawn yet');
      const frame = frameRef.current!;
      const blob = await chartPng(instance, {
        background: cssVarOn(frame, '--surface', '#ffffff'),
        title: imageTitle,
        titleColor: cssVarOn(frame, '--text', '#111827'),
      });
      downloadBlob(blob, fileName);
    } catch (error) {
      onError(`Could not save the chart as ${fileName}`, error);
    }
  };

  return (
    <figure className="results-chart" ref={frameRef} data-testid={testId} data-series={series.length} data-points={points}
      data-baselines={(baselines ?? []).map((b) => `${b.label}=${b.points[0]?.y}`).join(';') || undefined}>
      <figcaption className="results-chart-title">
        <span className="results-chart-name">{title}</span>
        <button type="button" className="results-mini-button" onClick={() => void savePng()} data-testid={`${testId}-png`} title={`Save as ${fileName}`}>
          PNG
        </button>
      </figcaption>
      <LineChart series={lines} {...chart} />
    </figure>
  );
}

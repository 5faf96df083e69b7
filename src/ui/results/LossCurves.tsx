// The training loss of every method on one chart, against the global step across all tasks.
import { useMemo } from 'react';
import type { RunResults } from '../../cl/runner.ts';
import { ExportableChart } from './ExportableChart.tsx';
import { lossSeries } from '../../report/series.ts';
import './results.css';

export interface LossCurvesProps {
  results: RunResults;
  live?: boolean;
  onError: (title: string, error: unknown) => void;
  /** The run's file-name base: the PNG is `<fileBase>-training-loss.png`. */
  fileBase?: string;
}

/** Test id `results-loss-chart`; secondary phases (e.g. a selector's training) are dashed in the method's colour. */
export function LossCurves({ results, live = false, onError, fileBase = 'clora' }: LossCurvesProps) {
  const series = useMemo(() => lossSeries(results), [results]);
  return (
    <ExportableChart
      testId="results-loss-chart"
      title="Training loss"
      series={series}
      fileName={`${fileBase}-training-loss.png`}
      imageTitle="Training loss per method (x: global step across tasks)"
      xLabel="global step"
      yLabel="loss"
      height={280}
      showLegend
      emptyText={live ? 'Waiting for the first training step…' : 'No losses were recorded.'}
      onError={onError}
    />
  );
}

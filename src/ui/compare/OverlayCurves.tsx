// The compared runs' forgetting curves overlaid: one chart per matched task, a line per run and method, a legend that hides lines.
import { useMemo } from 'react';
import type { ColorBy, OverlayPanel } from '../../report/compare-series.ts';
import type { LegendEntry } from '../../report/series.ts';
import { fileSlug, metricLabel } from '../../report/tables.ts';
import { ExportableChart, stageAxes, TaskChartTitle } from '../results/ExportableChart.tsx';
import { MethodLegend } from '../results/MethodLegend.tsx';
import '../results/results.css';
import './compare.css';

export interface OverlayCurvesProps {
  panels: readonly OverlayPanel[];
  legend: readonly LegendEntry[];
  tasks: number;
  colorBy: ColorBy;
  onColorBy(colorBy: ColorBy): void;
  /** Legend labels of the hidden lines. */
  hidden: ReadonlySet<string>;
  onToggle(label: string): void;
  /** The comparison's file-name base: each chart's PNG is `<fileBase>-task-<k>-<name>.png`. */
  fileBase: string;
  onError(title: string, error: unknown): void;
}

/** Charts `compare-chart-<k>` (k from 0), each with `data-series`: the lines drawn (hidden ones left out, baselines not counted). */
export function OverlayCurves({ panels, legend, tasks: T, colorBy, onColorBy, hidden, onToggle, fileBase, onError }: OverlayCurvesProps) {
  const anyBaseline = useMemo(() => panels.some((p) => p.baselines.length > 0), [panels]);
  return (
    <>
      <div className="compare-curves-controls">
        <label className="compare-colorby">
          <span>Colour by</span>
          <select value={colorBy} onChange={(e) => onColorBy(e.target.value as ColorBy)} data-testid="compare-color-by">
            <option value="method">method (line style: run)</option>
            <option value="run">run (line style: method)</option>
          </select>
        </label>
      </div>
      <MethodLegend entries={legend} label="Runs and methods" hidden={hidden} onToggle={onToggle} />
      {anyBaseline ? (
        <p className="muted results-note" data-testid="compare-baseline-key">
          Dotted grey lines: each task’s majority-label score (the darker one) and chance; a run whose tasks give other values has its own, named
          after it. A score at or below the majority line means nothing was learnt.
        </p>
      ) : null}
      <div className="results-chart-grid">
        {panels.map((p) => (
          <ExportableChart
            key={p.task}
            testId={`compare-chart-${p.task}`}
            title={<TaskChartTitle task={p.task} name={p.name} metric={metricLabel(p.metric)} />}
            series={p.series.filter((s) => !hidden.has(s.key))}
            baselines={p.baselines}
            fileName={`${fileBase}-task-${p.task + 1}-${fileSlug(p.name)}.png`}
            imageTitle={`Task ${p.task + 1}: ${p.name}`}
            {...stageAxes(T)}
            height={230}
            emptyText="No scores on this task."
            onError={onError}
          />
        ))}
      </div>
    </>
  );
}

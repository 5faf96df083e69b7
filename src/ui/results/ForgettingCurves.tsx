// A grid of small charts, one per task, with every method's score on that task after each training stage.
import { useMemo, useState } from 'react';
import type { RunResults } from '../../cl/runner.ts';
import { ExportableChart, stageAxes, TaskChartTitle } from './ExportableChart.tsx';
import { MethodLegend } from './MethodLegend.tsx';
import { forgettingSeries, methodLegend } from '../../report/series.ts';
import { fileSlug, metricLabel } from '../../report/tables.ts';
import { baselineLines } from '../../report/verdicts.ts';
import './results.css';

export interface ForgettingCurvesProps {
  results: RunResults;
  live?: boolean;
  onError: (title: string, error: unknown) => void;
  /** The run's file-name base: each chart's PNG is `<fileBase>-forgetting-task-<k>-<name>.png`. */
  fileBase?: string;
}

/**
 * One chart per task t (test id `forgetting-chart-<t>`): x = training stage 1..T, y = score 0..100,
 * one line per method; joint methods are dashed flat lines at their final score.
 */
export function ForgettingCurves({ results, live = false, onError, fileBase = 'clora' }: ForgettingCurvesProps) {
  const curves = useMemo(() => forgettingSeries(results), [results]);
  const legend = useMemo(() => methodLegend(results), [results]);
  // Methods hidden through the legend, by their legend label (which is their series' label).
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const toggle = (label: string) => setHidden((h) => {
    const next = new Set(h);
    if (!next.delete(label)) next.add(label);
    return next;
  });
  const T = results.tasks.length;
  if (T === 0) return <p className="muted">The run has no tasks.</p>;
  const anyBaseline = curves.some((c) => baselineLines(results, c.task).length > 0);
  return (
    <>
      <MethodLegend entries={legend} hidden={hidden} onToggle={toggle} />
      {anyBaseline ? (
        <p className="muted results-note" data-testid="baseline-key">
          Dotted grey lines: each task’s majority-label score (always answering its most common test label; the darker one) and chance (one
          label of its label set at random). A score at or below the majority line means nothing was learnt.
        </p>
      ) : null}
      <div className="results-chart-grid">
        {curves.map((c) => (
          <ExportableChart
            key={c.task}
            testId={`forgetting-chart-${c.task}`}
            title={<TaskChartTitle task={c.task} name={c.name} metric={metricLabel(results.tasks[c.task].metric)} />}
            series={c.series.filter((x) => !hidden.has(x.label))}
            baselines={baselineLines(results, c.task)}
            fileName={`${fileBase}-forgetting-task-${c.task + 1}-${fileSlug(c.name)}.png`}
            imageTitle={`Task ${c.task + 1}: ${c.name}`}
            {...stageAxes(T)}
            height={210}
            emptyText={live ? 'No score on this task yet…' : 'No scores on this task.'}
            onError={onError}
          />
        ))}
      </div>
    </>
  );
}

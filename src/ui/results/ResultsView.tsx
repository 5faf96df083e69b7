// The results view of a continual-learning run: metrics, forgetting curves, score heatmaps, losses, routing, samples and exports.
import { useCallback, useMemo, useState } from 'react';
import { exportsToOnnx } from '../../cl/fixed-adapter.ts';
import type { RunResults } from '../../cl/runner.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import { formatCount, formatElapsed } from '../../report/format.ts';
import { ExportBar, exportBase } from './ExportBar.tsx';
import { ForgettingCurves } from './ForgettingCurves.tsx';
import { LossCurves } from './LossCurves.tsx';
import { MetricDefinitions } from './MetricDefinitions.tsx';
import { MetricsTable } from './MetricsTable.tsx';
import { RoutingWeights } from './RoutingWeights.tsx';
import { SamplePredictions } from './SamplePredictions.tsx';
import { ScoreHeatmap } from './ScoreHeatmap.tsx';
import { ScoreScaleKey } from './ScoreScaleKey.tsx';
import { Section } from './Section.tsx';
import { methodNames } from '../../report/series.ts';
import { completedStages } from '../../report/tables.ts';
import './results.css';

export interface ResultsViewProps {
  /** The run's results; pass a new object when they change (a live run's updates), the view derives everything from it. */
  results: RunResults;
  /** The run is still going: matrices are partial and metrics may be missing. */
  live?: boolean;
  /** The run's title (or the results file's name): exports are named after it. */
  title?: string | null;
  /** Asks for the adapter a method had after training task `taskIndex` (0 for a joint method); adds an "Export adapter" button per finished stage. */
  onExportAdapter?: (methodName: string, taskIndex: number) => void;
  /** Downloads a method as of its last finished task, exported to ONNX; adds an "ONNX" button per method with a finished task. */
  onExportOnnx?: (methodName: string) => Promise<void>;
}

interface ExportFailure {
  title: string;
  error: unknown;
}

/** Model, device, size and duration of the run, in one line. */
function RunSummary({ results }: { results: RunResults }) {
  const m = results.model;
  const parts = [
    m ? `${m.arch} · ${formatCount(m.params)} parameters · ${m.layers} layers` : null,
    results.device || null,
    `${results.tasks.length} task${results.tasks.length === 1 ? '' : 's'}`,
    `${methodNames(results).length} method${methodNames(results).length === 1 ? '' : 's'}`,
    Number.isFinite(results.seconds) && results.seconds > 0 ? formatElapsed(results.seconds * 1000) : null,
  ].filter((p): p is string => p !== null);
  return <p className="muted results-summary">{parts.join(' · ')}</p>;
}

/**
 * All methods of a run side by side (test id `results-view`, with `data-live`). Everything tolerates
 * partial results: missing cells are blank, missing metrics read "—".
 */
export function ResultsView({ results, live = false, title = null, onExportAdapter, onExportOnnx }: ResultsViewProps) {
  const [failure, setFailure] = useState<ExportFailure | null>(null);
  const onError = useCallback((title: string, error: unknown) => {
    console.error(title, error);
    setFailure({ title, error });
  }, []);
  const names = useMemo(() => methodNames(results), [results]);
  // Every chart and heatmap file is named after the run, as the exports of the bar are.
  const fileBase = exportBase(title);
  const routed = useMemo(() => names.filter((n) => results.methods[n]?.routing), [names, results]);

  const header = (
    <header className="results-header">
      <div className="results-title">
        <h2>Results</h2>
        {live ? (
          <span className="tag tag-warn" data-testid="results-live">
            running · partial results
          </span>
        ) : null}
      </div>
      <ExportBar results={results} title={title} onError={onError} />
    </header>
  );

  return (
    <div className="results" data-testid="results-view" data-live={live ? 'true' : 'false'}>
      {header}
      <RunSummary results={results} />
      {results.version !== 1 ? (
        <ErrorCallout tone="warning" title="Unexpected results version" error={`these results say version ${String(results.version)}; this view reads version 1`} />
      ) : null}
      {failure ? (
        <ErrorCallout title={failure.title} error={failure.error}>
          <button type="button" className="button results-dismiss" onClick={() => setFailure(null)}>
            Dismiss
          </button>
        </ErrorCallout>
      ) : null}
      {names.length === 0 ? (
        <p className="muted results-empty">{live ? 'The first method is training; results appear after its first task.' : 'This run has no method results.'}</p>
      ) : (
        <>
          <Section title="Metrics" testId="results-metrics">
            <MetricsTable results={results} />
            <MetricDefinitions hasSingleTask={Array.isArray(results.singleTask) && results.singleTask.length > 0} />
          </Section>

          <Section
            title="Forgetting curves"
            note="Each task's score after every training stage; a falling line is forgetting. Dashed flat lines are joint (multi-task) training, the usual upper bound."
          >
            <ForgettingCurves results={results} live={live} onError={onError} fileBase={fileBase} />
          </Section>

          <Section title="Score matrices" note="Row k: after training task k; column t: the score on task t. The framed diagonal is each task right after learning it.">
            <ScoreScaleKey />
            <div className="results-heatmap-grid">
              {names.map((n) => (
                <ScoreHeatmap key={n} results={results} method={n} onExportAdapter={onExportAdapter} onError={onError} filePrefix={fileBase}
                  onExportOnnx={!live && onExportOnnx && exportsToOnnx(results.methods[n].method) && completedStages(results.methods[n]).length > 0 ? onExportOnnx : undefined} />
              ))}
            </div>
          </Section>

          <Section title="Training loss" note="Every optimizer step of a method, across its tasks in order, counts one global step.">
            <LossCurves results={results} live={live} onError={onError} fileBase={fileBase} />
          </Section>

          {routed.length > 0 ? (
            <Section title="Selector weights" note="Mean weight the selector gives each block on a task's test prompts, at the method's last evaluated stage.">
              <div className="results-routing-grid">
                {routed.map((n) => (
                  <RoutingWeights key={n} results={results} method={n} />
                ))}
              </div>
            </Section>
          ) : null}

          <Section title="Sample predictions" note={live ? 'From each method’s latest evaluation.' : 'From each method’s last evaluation.'}>
            <SamplePredictions results={results} />
          </Section>
        </>
      )}
    </div>
  );
}

export default ResultsView;

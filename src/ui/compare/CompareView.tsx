// Several runs compared: notices on matched tasks and differing settings, the metrics with mean and spread, the
// forgetting curves overlaid, the score matrices side by side, and exports named after the runs.
import { useCallback, useMemo, useState } from 'react';
import { defaultColorBy, overlayCurvesSvg, overlayLegend, overlayPanels, type ColorBy } from '../../report/compare-series.ts';
import {
  comparisonFileBase, comparisonNotice, comparisonProblem, matchTasks, methodOptionDifferences, methodSummaries, runDifferences, type LabelledRun,
  type RunMethodOptions,
} from '../../report/comparison.ts';
import { fileSlug } from '../../report/tables.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import { saveText } from '../results/download.ts';
import { ScoreHeatmap } from '../results/ScoreHeatmap.tsx';
import { ScoreScaleKey } from '../results/ScoreScaleKey.tsx';
import { Section } from '../results/Section.tsx';
import { comparisonCsv, comparisonJson, type RunSource } from './compare-export.ts';
import { CompareMetricsTable } from './CompareMetricsTable.tsx';
import { OverlayCurves } from './OverlayCurves.tsx';
import '../results/results.css';
import './compare.css';

/** A run in the comparison: its label (unique among the compared runs), results, where they came from and, for a stored run, its methods' options. */
export type ComparedRun = LabelledRun & RunMethodOptions & { source: RunSource };

/**
 * Test id `compare-view` with `data-runs` (how many runs) and `data-matched-by` ("name" or "position"). Runs with a
 * different number of tasks are refused with the reason; runs of other tasks, models or settings compare with a notice.
 */
export function CompareView({ runs }: { runs: readonly ComparedRun[] }) {
  const [failure, setFailure] = useState<{ title: string; error: unknown } | null>(null);
  const onError = useCallback((title: string, error: unknown) => {
    console.error(title, error);
    setFailure({ title, error });
  }, []);
  const problem = useMemo(() => comparisonProblem(runs), [runs]);
  const [colorChoice, setColorBy] = useState<ColorBy | null>(null);
  const colorBy = colorChoice ?? defaultColorBy(runs);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const toggle = useCallback((label: string) => setHidden((h) => {
    const next = new Set(h);
    if (!next.delete(label)) next.add(label);
    return next;
  }), []);
  const analysis = useMemo(() => {
    if (problem) return null;
    const match = matchTasks(runs);
    return {
      match,
      summaries: methodSummaries(runs),
      notice: comparisonNotice(runs),
      differences: [...runDifferences(runs), ...methodOptionDifferences(runs)],
      panels: overlayPanels(runs, colorBy, match),
      legend: overlayLegend(runs, colorBy),
    };
  }, [runs, problem, colorBy]);
  const fileBase = comparisonFileBase(runs.map((r) => r.label));
  const title = `Comparison of ${runs.map((r) => r.label).join(', ')}`;

  if (problem || !analysis) {
    return (
      <div className="results compare" data-testid="compare-view" data-runs={runs.length}>
        <ErrorCallout title="These runs do not compare" error={problem ?? 'no runs'} />
      </div>
    );
  }
  const { match, summaries, notice, differences, panels, legend } = analysis;
  const methods = summaries.map((s) => s.method);
  const save = (fileName: string, mime: string, make: () => string) => saveText(fileName, mime, make, onError);

  return (
    <div className="results compare" data-testid="compare-view" data-runs={runs.length} data-matched-by={match.byName ? 'name' : 'position'}>
      <header className="results-header">
        <div className="results-title">
          <h2>Comparison</h2>
          <span className="muted">{runs.length} runs of {match.index.length} task{match.index.length === 1 ? '' : 's'}</span>
        </div>
        <div className="results-exports" role="group" aria-label="Export the comparison">
          <button type="button" className="button" data-testid="compare-export-csv" title={`Save as ${fileBase}-metrics.csv`}
            onClick={() => save(`${fileBase}-metrics.csv`, 'text/csv', () => comparisonCsv(runs, summaries))}>
            Metrics CSV
          </button>
          <button type="button" className="button" data-testid="compare-export-json" title={`Save as ${fileBase}.json`}
            onClick={() => save(`${fileBase}.json`, 'application/json', () => comparisonJson(runs, summaries, differences))}>
            Comparison JSON
          </button>
          <button type="button" className="button" data-testid="compare-export-svg" title={`Save as ${fileBase}-forgetting-curves.svg`}
            onClick={() => save(`${fileBase}-forgetting-curves.svg`, 'image/svg+xml', () => overlayCurvesSvg(runs, title, colorBy, hidden))}>
            Curves SVG
          </button>
        </div>
      </header>
      {failure ? (
        <ErrorCallout title={failure.title} error={failure.error}>
          <button type="button" className="button results-dismiss" onClick={() => setFailure(null)}>Dismiss</button>
        </ErrorCallout>
      ) : null}
      {notice ? (
        <div className="callout callout-warning" role="note" data-testid="compare-notice-tasks">
          <div className="callout-title">Tasks matched by position</div>
          <p className="callout-message">{notice}</p>
        </div>
      ) : null}
      {differences.length > 0 ? (
        <div className="callout callout-info" role="note" data-testid="compare-notice-settings">
          <div className="callout-title">The runs differ in {differences.length === 1 ? 'one respect' : `${differences.length} respects`}</div>
          <ul className="compare-differences">
            {differences.map((d) => (
              <li key={d.field} data-field={d.field}>
                <strong>{d.field}</strong>: {d.values.map((v, r) => `${runs[r].label}: ${v}`).join('; ')}
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      <Section title="Metrics over the runs" testId="compare-metrics-section"
        note="One row per method, over the compared runs (seeds, task orders or other settings); the runs' own tables are in the Runs view.">
        <CompareMetricsTable runs={runs} summaries={summaries} swatches={colorBy === 'method'} />
      </Section>

      <Section title="Forgetting curves overlaid" testId="compare-curves-section"
        note={match.byName
          ? 'Each task’s score after every training stage of each run; the same task sits in one chart whatever its place in a run’s order.'
          : 'Each position’s task, run by run (matched by position), after every training stage.'}>
        <OverlayCurves panels={panels} legend={legend} tasks={match.index.length} colorBy={colorBy} onColorBy={setColorBy}
          hidden={hidden} onToggle={toggle} fileBase={fileBase} onError={onError} />
      </Section>

      <Section title="Score matrices side by side" testId="compare-matrices-section"
        note="Per method, each run’s matrix in its own task order: row k after training its task k, column t its score on task t.">
        <ScoreScaleKey />
        <div className="compare-matrices">
          {methods.map((method) => (
            <div key={method} className="compare-matrix-row" data-testid="compare-matrix-row" data-method={method}
              style={{ gridTemplateColumns: `repeat(${runs.length}, minmax(max-content, 1fr))` }}>
              {runs.map((r, i) => (
                <div key={i} className="compare-matrix" data-testid="compare-matrix" data-run={r.label} data-method={method}>
                  <p className="compare-matrix-run"><span className="tag">{r.label}</span></p>
                  {r.results.methods[method]
                    ? <ScoreHeatmap results={r.results} method={method} onError={onError} filePrefix={fileSlug(r.label)} />
                    : <p className="muted">{method} is not in this run.</p>}
                </div>
              ))}
            </div>
          ))}
        </div>
      </Section>
    </div>
  );
}

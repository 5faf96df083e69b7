// One-sentence definitions of AP, F.Ra, BWT and FWT, taken from the metrics module so the UI and the computation agree.
import { METRIC_DEFINITIONS } from '../../cl/metrics.ts';
import { METRIC_KEYS, METRIC_TITLES } from '../../report/tables.ts';
import './results.css';

export interface MetricDefinitionsProps {
  /** Whether the run has single-task scores s_t (from the oracle), without which FWT is not available. */
  hasSingleTask: boolean;
}

/** The definitions block under the metrics table. */
export function MetricDefinitions({ hasSingleTask }: MetricDefinitionsProps) {
  return (
    <div className="results-definitions" data-testid="metric-definitions">
      <p className="muted">
        Tasks are numbered 1..T in training order and a[k][t] is the score (percent) on task t after training task k; the metrics are
        computed as defined below. A dash means the value is not available yet (the run is still going) or does not apply.
      </p>
      <dl>
        {METRIC_KEYS.map((k) => (
          <div key={k} className="results-definition">
            <dt>{METRIC_TITLES[k]}</dt>
            <dd>{METRIC_DEFINITIONS[k]}</dd>
          </div>
        ))}
      </dl>
      {hasSingleTask ? null : (
        <p className="muted results-note">
          FWT needs the single-task scores s_t, which come from the oracle method (one LoRA per task); this run has none, so FWT is not
          available.
        </p>
      )}
    </div>
  );
}

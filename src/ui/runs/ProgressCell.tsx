// A run's progress as a thin bar and a percentage.
import { formatPercent } from './run-format.ts';
import './runs.css';

/** `percent` in 0..100, or null when unknown (an empty bar and "—"). */
export function ProgressCell({ percent }: { percent: number | null }) {
  return (
    <div className="runs-progress" data-testid="run-progress" data-percent={percent === null ? 'null' : String(percent)}>
      <div className="runs-progress-track" aria-hidden="true">
        <div className="runs-progress-fill" style={{ width: `${percent ?? 0}%` }} />
      </div>
      <span className="runs-progress-value">{formatPercent(percent)}</span>
    </div>
  );
}

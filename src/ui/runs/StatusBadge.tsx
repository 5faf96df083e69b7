// A coloured badge naming a run's status, with the status's explanation as its tooltip.
import type { RunStatus } from '../../worker/run-job.ts';
import { statusInfo } from './run-format.ts';
import './runs.css';

/** Test id `run-status` (or `testId`) with `data-status`; colours come from the theme, so it reads on light and dark. */
export function StatusBadge({ status, testId = 'run-status' }: { status: RunStatus; testId?: string }) {
  const info = statusInfo(status);
  return (
    <span
      className={`runs-badge runs-badge-${info.tone}`}
      style={{ color: info.color, background: info.background }}
      title={info.hint}
      data-testid={testId}
      data-status={status}
    >
      {status === 'running' ? <span className="runs-badge-pulse" aria-hidden="true" /> : null}
      {info.label}
    </span>
  );
}

// One row of the run history: the run's facts, status, progress and its Open / Resume / Delete actions.
import type { RunRecord } from '../../worker/run-job.ts';
import { DeleteWithConfirm } from './DeleteWithConfirm.tsx';
import { ProgressCell } from './ProgressCell.tsx';
import { RelativeTime } from './RelativeTime.tsx';
import { canDelete, canResume, HELD_ELSEWHERE, progressPercent, runMethods, showsError, summarizeNames, truncateText } from './run-format.ts';
import { StatusBadge } from './StatusBadge.tsx';
import './runs.css';

const noFiles = 'This run was stored before runs kept their task files';

export interface RunRowProps {
  run: RunRecord;
  now: number;
  activeId: string | null;
  /** Another tab of this browser is training the run (it holds the run's lock): no Resume or Delete here. */
  heldElsewhere?: boolean;
  selected: boolean;
  onOpen(): void;
  onResume(): void;
  /** Puts the run's settings, title and task files into the Experiment form, to edit and start as a new run. */
  onCopy?(): void;
  /** Adds the run to the comparison and opens the Compare view. */
  onCompare?(): void;
  /** Starts a new run with the run's task files, model and settings. */
  onRunAgain?(): void;
  /** Downloads the run as a zip of experiment.json and its task files (what `clora run` takes). */
  onExport?(): void;
  onDelete(): Promise<void>;
  onDeleteError(error: unknown): void;
}

/**
 * Test id `run-row` with `data-id`, `data-status` and `data-held` (trained in another tab); `aria-selected` marks the
 * run whose results are open.
 */
export function RunRow({ run, now, activeId, heldElsewhere = false, selected, onOpen, onResume, onCopy, onCompare, onRunAgain, onExport, onDelete, onDeleteError }: RunRowProps) {
  const tasks = summarizeNames(run.tasks ?? []);
  const methods = summarizeNames(runMethods(run), 4, 16);
  const active = run.id === activeId;
  return (
    <tr
      className={`runs-row${selected ? ' runs-row-selected' : ''}${active ? ' runs-row-active' : ''}`}
      data-testid="run-row"
      data-id={run.id}
      data-status={run.status}
      data-held={heldElsewhere ? 'elsewhere' : undefined}
      aria-selected={selected}
    >
      <th scope="row" className="runs-title-cell">
        <span className="runs-title" title={run.title}>
          {truncateText(run.title || run.id, 48)}
        </span>
        {active ? <span className="tag runs-active-tag">in progress</span> : null}
        {heldElsewhere && !active ? (
          <span className="tag runs-active-tag" title={HELD_ELSEWHERE} data-testid="run-held">
            training in another tab
          </span>
        ) : null}
        <span className="runs-id muted">{run.id}</span>
      </th>
      <td className="runs-model" title={run.modelLabel}>
        {truncateText(run.modelLabel || '—', 28)}
      </td>
      <td title={tasks.full}>
        <span className="runs-count">{tasks.count}</span> <span className="muted">{tasks.text}</span>
      </td>
      <td title={methods.full}>{methods.text || '—'}</td>
      <td className="runs-times">
        <RelativeTime ts={run.created} now={now} />
        {run.updated !== run.created ? (
          <span className="muted runs-updated">
            <RelativeTime ts={run.updated} now={now} prefix="updated" />
          </span>
        ) : null}
      </td>
      <td className="runs-status-cell">
        <StatusBadge status={run.status} />
        {showsError(run) ? (
          <span className="runs-error" title={run.error ?? undefined} data-testid="run-error">
            {truncateText(run.error ?? '', 140)}
          </span>
        ) : null}
      </td>
      <td>
        <ProgressCell percent={progressPercent(run)} />
      </td>
      <td className="runs-actions">
        <button type="button" className="button runs-button" onClick={onOpen} aria-pressed={selected} data-testid="run-open">
          Open
        </button>
        {canResume(run, activeId, heldElsewhere) ? (
          <button type="button" className="button runs-button runs-button-primary" onClick={onResume} disabled={activeId !== null} title={activeId !== null ? 'Another run is in progress' : 'Resume from the last finished task'} data-testid="run-resume">
            Resume
          </button>
        ) : null}
        {onCompare ? (
          <button type="button" className="button runs-button" onClick={onCompare} data-testid="run-compare" title="Add this run to the comparison (Compare view)">
            Compare
          </button>
        ) : null}
        {onCopy ? (
          <button type="button" className="button runs-button" onClick={onCopy} data-testid="run-copy" title="Open the Experiment form with this run's settings, title and task files, to change them and start a new run">
            Edit a copy
          </button>
        ) : null}
        {onRunAgain ? (
          <button type="button" className="button runs-button" onClick={onRunAgain} data-testid="run-again" disabled={activeId !== null || !run.taskFiles}
            title={!run.taskFiles ? noFiles : activeId !== null ? 'Another run is in progress' : 'Start a new run with the same task files, model and settings'}>
            Run again
          </button>
        ) : null}
        {onExport ? (
          <button type="button" className="button runs-button" onClick={onExport} data-testid="run-export" disabled={!run.taskFiles}
            title={!run.taskFiles ? noFiles : 'Download experiment.json with the task files as a zip: unzip it and run clora run experiment.json'}>
            Export experiment
          </button>
        ) : null}
        <DeleteWithConfirm
          subject={`run ${run.title || run.id}`}
          onDelete={onDelete}
          onError={onDeleteError}
          disabled={!canDelete(run, activeId, heldElsewhere)}
          disabledReason={heldElsewhere && !active ? HELD_ELSEWHERE : 'This run is in progress; cancel it before deleting it'}
        />
      </td>
    </tr>
  );
}

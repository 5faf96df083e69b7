// The run history: every run stored in this browser, newest first, with status, progress and Open / Resume / Delete.
import { useMemo, useState } from 'react';
import type { RunRecord } from '../../worker/run-job.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import { newestFirst } from './run-format.ts';
import { RunRow } from './RunRow.tsx';
import { RunsTable } from './RunsTable.tsx';
import { useNow } from './use-now.ts';
import './runs.css';

export interface RunHistoryProps {
  runs: RunRecord[];
  /** The run the worker is executing (its Resume and Delete are not offered). */
  activeId: string | null;
  /** Runs some tab of this browser is training (their locks are held): those of other tabs offer no Resume or Delete. */
  heldIds?: readonly string[];
  /** The active run's progress as the worker reports it (0..1), newer than its stored record's; null when none. */
  activeDone?: number | null;
  /** The run whose results are open (its row is highlighted). */
  selectedId: string | null;
  /** Shows a run's results. */
  onOpen(id: string): void;
  /** Resumes a stopped run from its last checkpoint. */
  onResume(id: string): void;
  /** Opens the Experiment form with a copy of the run's settings and task files. */
  onCopy?(id: string): void;
  /** Adds a run to the comparison and opens the Compare view. */
  onCompare?(id: string): void;
  /** Starts the run again with its stored task files and settings. */
  onRunAgain?(id: string): void;
  /** Downloads the run's experiment file with its task files. */
  onExport?(id: string): void;
  /** Deletes a run after the inline confirmation; a rejection is shown above the table. */
  onDelete(id: string): Promise<void>;
}

interface DeleteFailure {
  title: string;
  error: unknown;
}

/** Column headings, also the table's accessible structure. */
const COLUMNS = ['Run', 'Model', 'Tasks', 'Methods', 'Created', 'Status', 'Progress', 'Actions'];

/** Test id `run-history`; rows are `run-row` (see RunRow), sorted newest first whatever order `runs` has. */
export function RunHistory({ runs, activeId, heldIds = [], activeDone = null, selectedId, onOpen, onResume, onCopy, onCompare, onRunAgain, onExport, onDelete }: RunHistoryProps) {
  const now = useNow();
  // The stored record's `done` is written after each task; the active run's row shows the live progress instead.
  const sorted = useMemo(() => newestFirst(runs).map((r) => (r.id === activeId && activeDone !== null ? { ...r, done: activeDone } : r)),
    [runs, activeId, activeDone]);
  const [failure, setFailure] = useState<DeleteFailure | null>(null);

  return (
    <section className="card runs-history" data-testid="run-history">
      <header className="card-header">
        <h2>Runs</h2>
        <span className="muted runs-total">
          {sorted.length} stored run{sorted.length === 1 ? '' : 's'}
        </span>
      </header>
      {failure ? (
        <ErrorCallout title={failure.title} error={failure.error}>
          <button type="button" className="button runs-dismiss" onClick={() => setFailure(null)}>
            Dismiss
          </button>
        </ErrorCallout>
      ) : null}
      {sorted.length === 0 ? (
        <p className="muted runs-empty">No runs are stored in this browser yet. A run you start is kept here, with its adapters and results.</p>
      ) : (
        <RunsTable head={COLUMNS}>
          {sorted.map((run) => (
            <RunRow
              key={run.id}
              run={run}
              now={now}
              activeId={activeId}
              heldElsewhere={run.id !== activeId && heldIds.includes(run.id)}
              selected={run.id === selectedId}
              onOpen={() => onOpen(run.id)}
              onResume={() => onResume(run.id)}
              onCopy={onCopy ? () => onCopy(run.id) : undefined}
              onCompare={onCompare ? () => onCompare(run.id) : undefined}
              onRunAgain={onRunAgain ? () => onRunAgain(run.id) : undefined}
              onExport={onExport ? () => onExport(run.id) : undefined}
              onDelete={async () => {
                setFailure(null);
                await onDelete(run.id);
              }}
              onDeleteError={(error) => setFailure({ title: `Could not delete “${run.title || run.id}”`, error })}
            />
          ))}
        </RunsTable>
      )}
    </section>
  );
}

export default RunHistory;

// The storage panel's table rows: one per stored run and one per cached model, each with its size and a Delete button.
import { useEffect, useRef, useState } from 'react';
import { formatBytes } from '../../report/format.ts';
import { RelativeTime } from './RelativeTime.tsx';
import { truncateText } from './run-format.ts';
import { StatusBadge } from './StatusBadge.tsx';
import { describeOrigin, type ModelStorageRow, type RunStorageRow } from './storage-usage.ts';
import './runs.css';

/** A Delete button that shows "Deleting…" while its callback runs; a rejection goes to `onError`, never thrown. */
function DeleteButton({ testId, label, onDelete, onError, disabled }: { testId: string; label: string; onDelete(): Promise<void>; onError(error: unknown): void; disabled?: boolean }) {
  const [busy, setBusy] = useState(false);
  const live = useRef(true);
  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);
  const run = async () => {
    setBusy(true);
    try {
      await onDelete();
    } catch (error) {
      onError(error);
    } finally {
      if (live.current) setBusy(false);
    }
  };
  return (
    <button type="button" className="button runs-button runs-button-danger" onClick={() => void run()} disabled={busy || disabled} aria-label={label} title={label} data-testid={testId}>
      {busy ? 'Deleting…' : 'Delete'}
    </button>
  );
}

/** The size of a folder and its share of the database as a thin bar. */
function SizeCell({ bytes, total }: { bytes: number | null; total: number }) {
  const share = bytes !== null && total > 0 ? Math.min(1, bytes / total) : 0;
  return (
    <td className="storage-size" data-bytes={bytes === null ? 'null' : String(bytes)}>
      <span>{bytes === null ? '—' : formatBytes(bytes)}</span>
      <span className="storage-share" aria-hidden="true">
        <span style={{ width: `${100 * share}%` }} />
      </span>
    </td>
  );
}

export interface StorageRunRowProps {
  row: RunStorageRow;
  /** Bytes of the whole database, for the share bar. */
  total: number;
  onDelete(): Promise<void>;
  onError(error: unknown): void;
}

/** Test id `storage-run-row` with `data-id`; its button is `storage-delete-run`. */
export function StorageRunRow({ row, total, onDelete, onError }: StorageRunRowProps) {
  return (
    <tr data-testid="storage-run-row" data-id={row.id}>
      <th scope="row" title={row.title}>
        {truncateText(row.title, 48)}
        {row.status === null ? <span className="muted storage-note"> folder without a run record</span> : null}
      </th>
      <td>{row.status ? <StatusBadge status={row.status} testId="storage-run-status" /> : <span className="muted">—</span>}</td>
      <SizeCell bytes={row.bytes} total={total} />
      <td className="storage-actions">
        <DeleteButton testId="storage-delete-run" label={`Delete run ${row.title}`} onDelete={onDelete} onError={onError} />
      </td>
    </tr>
  );
}

export interface StorageModelRowProps {
  row: ModelStorageRow;
  total: number;
  now: number;
  onDelete(): Promise<void>;
  onError(error: unknown): void;
}

/** Test id `storage-model-row` with `data-id`; its button is `storage-delete-model`. */
export function StorageModelRow({ row, total, now, onDelete, onError }: StorageModelRowProps) {
  return (
    <tr data-testid="storage-model-row" data-id={row.id}>
      <th scope="row" title={row.id}>
        {truncateText(row.label, 48)}
        <span className="muted storage-note">
          {' '}
          {describeOrigin(row.origin)}
          {row.saved !== null ? (
            <>
              {' · saved '}
              <RelativeTime ts={row.saved} now={now} />
            </>
          ) : null}
        </span>
      </th>
      <td>
        {row.usedBy.length === 0 ? (
          <span className="muted">no runs</span>
        ) : (
          <span title={row.usedBy.join(', ')}>
            {row.usedBy.length} run{row.usedBy.length === 1 ? '' : 's'}
          </span>
        )}
        {row.blockedBy.length > 0 ? (
          <span className="storage-blocked" title={row.blockedBy.join(', ')}>
            {row.blockedBy.length} unfinished
          </span>
        ) : null}
      </td>
      <SizeCell bytes={row.bytes} total={total} />
      <td className="storage-actions">
        <DeleteButton testId="storage-delete-model" label={`Delete model ${row.label}`} onDelete={onDelete} onError={onError} />
      </td>
    </tr>
  );
}

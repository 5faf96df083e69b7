// The storage panel: bytes kept in this browser in total, against the quota, per run and per cached model, with deletes to free space.
import { useMemo, useState, type ReactNode } from 'react';
import type { StorageUsage } from '../../storage/idb-storage.ts';
import type { CachedModelInfo } from '../../worker/model-store.ts';
import type { RunRecord } from '../../worker/run-job.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import { formatBytes } from '../../report/format.ts';
import { QuotaBar } from './QuotaBar.tsx';
import { RunsTable } from './RunsTable.tsx';
import { folderBytes, modelStorageRows, quotaShare, runStorageRows, sumBytes } from './storage-usage.ts';
import { StorageModelRow, StorageRunRow } from './StorageRows.tsx';
import { useNow } from './use-now.ts';
import './runs.css';

export interface StoragePanelProps {
  /** The database's usage; null while it is measured. */
  usage: StorageUsage | null;
  models: CachedModelInfo[];
  runs: RunRecord[];
  /** Measures again; also called after every successful delete. */
  onRefresh(): void;
  /** Rejections (e.g. a model still used by unfinished runs) are shown in the panel. */
  onDeleteModel(id: string): Promise<void>;
  onDeleteRun(id: string): Promise<void>;
}

interface Failure {
  title: string;
  error: unknown;
}

/** A small labelled number. */
function Stat({ label, children, testId, bytes }: { label: string; children: ReactNode; testId?: string; bytes?: number | null }) {
  return (
    <div className="stat" data-testid={testId} data-bytes={bytes === undefined ? undefined : bytes === null ? 'null' : String(bytes)}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{children}</div>
    </div>
  );
}

/** A titled table of the panel. */
function StorageTable({ title, head, empty, children, count }: { title: string; head: string[]; empty: string; children: ReactNode; count: number }) {
  return (
    <>
      <h3>{title}</h3>
      {count === 0 ? (
        <p className="muted storage-empty">{empty}</p>
      ) : (
        <RunsTable head={head} className="storage-table">
          {children}
        </RunsTable>
      )}
    </>
  );
}

/**
 * Test ids: `storage-panel`, `storage-total` (with `data-bytes`), `storage-quota` when the browser
 * gives a quota, rows `storage-run-row` / `storage-model-row` (with `data-id`), their buttons
 * `storage-delete-run` / `storage-delete-model`, and `storage-refresh`. Rows are largest first.
 */
export function StoragePanel({ usage, models, runs, onRefresh, onDeleteModel, onDeleteRun }: StoragePanelProps) {
  const now = useNow();
  const [failure, setFailure] = useState<Failure | null>(null);
  const runRows = useMemo(() => runStorageRows(usage, runs), [usage, runs]);
  const modelRows = useMemo(() => modelStorageRows(usage, models, runs), [usage, models, runs]);
  const share = useMemo(() => quotaShare(usage), [usage]);
  const total = usage?.totalBytes ?? 0;
  const runsBytes = folderBytes(usage, 'runs') ?? (usage ? sumBytes(runRows.map((r) => r.bytes)) : null);
  const modelsBytes = folderBytes(usage, 'models') ?? (usage ? sumBytes(modelRows.map((r) => r.bytes)) : null);

  const remove = (title: string, del: () => Promise<void>) => async () => {
    setFailure(null);
    try {
      await del();
    } catch (error) {
      setFailure({ title, error });
      return;
    }
    try {
      onRefresh();
    } catch (error) {
      setFailure({ title: 'Could not measure the storage again', error });
    }
  };
  const report = (title: string) => (error: unknown) => setFailure({ title, error });

  return (
    <section className="card storage-panel" data-testid="storage-panel">
      <header className="card-header">
        <h2>Storage</h2>
        <button type="button" className="button runs-button" onClick={onRefresh} data-testid="storage-refresh">
          Refresh
        </button>
      </header>
      <p className="muted storage-intro">
        Runs and models are kept in this browser’s storage. Deleting a run removes its adapters, replay samples and results; deleting a
        model removes its weight files (a run that needs it cannot resume or answer in the playground).
      </p>
      <div className="stats storage-stats">
        <Stat label="Stored in total" testId="storage-total" bytes={usage ? usage.totalBytes : null}>
          {usage ? formatBytes(usage.totalBytes) : <span className="muted">measuring…</span>}
        </Stat>
        <Stat label="Runs" bytes={runsBytes}>
          {runsBytes === null ? '—' : formatBytes(runsBytes)}
        </Stat>
        <Stat label="Cached models" bytes={modelsBytes}>
          {modelsBytes === null ? '—' : formatBytes(modelsBytes)}
        </Stat>
      </div>
      {share ? (
        <QuotaBar share={share} />
      ) : usage ? (
        <p className="muted storage-note">This browser does not report its storage quota.</p>
      ) : null}
      {failure ? (
        <ErrorCallout title={failure.title} error={failure.error}>
          <button type="button" className="button runs-dismiss" onClick={() => setFailure(null)}>
            Dismiss
          </button>
        </ErrorCallout>
      ) : null}
      <StorageTable title="Runs" head={['Run', 'Status', 'Size', '']} empty="No runs stored." count={runRows.length}>
        {runRows.map((row) => (
          <StorageRunRow
            key={row.id}
            row={row}
            total={total}
            onDelete={remove(`Could not delete the run “${row.title}”`, () => onDeleteRun(row.id))}
            onError={report(`Could not delete the run “${row.title}”`)}
          />
        ))}
      </StorageTable>
      <StorageTable title="Cached models" head={['Model', 'Used by', 'Size', '']} empty="No models cached." count={modelRows.length}>
        {modelRows.map((row) => (
          <StorageModelRow
            key={row.id}
            row={row}
            total={total}
            now={now}
            onDelete={remove(`Could not delete the model “${row.label}”`, () => onDeleteModel(row.id))}
            onError={report(`Could not delete the model “${row.label}”`)}
          />
        ))}
      </StorageTable>
    </section>
  );
}

export default StoragePanel;

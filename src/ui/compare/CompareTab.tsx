// The Compare view: pick runs stored in this browser and results.json files (from `clora run` or exported here), then
// see them compared; files are read here and not stored.
import { useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import type { RunResults } from '../../cl/runner.ts';
import { parseRunResultsText } from '../../report/results-file.ts';
import type { RunRecord } from '../../worker/run-job.ts';
import { ErrorBoundary } from '../components/ErrorBoundary.tsx';
import { ErrorCallout, errorMessage } from '../components/ErrorCallout.tsx';
import { RunsTable } from '../runs/RunsTable.tsx';
import { StatusBadge } from '../runs/StatusBadge.tsx';
import { newestFirst, runMethods, summarizeNames, truncateText } from '../runs/run-format.ts';
import { CompareView, type ComparedRun } from './CompareView.tsx';
import { fileRunLabel, uniqueLabels } from './labels.ts';
import '../runs/runs.css';
import './compare.css';

export interface CompareTabProps {
  /** The runs stored in this browser. */
  runs: readonly RunRecord[];
  /** Reads a stored run's results (null when it has none yet). */
  readResults(id: string): Promise<RunResults | null>;
  /** Lists the stored runs again (called when the view is shown). */
  refresh(): Promise<void>;
  /** Whether the view is on screen. */
  visible: boolean;
  /** A stored run to pick (the Runs view's "Compare"); each new ticket picks it if it is not picked yet. */
  add?: { id: string; ticket: number } | null;
}

/** A stored run's results as read for the comparison. */
type StoredResults = { state: 'loading' } | { state: 'ok'; results: RunResults } | { state: 'none' } | { state: 'error'; error: unknown };

/** A results file opened here. */
interface OpenedFile {
  key: string;
  name: string;
  results: RunResults;
}

/** A pick, in the order picked: the runs are compared in this order. */
type Choice = { kind: 'stored'; id: string } | { kind: 'file'; key: string };

const COLUMNS = ['Compare', 'Run', 'Model', 'Tasks', 'Methods', 'Status'];

/**
 * Test id `compare-tab`. Stored runs are rows `compare-run` (`data-id`) with a checkbox named "Compare <title>"; files go
 * in through `compare-files-input` (several at once) or a drop on `compare-drop-zone`, and are listed as `compare-file`
 * rows with their own checkbox ("Compare <file name>") and a Remove button. Two picks or more show the comparison.
 */
export function CompareTab({ runs, readResults, refresh, visible, add = null }: CompareTabProps) {
  const [picks, setPicks] = useState<Choice[]>([]);
  const [stored, setStored] = useState<Record<string, StoredResults>>({});
  const [files, setFiles] = useState<OpenedFile[]>([]);
  const [fileFailures, setFileFailures] = useState<{ name: string; error: unknown }[]>([]);
  const [over, setOver] = useState(false);
  const fileCounter = useRef(0);

  const pickedStored = (id: string) => picks.some((p) => p.kind === 'stored' && p.id === id);
  const pickedFile = (key: string) => picks.some((p) => p.kind === 'file' && p.key === key);

  /** Reads a stored run's results (again): a run still training has more each time. */
  const readStored = (id: string, first: boolean) => {
    if (first) setStored((s) => ({ ...s, [id]: { state: 'loading' } }));
    readResults(id).then(
      (results) => setStored((s) => ({ ...s, [id]: results ? { state: 'ok', results } : { state: 'none' } })),
      (error: unknown) => setStored((s) => ({ ...s, [id]: { state: 'error', error } })),
    );
  };
  const toggleStored = (id: string) => {
    if (pickedStored(id)) {
      setPicks((ps) => ps.filter((p) => !(p.kind === 'stored' && p.id === id)));
      return;
    }
    setPicks((ps) => [...ps, { kind: 'stored', id }]);
    readStored(id, stored[id]?.state !== 'ok');
  };

  // Shown again: the list of runs, and the picked runs' results, may have changed meanwhile (a run went on training).
  useEffect(() => {
    if (!visible) return;
    void refresh().catch((e: unknown) => console.error('listing the runs failed', e));
    for (const p of picks) if (p.kind === 'stored') readStored(p.id, false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [visible]);

  useEffect(() => {
    if (add && !pickedStored(add.id)) toggleStored(add.id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [add?.ticket]);

  const toggleFile = (key: string) => setPicks((ps) => (pickedFile(key) ? ps.filter((p) => !(p.kind === 'file' && p.key === key)) : [...ps, { kind: 'file', key }]));
  const removeFile = (key: string) => {
    setPicks((ps) => ps.filter((p) => !(p.kind === 'file' && p.key === key)));
    setFiles((fs) => fs.filter((f) => f.key !== key));
  };

  const addFiles = async (list: readonly File[]) => {
    const failures: { name: string; error: unknown }[] = [];
    const added: OpenedFile[] = [];
    for (const file of list) {
      try {
        added.push({ key: `file-${++fileCounter.current}`, name: file.name, results: parseRunResultsText(await file.text(), file.name) });
      } catch (error) {
        failures.push({ name: file.name, error });
      }
    }
    setFileFailures(failures);
    setFiles((fs) => [...fs, ...added]);
    setPicks((ps) => [...ps, ...added.map((f): Choice => ({ kind: 'file', key: f.key }))]);
  };

  const onDragOver = (e: DragEvent<HTMLDivElement>) => {
    if (!Array.from(e.dataTransfer.types).includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    setOver(true);
  };
  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setOver(false);
    void addFiles(Array.from(e.dataTransfer.files));
  };

  // The picks that have results, in pick order, labelled uniquely.
  const compared = useMemo((): ComparedRun[] => {
    const ready = picks.flatMap((p): (Omit<ComparedRun, 'label'> & { name: string })[] => {
      if (p.kind === 'file') {
        const f = files.find((x) => x.key === p.key);
        return f ? [{ name: fileRunLabel(f.name), results: f.results, source: { kind: 'file', name: f.name } }] : [];
      }
      const s = stored[p.id];
      const record = runs.find((r) => r.id === p.id);
      // A run deleted since it was picked drops out.
      return s?.state === 'ok' && record
        ? [{ name: record.title || p.id, results: s.results, source: { kind: 'stored', id: p.id }, methods: record.settings?.methods }] : [];
    });
    const labels = uniqueLabels(ready.map((r) => r.name));
    return ready.map((r, i) => ({ label: labels[i], results: r.results, source: r.source, methods: r.methods }));
  }, [picks, files, stored, runs]);

  const storedNote = (id: string) => {
    const s = stored[id];
    if (!pickedStored(id) || !s) return null;
    if (s.state === 'loading') return <span className="muted compare-pick-note">reading…</span>;
    if (s.state === 'none') return <span className="muted compare-pick-note" data-testid="compare-no-results">no results yet</span>;
    if (s.state === 'error') return <span className="runs-error compare-pick-note">could not be read</span>;
    return null;
  };
  const failedReads = Object.entries(stored).filter(([id, s]) => s.state === 'error' && pickedStored(id));

  return (
    <div className="runs-tab compare-tab" data-testid="compare-tab">
      <section className="card compare-picker" data-testid="compare-picker">
        <header className="card-header">
          <h2>Compare runs</h2>
          <span className="muted runs-total" role="status" data-testid="compare-count">
            {picks.length} picked{compared.length !== picks.length ? `, ${compared.length} with results` : ''}
          </span>
        </header>
        <p className="muted compare-help">
          Pick two or more runs: seeds or task orders of one experiment give each method&apos;s mean and spread; runs of other settings or
          models compare too, with what differs listed. Runs whose tasks are named differently are matched by position.
        </p>
        {runs.length === 0 ? (
          <p className="muted runs-empty">No runs are stored in this browser yet; add results files below.</p>
        ) : (
          <RunsTable head={COLUMNS} className="compare-runs">
            {newestFirst(runs).map((run) => {
              const tasks = summarizeNames(run.tasks ?? []);
              const methods = summarizeNames(runMethods(run), 4, 16);
              const title = run.title || run.id;
              return (
                <tr key={run.id} className={`runs-row${pickedStored(run.id) ? ' runs-row-selected' : ''}`} data-testid="compare-run" data-id={run.id}>
                  <td>
                    <input type="checkbox" checked={pickedStored(run.id)} onChange={() => toggleStored(run.id)} aria-label={`Compare ${title}`} data-testid="compare-pick" />
                  </td>
                  <th scope="row" className="runs-title-cell">
                    <span className="runs-title" title={run.title}>{truncateText(title, 48)}</span>
                    {storedNote(run.id)}
                  </th>
                  <td className="runs-model" title={run.modelLabel}>{truncateText(run.modelLabel || '—', 28)}</td>
                  <td title={tasks.full}><span className="runs-count">{tasks.count}</span> <span className="muted">{tasks.text}</span></td>
                  <td title={methods.full}>{methods.text || '—'}</td>
                  <td className="runs-status-cell"><StatusBadge status={run.status} /></td>
                </tr>
              );
            })}
          </RunsTable>
        )}
        <div className={`compare-drop${over ? ' compare-drop-over' : ''}`} data-testid="compare-drop-zone" onDragOver={onDragOver} onDragEnter={onDragOver}
          onDragLeave={() => setOver(false)} onDrop={onDrop}>
          <p className="compare-drop-title">Drop results.json files here</p>
          <p className="muted compare-drop-hint">
            The <code>results.json</code> of <code>clora run</code>, or one exported from this page; read here and not stored.
          </p>
          <label className="button compare-files-button">
            Choose results files…
            <input type="file" accept=".json,application/json" multiple className="results-sr-only" data-testid="compare-files-input"
              onChange={(e) => {
                const list = Array.from(e.target.files ?? []);
                e.target.value = '';
                void addFiles(list);
              }} />
          </label>
        </div>
        {files.length > 0 ? (
          <ul className="compare-files" aria-label="Results files">
            {files.map((f) => (
              <li key={f.key} className="compare-file" data-testid="compare-file" data-name={f.name}>
                <label>
                  <input type="checkbox" checked={pickedFile(f.key)} onChange={() => toggleFile(f.key)} aria-label={`Compare ${f.name}`} />
                  <span className="compare-file-name">{f.name}</span>
                  <span className="muted"> · {f.results.tasks.length} tasks · {Object.keys(f.results.methods).join(', ')}</span>
                </label>
                <button type="button" className="button runs-button" onClick={() => removeFile(f.key)} aria-label={`Remove ${f.name}`}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
        ) : null}
        {fileFailures.map((f) => <ErrorCallout key={f.name} title={`Could not open ${f.name}`} error={f.error} />)}
        {failedReads.map(([id, s]) => <ErrorCallout key={id} title={`Could not read the results of ${id}`} error={(s as { error: unknown }).error} />)}
      </section>
      {compared.length >= 2 ? (
        // A new set of runs gets a fresh boundary, so picking others after a failure tries again.
        <ErrorBoundary key={compared.map((r) => r.label).join('\u0000')}
          fallback={(error) => <ErrorCallout title="These runs could not be compared" error={error} message={`${errorMessage(error)}; pick other runs, or report this with their results files.`} />}>
          <CompareView runs={compared} />
        </ErrorBoundary>
      ) : (
        <p className="muted compare-empty" data-testid="compare-empty">
          {compared.length === 0 ? 'Pick two or more runs or results files to compare them.' : 'Pick one more run or results file to compare.'}
        </p>
      )}
    </div>
  );
}

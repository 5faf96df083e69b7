// The app shell: detects WebGPU, then shows the experiment flow, stored runs, the playground and the GPU check, or explains how to enable WebGPU.
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { AdapterPanel, type AdapterState } from './components/AdapterPanel.tsx';
import { DemoPanel } from './components/DemoPanel.tsx';
import { WebGpuUnavailable } from './components/WebGpuUnavailable.tsx';
import { createEngineClient, type CachedModelInfo, type EngineClient, type RunRecord, type StorageUsage, type TaskInput } from './engine-client.ts';
import { CompareTab } from './compare/CompareTab.tsx';
import { ExperimentView, useAdapterExport, type RunCopy } from './experiment/ExperimentView.tsx';
import { useRuns } from './experiment/use-runs.ts';
import { detectWebGpu, type WebGpuStatus } from './gpu-detect.ts';
import { Playground } from './playground/Playground.tsx';
import { ResultsView } from './results/ResultsView.tsx';
import { downloadBlob } from './results/download.ts';
import { OpenResultsFile } from './runs/OpenResultsFile.tsx';
import { RunHistory } from './runs/RunHistory.tsx';
import { StoragePanel } from './runs/StoragePanel.tsx';
import { useTrainingTitle } from './runs/use-training-title.ts';
import type { RunResults } from '../cl/runner.ts';
import { parseRunResultsText } from '../report/results-file.ts';
import { ErrorCallout } from './components/ErrorCallout.tsx';

export function App() {
  const [gpu, setGpu] = useState<WebGpuStatus | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let live = true;
    setGpu(null);
    void detectWebGpu().then((status) => {
      if (live) setGpu(status);
    });
    return () => {
      live = false;
    };
  }, [attempt]);

  let body: ReactNode;
  if (gpu === null) {
    body = (
      <main className="page page-narrow" data-testid="checking">
        <p className="muted centered">
          <span className="spinner" aria-hidden="true" /> Checking for WebGPU…
        </p>
      </main>
    );
  } else if (!gpu.ok) {
    body = <WebGpuUnavailable status={gpu} onRetry={() => setAttempt((n) => n + 1)} />;
  } else {
    body = <Workbench />;
  }
  return (
    <div className="app">
      <TopBar />
      {body}
      <footer className="footer">Runs entirely in this browser tab: the model, the training and your data stay on this machine.</footer>
    </div>
  );
}

function TopBar() {
  return (
    <header className="topbar">
      <div className="brand">
        <img src="favicon.svg" alt="" width={24} height={24} />
        <span className="brand-name">clora</span>
      </div>
      <span className="brand-tagline">continual LoRA fine-tuning on WebGPU</span>
    </header>
  );
}

type Tab = 'experiment' | 'runs' | 'compare' | 'playground' | 'gpu';

const TABS: { id: Tab; label: string }[] = [
  { id: 'experiment', label: 'Experiment' },
  { id: 'runs', label: 'Runs & storage' },
  { id: 'compare', label: 'Compare' },
  { id: 'playground', label: 'Playground' },
  { id: 'gpu', label: 'GPU check' },
];

/** The main view once WebGPU is there: one engine worker shared by the panels. */
function Workbench() {
  const [client, setClient] = useState<EngineClient | null>(null);
  const [adapter, setAdapter] = useState<AdapterState>({ status: 'loading' });
  const [tab, setTab] = useState<Tab>('experiment');
  // A stored run's settings to edit as a new run ("Edit a copy" in the Runs view).
  const [copy, setCopy] = useState<RunCopy | null>(null);
  // A stored run to add to the comparison ("Compare" in the Runs view); the ticket makes a repeated ask a new one.
  const [comparePick, setComparePick] = useState<{ id: string; ticket: number } | null>(null);

  useEffect(() => {
    let live = true;
    const engine = createEngineClient();
    setClient(engine);
    setAdapter({ status: 'loading' });
    engine.probe().then(
      (report) => {
        if (live) setAdapter({ status: 'ready', report });
      },
      (error: unknown) => {
        if (!live) return;
        console.error('engine worker probe failed', error);
        setAdapter({ status: 'error', error });
      },
    );
    return () => {
      live = false;
      engine.dispose();
      setClient(null);
    };
  }, []);

  const runs = useRuns(client?.app ?? null);
  const training = runs.active?.record ?? null;
  useTrainingTitle(training ? { title: training.title || training.id, done: runs.active?.progress?.done ?? training.done, paused: training.status === 'paused' } : null);

  return (
    <main className="page workbench">
      <nav className="tabs" role="tablist" aria-label="Views">
        {TABS.map((t) => (
          <button key={t.id} type="button" role="tab" aria-selected={tab === t.id} className={`tab${tab === t.id ? ' tab-active' : ''}`}
            data-testid={`tab-${t.id}`} onClick={() => setTab(t.id)}>
            {t.label}{t.id === 'experiment' && runs.active ? ' ●' : ''}
          </button>
        ))}
      </nav>
      {adapter.status === 'error' && <AdapterPanel state={adapter} />}
      {client && (
        <div hidden={tab !== 'experiment'}><ExperimentView client={client} runs={runs} copy={copy} /></div>
      )}
      {client && tab === 'runs' && (
        <RunsTab client={client} runs={runs} onResumed={() => setTab('experiment')}
          onCompare={(id) => { setComparePick({ id, ticket: Date.now() }); setTab('compare'); }}
          onCopy={(record, inputs) => { setCopy({ settings: record.settings, model: record.model, title: `${record.title} (copy)`, tasks: record.tasks, inputs, ticket: Date.now() }); setTab('experiment'); }} />
      )}
      {client && (
        // Kept mounted, like the experiment, so the picked runs stay picked while another view is open.
        <div hidden={tab !== 'compare'}>
          <CompareTab runs={runs.runs} readResults={(id) => client.app.readResults(id)} refresh={runs.refresh} visible={tab === 'compare'} add={comparePick} />
        </div>
      )}
      {client && tab === 'playground' && (
        <Playground runs={runs.runs.filter((r) => r.status === 'done')} loadResults={(id) => client.app.readResults(id)}
          answer={(id, method, task, input) => client.app.answer(id, method, task, input)} />
      )}
      {tab === 'gpu' && (
        <>
          <AdapterPanel state={adapter} />
          <DemoPanel client={adapter.status === 'error' ? null : client} />
        </>
      )}
    </main>
  );
}

/** The results the Runs view shows: a stored run's (null while read, or when it has none) or a file's. */
type ShownResults =
  | { kind: 'run'; id: string; results: RunResults | null; loading: boolean; ticket: number }
  | { kind: 'file'; name: string; results: RunResults; ticket: number };

/** Stored runs (open one's results, resume, delete), a results file from disk, and what the browser's storage holds. */
function RunsTab({ client, runs, onResumed, onCopy, onCompare }: {
  client: EngineClient; runs: ReturnType<typeof useRuns>; onResumed(): void; onCopy(record: RunRecord, inputs: TaskInput[] | null): void; onCompare(id: string): void;
}) {
  // One set of results is shown at a time: a stored run's or a file's. Each open takes a ticket, and a read that
  // finishes after a later open was asked for is dropped.
  const [shown, setShown] = useState<ShownResults | null>(null);
  const [fileFailure, setFileFailure] = useState<{ name: string; error: unknown } | null>(null);
  const ticket = useRef(0);
  const selected = shown?.kind === 'run' ? shown : null;
  const fromFile = shown?.kind === 'file' ? shown : null;
  const [usage, setUsage] = useState<StorageUsage | null>(null);
  const [models, setModels] = useState<CachedModelInfo[]>([]);
  const [error, setError] = useState<unknown>(null);
  const { exportAdapter, exportOnnx, error: exportError } = useAdapterExport(client);

  const refresh = useCallback(async () => {
    try {
      await runs.refresh();
      setUsage(await client.app.storageUsage());
      setModels(await client.app.listModels());
    } catch (e) {
      setError(e);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  /** Runs an action on a stored run's record; a failure (a lost task file, storage) is shown above the table. */
  const withRecord = async (id: string, action: (record: RunRecord) => Promise<void>) => {
    const record = runs.runs.find((r) => r.id === id);
    if (!record) return;
    setError(null);
    try {
      await action(record);
    } catch (e) {
      setError(e);
    }
  };

  const open = async (id: string) => {
    const mine = ++ticket.current;
    setFileFailure(null);
    setShown({ kind: 'run', id, results: null, loading: true, ticket: mine });
    try {
      const results = await client.app.readResults(id);
      if (ticket.current === mine) setShown({ kind: 'run', id, results, loading: false, ticket: mine });
    } catch (e) {
      if (ticket.current === mine) {
        setShown(null);
        setError(e);
      }
    }
  };

  const openFile = async (file: File) => {
    const mine = ++ticket.current;
    setFileFailure(null);
    try {
      const results = parseRunResultsText(await file.text(), file.name);
      if (ticket.current === mine) setShown({ kind: 'file', name: file.name, results, ticket: mine });
    } catch (error) {
      if (ticket.current === mine) setFileFailure({ name: file.name, error });
    }
  };

  return (
    <div className="runs-tab" data-testid="runs-tab">
      {error !== null && <ErrorCallout title="The stored runs could not be read or used" error={error} />}
      <RunHistory runs={runs.runs} activeId={runs.active?.record?.id ?? null} heldIds={runs.held} activeDone={runs.active?.progress?.done ?? null} selectedId={selected?.id ?? null}
        onOpen={(id) => void open(id)}
        onResume={(id) => { runs.resume(id); onResumed(); }}
        onCopy={(id) => void withRecord(id, async (record) => onCopy(record, record.taskFiles ? await client.app.runTaskInputs(id) : null))}
        onRunAgain={(id) => void withRecord(id, async (record) => {
          const tasks = await client.app.runTaskInputs(id);
          runs.start({ title: `${record.title} (again)`, model: record.model, tasks, settings: record.settings });
          onResumed();
        })}
        onExport={(id) => void withRecord(id, async () => {
          const { fileName, bytes } = await client.app.exportExperiment(id);
          downloadBlob(new Blob([bytes as BlobPart], { type: 'application/zip' }), fileName);
        })}
        onCompare={onCompare}
        onDelete={async (id) => { await runs.remove(id); setShown((s) => (s?.kind === 'run' && s.id === id ? null : s)); await refresh(); }} />
      {exportError !== null && <ErrorCallout title="The adapter could not be exported" error={exportError} />}
      {selected?.results && (
        <ResultsView key={`run-${selected.ticket}`} results={selected.results} title={runs.runs.find((r) => r.id === selected.id)?.title ?? selected.id}
          onExportAdapter={(m, stage) => void exportAdapter(selected.id, selected.results!, m, stage)}
          onExportOnnx={(m) => exportOnnx(selected.id, m)} />
      )}
      {selected && !selected.results && <p className="muted">{selected.loading ? 'Reading the results…' : 'No results stored for this run yet.'}</p>}
      <OpenResultsFile openName={fromFile?.name ?? null} failure={fileFailure} onFile={(file) => void openFile(file)} />
      {fromFile && <ResultsView key={`file-${fromFile.ticket}`} results={fromFile.results} title={fromFile.name.replace(/(-results)?\.json$/i, '')} />}
      <StoragePanel usage={usage} models={models} runs={runs.runs} onRefresh={() => void refresh()}
        onDeleteModel={async (id) => { await client.app.deleteModel(id); }}
        onDeleteRun={async (id) => { await runs.remove(id); }} />
    </div>
  );
}

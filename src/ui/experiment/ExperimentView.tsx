// The main flow: choose a model, add task datasets, pick methods, start a run, follow it, and read its results.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { RunResults } from '../../cl/runner.ts';
import type { EngineClient, ImportedExperiment, ModelChoice, RunSettings, TaskInput } from '../engine-client.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import { TaskPanel, tasksReady, type TaskRow } from '../datasets/TaskPanel.tsx';
import { DataCheckPanel } from '../datasets/DataCheckPanel.tsx';
import { RunSetupPanel } from '../run-setup/RunSetupPanel.tsx';
import { defaultRunSettings, validateSettings } from '../run-setup/method-options.ts';
import { runProblems } from '../../cl/run-checks.ts';
import { budgetBytesOf } from '../../cl/experiment.ts';
import { ResultsView } from '../results/ResultsView.tsx';
import { downloadBlob } from '../results/download.ts';
import { adapterFolderFor, adapterRootFor, zipAdapter } from './adapter-export.ts';
import { choiceForModel, ModelPanel, type ModelState } from './ModelPanel.tsx';
import { RunProgressPanel } from './RunProgressPanel.tsx';
import { ImportExperiment } from './ImportExperiment.tsx';
import type { useRuns } from './use-runs.ts';

/**
 * A stored run's settings, title and tasks, put into the form to edit as a new run; `inputs` are its stored task files
 * (null for a run stored before runs kept them: then only its task names are shown); `ticket` tells copies apart.
 */
export interface RunCopy {
  settings: RunSettings;
  /** The run's model as it keeps it (loaded into the form too). */
  model: ModelChoice;
  title: string;
  tasks: string[];
  inputs: TaskInput[] | null;
  ticket: number;
}

export interface ExperimentViewProps {
  client: EngineClient;
  runs: ReturnType<typeof useRuns>;
  copy?: RunCopy | null;
}

/** Exports a stored adapter as a zip download, or a finished method as an ONNX file; shared by every results view. */
export function useAdapterExport(client: EngineClient) {
  const [error, setError] = useState<unknown>(null);
  /** Rejects with the worker's error (the heatmap shows it). */
  const exportOnnx = useCallback(async (runId: string, method: string) => {
    setError(null);
    const { fileName, bytes } = await client.app.exportMethodOnnx(runId, method);
    downloadBlob(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }), fileName);
  }, [client]);
  const exportAdapter = useCallback(async (runId: string, results: RunResults, method: string, stage: number) => {
    setError(null);
    try {
      // SAPT answers with every block and its router: the whole folder `clora export --sapt` reads, as of its last task.
      const sapt = await client.app.saptFolderFiles(runId, method);
      if (sapt) {
        const name = `${method}-sapt`;
        downloadBlob(new Blob([zipAdapter(name, sapt) as BlobPart], { type: 'application/zip' }), `${name}.zip`);
        return;
      }
      const root = adapterRootFor(results, method);
      const folders = await client.app.adapterFolders(runId, method, root);
      const folder = adapterFolderFor(folders, results, method, stage);
      if (!folder) throw new Error(`${method} saved no adapter for task ${stage + 1} (saved: ${folders.join(', ') || 'none'})`);
      const files = await client.app.adapterFiles(runId, method, folder, root);
      const name = root === 'merged' ? `${method}-merged-${folder}` : `${method}-${folder}`;
      const zip = zipAdapter(name, files);
      downloadBlob(new Blob([zip as BlobPart], { type: 'application/zip' }), `${name}.zip`);
    } catch (e) {
      setError(e);
    }
  }, [client]);
  return { exportAdapter, exportOnnx, error };
}

export function ExperimentView({ client, runs, copy = null }: ExperimentViewProps) {
  const [model, setModel] = useState<ModelState>({ choice: null, report: null });
  const [tasks, setTasks] = useState<TaskRow[]>([]);
  const [settings, setSettings] = useState<RunSettings>(defaultRunSettings);
  const [title, setTitle] = useState('');
  const [finished, setFinished] = useState<{ id: string; results: RunResults } | null>(null);
  const { exportAdapter, exportOnnx, error: exportError } = useAdapterExport(client);

  const running = runs.active !== null;
  // "Edit a copy": the stored run's settings, title and task files (a run stored before task files were kept: its task
  // names, to add again).
  const [copied, setCopied] = useState<{ from: string; tasks: string[]; withFiles: boolean } | null>(null);
  const [modelRequest, setModelRequest] = useState<{ choice: ModelChoice; ticket: number } | null>(null);
  const fillForm = (next: { settings: RunSettings; title: string; inputs: TaskInput[] | null; model: ModelChoice | null }) => {
    setSettings(next.settings);
    setTitle(next.title);
    if (next.inputs) setTasks(next.inputs.map((input): TaskRow => ({ input, inspection: 'pending' })));
    if (next.model) setModelRequest({ choice: next.model, ticket: Date.now() });
  };
  useEffect(() => {
    if (!copy || running) return;
    fillForm(copy);
    setCopied({ from: copy.title, tasks: copy.tasks, withFiles: copy.inputs !== null });
    // Only a new copy (a new ticket) replaces the form.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [copy?.ticket]);
  const [imported, setImported] = useState<ImportedExperiment | null>(null);
  const onImported = (exp: ImportedExperiment) => {
    fillForm({ settings: exp.settings, title: exp.title, inputs: exp.tasks, model: choiceForModel(exp.model) });
    setImported(exp);
    setCopied(null);
  };
  // The form shows the run in progress: after a reload the resumed run's settings and title, not the defaults.
  const adopted = useRef<string | null>(null);
  const activeRecord = runs.active?.record ?? null;
  useEffect(() => {
    if (!activeRecord || adopted.current === activeRecord.id) return;
    adopted.current = activeRecord.id;
    setSettings(activeRecord.settings);
    setTitle(activeRecord.title);
  }, [activeRecord]);
  const shape = useMemo(() => ({
    batchSize: settings.batchSize, seqLen: settings.maxLength, rank: settings.lora.rank, targets: settings.lora.targets,
    blocks: Math.max(1, tasks.length), dropout: settings.lora.dropout,
    memory: {
      ...(settings.recompute !== undefined ? { recompute: settings.recompute } : {}),
      budgetBytes: budgetBytesOf(settings.memoryBudgetMiB),
    },
  }), [settings, tasks.length]);

  // After a run ends, show its stored results.
  useEffect(() => {
    if (running || !runs.lastId) return;
    let live = true;
    void client.app.readResults(runs.lastId).then((results) => {
      if (live && results) setFinished({ id: runs.lastId!, results });
    }, () => {});
    return () => { live = false; };
  }, [client, running, runs.lastId]);

  const chat = settings.chat;
  const previewPrompts = useCallback(
    (instruction: string, examples: { input: string; output: string }[]) => client.app.previewPrompts(instruction, examples, chat ?? {}),
    [client, chat],
  );
  const ready = tasksReady(tasks);
  const readTasks = useMemo(() => tasks.filter((row) => row.inspection !== 'pending' && row.inspection.ok).map((row) => row.input), [tasks]);
  const dataCheckOptions = useMemo(() => ({
    testFraction: settings.testFraction, seed: settings.seed, maxLength: settings.maxLength, maxTrain: settings.maxTrain, maxTest: settings.maxTest,
    shape: { ...shape, seqLen: settings.maxLength }, budgetBytes: budgetBytesOf(settings.memoryBudgetMiB),
  }), [settings.testFraction, settings.seed, settings.maxLength, settings.maxTrain, settings.maxTest, settings.memoryBudgetMiB, shape]);
  // The checks `clora run` makes on the combination of tasks, methods and settings (names and duplicates of
  // rows not read yet are tasksReady's).
  const checks = runProblems({
    settings,
    tasks: tasks.map((row) => {
      const preview = row.inspection !== 'pending' && row.inspection.ok ? row.inspection.preview : null;
      return { name: row.input.name.trim(), ...(preview ? { source: preview.source, train: preview.counts.train, test: preview.counts.test } : {}) };
    }),
  }).filter((p) => ready.ok || !p.field.startsWith('tasks'));
  const problems = [...new Set([
    ...(model.choice ? [] : ['Load a model.']),
    ...ready.problems,
    ...validateSettings(settings),
    ...checks.filter((p) => p.severity === 'error').map((p) => p.message),
  ])];
  const notes = checks.filter((p) => p.severity === 'note').map((p) => p.message);

  const start = () => {
    if (!model.choice || problems.length > 0) return;
    setFinished(null);
    runs.start({
      title: title.trim() || `${tasks.length} tasks × ${settings.methods.map((m) => m.name).join(', ')}`,
      model: model.choice,
      tasks: tasks.map((t) => t.input),
      settings,
    });
  };

  const shownResults = runs.active?.results ?? finished?.results ?? null;
  const shownId = runs.active?.record?.id ?? finished?.id ?? null;

  return (
    <div className="experiment" data-testid="experiment-view">
      <ImportExperiment read={(files, from) => client.app.importExperiment(files, from)} onImported={onImported} disabled={running} />
      <ModelPanel
        describe={(choice, s, onStatus) => client.app.describeModel(choice, s, settings.seed, onStatus)}
        shape={shape} value={model} onChange={setModel} disabled={running} request={modelRequest}
      />
      <TaskPanel tasks={tasks} onChange={setTasks} disabled={running}
        inspect={(input) => client.app.inspectTask(input, { testFraction: settings.testFraction, seed: settings.seed })}
        preview={previewPrompts} modelKey={model.report ? model.report.label : null} />
      <DataCheckPanel
        tasks={readTasks} modelKey={model.report ? model.report.label : null} disabled={running}
        options={dataCheckOptions}
        check={(inputs, options) => client.app.checkTaskData(inputs, options)}
        onMaxLength={(maxLength) => setSettings((s) => ({ ...s, maxLength }))}
      />
      <RunSetupPanel value={settings} onChange={setSettings} disabled={running} />
      <section className="card" data-testid="run-start" aria-labelledby="run-start-title">
        <div className="card-header"><h2 id="run-start-title">Run</h2></div>
        <div className="field-row">
          <label className="field">
            <span>Title</span>
            <input type="text" value={title} placeholder="named after its tasks and methods" onChange={(e) => setTitle(e.target.value)} disabled={running} />
          </label>
        </div>
        {problems.length > 0 && !running && (
          <ul className="muted" data-testid="run-problems">{problems.map((p) => <li key={p}>{p}</li>)}</ul>
        )}
        {notes.length > 0 && !running && (
          <ul className="muted" data-testid="run-notes">{notes.map((p) => <li key={p}>{p}</li>)}</ul>
        )}
        <div className="settings-actions">
          <button type="button" className="button button-primary" data-testid="run-start-button" disabled={running || problems.length > 0} onClick={start}>
            Train and compare
          </button>
          <span className="muted">Each method trains on the tasks in order; every task seen so far is evaluated after each one. Runs are saved after every task and resume after a reload.</span>
        </div>
        {copied && !running ? (
          <p className="muted" data-testid="run-copy-note">
            {copied.withFiles
              ? `Settings and task files (${copied.tasks.join(', ')}) copied from a stored run: change what you like and start it as a new run.`
              : `Settings copied from a stored run; its tasks were ${copied.tasks.join(', ')}: add their files above (in that order) to run it again.`}
          </p>
        ) : null}
        {imported && !running ? (
          <p className="muted" data-testid="run-import-note">
            From {imported.file}: {imported.model === null ? 'it names no model, so the bundled demo model is loaded' : choiceForModel(imported.model)
              ? `its model ${imported.model} is bundled and loaded` : `it names the model ${imported.model}: load that folder or Hub model above`}.
          </p>
        ) : null}
        {activeRecord && tasks.length === 0 ? (
          <p className="muted" data-testid="run-tasks">
            “{activeRecord.title}” learns {activeRecord.tasks.join(', ')} on {activeRecord.modelLabel} (its tasks are stored with the run).
          </p>
        ) : null}
        {runs.error !== null && <ErrorCallout title="The run stopped" error={runs.error} />}
      </section>
      {runs.active && <RunProgressPanel active={runs.active} onPause={(p) => void runs.pause(p)} onCancel={() => void runs.cancel()} />}
      {exportError !== null && <ErrorCallout title="The adapter could not be exported" error={exportError} />}
      {shownResults && shownId && (
        <ResultsView results={shownResults} live={running} title={runs.active?.record?.title ?? runs.runs.find((r) => r.id === shownId)?.title ?? shownId}
          onExportAdapter={(method, stage) => void exportAdapter(shownId, shownResults, method, stage)}
          onExportOnnx={(method) => exportOnnx(shownId, method)} />
      )}
    </div>
  );
}

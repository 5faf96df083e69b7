// The worker's API for the app beyond the demo: task inspection, model choice with a memory estimate,
// continual-learning runs kept in IndexedDB (start, pause, resume, cancel), stored results, adapters,
// storage use and the playground. Everything here runs in the engine worker.
import type { AdapterRoot } from '../cl/fixed-adapter.ts';
import { METHODS } from '../cl/methods/index.ts';
import type { PlaygroundAnswer } from '../cl/playground.ts';
import type { PlaygroundAnswerer } from '../cl/playground-backend.ts';
import type { RunResults } from '../cl/runner.ts';
import { readJsonFile } from '../cl/storage.ts';
import { checkLengths, checkTestSplit, dataCheckCaps, isSampled, suggestMaxLength, type LengthCheck, type TestSplitCheck } from '../data/data-check.ts';
import { inspectTask, loadTaskInputs, type TaskInput, type TaskInspection } from '../data/inspect.ts';
import type { Session } from '../engine/session.ts';
import type { FileSource } from '../io/files.ts';
import { estimateTrainingMemory, resolveBudget, type MemoryEstimate, type TrainingShape } from '../model/memory-estimate.ts';
import { sizeTrainingStep, type StepSizing } from '../model/step-sizing.ts';
import { deviceMemoryOf } from '../gpu/device-memory.ts';
import { SAPT_CONFIG_FILE, SAPT_ROUTER_FILE, saptAdapterFolder } from '../model/sapt-files.ts';
import { fileSlug } from '../report/tables.ts';
import { formatBytes } from '../report/format.ts';
import { listFolders, openAppDatabase, type AppDatabase, type StorageUsage } from '../storage/idb-storage.ts';
import { getGpu } from './gpu.ts';
import { workerOrtDecoders } from './ort-webgpu.ts';
import type { BaseModelRef } from '../model/peft.ts';
import type { ChatSettings } from '../data/prompt.ts';
import { previewPrompts, type PromptPreview } from '../data/prompt-preview.ts';
import { countingSource, deleteCachedModel, listCachedModels, MODEL_INFO, openModel, type CachedModelInfo, type ModelChoice, type ModelCopyProgress } from './model-store.ts';
import { heldRunIds, listRunRecords, openRunMethod, readRunRecord, RunController, runIsHeld, withRunLock, type RunEvent, type RunHost, type RunRecord, type RunSettings } from './run-job.ts';
import { exportRun, importExperiment, unzipFiles, type ImportedExperiment } from './experiment-files.ts';
import { taskInputsOf } from './task-files.ts';
import { deleteRunAndFiles } from './run-removal.ts';
import type { PathedFile } from '../io/files.ts';

/** What the model panel shows while a model is fetched, copied or loaded. */
export interface ModelStatus {
  message: string;
  /** Bytes of the current file so far, and its size when known (for a progress bar). */
  loaded: number | null;
  total: number | null;
}

/** A model as the app shows it before training. */
export interface ModelReport {
  label: string;
  arch: string;
  numParams: number;
  numLayers: number;
  hiddenSize: number;
  vocabSize: number;
  /** Bytes of the weight files read. */
  fileBytes: number;
  /** Bytes of the weights on the GPU. */
  gpuBytes: number;
  memory: MemoryEstimate;
  /** The device's largest storage binding: a buffer above it cannot be used. */
  maxBindingBytes: number;
  /** The step against the device's limits and budget, with what to change when it does not fit. */
  sizing: StepSizing;
  /** The choice a run keeps (files and hub models are copied into the database). */
  kept: ModelChoice;
}

/** The data checks of the tasks: per task its lengths (when a model is loaded) and test split, or why it could not be read. */
export interface DataCheckReport {
  /** `testSampled`: the run sets no test cap and the split filled the check's sample (CHECK_SAMPLE), so it holds at least that many. */
  tasks: ({ id: string; ok: true; lengths: LengthCheck | null; test: TestSplitCheck; testSampled: boolean } | { id: string; ok: false; error: string })[];
  /** A max length that fits every measured example within the memory budget (null without a model or tasks). */
  suggestion: { maxLength: number; covers: number } | null;
}

/** What the data checks need from the run's settings. */
export interface DataCheckOptions {
  testFraction: number;
  seed: number;
  maxLength: number;
  maxTrain: number | null;
  maxTest: number | null;
  /** The training step's shape (its seqLen is varied) and the budget a suggested max length must keep within. */
  shape: TrainingShape;
  /** Bytes, or 'auto': the budget derived from the device (src/model/memory-estimate.ts deviceMemoryBudget). */
  budgetBytes: number | 'auto';
}

let database: Promise<AppDatabase> | null = null;
function db(): Promise<AppDatabase> {
  database ??= openAppDatabase();
  database.catch(() => { database = null; });
  return database;
}

// One engine session at a time: a model on the GPU is large, so switching models releases the last one.
let current: { key: string; device: GPUDevice; session: Session } | null = null;

/** What adapters record as their base model: a hub model's repo and commit, else the folder's name. */
async function baseModelFor(key: string): Promise<BaseModelRef | null> {
  const id = /^cached:(.+)$/.exec(key)?.[1];
  if (!id) return null;
  const info = await readJsonFile<CachedModelInfo>((await db()).storage(), `models/${id}/${MODEL_INFO}`);
  const hub = info ? /^hub:([^@]+)@([0-9a-f]{40})$/.exec(info.origin) : null;
  return hub ? { name: hub[1], revision: hub[2] } : info ? { name: info.label, revision: null } : null;
}

async function sessionFor(key: string, source: FileSource, seed: number, onStatus: (message: string) => void): Promise<Session> {
  const { device, adapter } = await getGpu();
  const fullKey = `${key}#${seed}`;
  if (current && current.key === fullKey && current.device === device) return current.session;
  current?.session.destroy();
  current = null;
  closePlayground();
  const [{ Session: SessionClass }, { Gpu, summarizeInfo }] = await Promise.all([import('../engine/session.ts'), import('../gpu/context.ts')]);
  onStatus('Loading the model onto the GPU');
  const session = await SessionClass.open(new Gpu(device, summarizeInfo(adapter.info, device.features)), source, { baseOnly: true, seed, baseModel: await baseModelFor(key) });
  current = { key: fullKey, device, session };
  return session;
}

async function host(): Promise<RunHost> {
  const { adapter } = await getGpu();
  const info = adapter.info;
  return {
    db: await db(), session: sessionFor, device: `${info.vendor} ${info.architecture} ${info.description}`.trim(),
  };
}

let controller: RunController | null = null;
async function runs(): Promise<RunController> {
  controller ??= new RunController(await host());
  return controller;
}

let playground: { runId: string; answerer: PlaygroundAnswerer; trained: Awaited<ReturnType<typeof openRunMethod>> } | null = null;

/** Releases the playground's banks and onnxruntime sessions (a run needs the GPU memory). */
function closePlayground(): void {
  const closing = playground;
  playground = null;
  closing?.answerer.dispose().catch((e: unknown) => console.warn('closing the playground:', e));
}

/** `Downloading model.safetensors (file 4 of 5); 12.0 MB of 40.0 MB in all, about 9 s left`. */
function progressMessage(verb: string, p: ModelCopyProgress): string {
  const all = p.grandTotal ? `; ${formatBytes(p.bytesSoFar)} of ${formatBytes(p.grandTotal)} in all` : '';
  const eta = p.etaSeconds != null ? `, about ${Math.ceil(p.etaSeconds)} s left` : '';
  return `${verb} ${p.file} (file ${p.index + 1} of ${p.files})${all}${eta}`;
}

export const appApi = {
  /** Reads one task's files into a preview, or the parser's error. */
  inspectTask(input: TaskInput, split: { testFraction: number; seed: number }): Promise<TaskInspection> {
    return inspectTask(input, split);
  },

  /**
   * Token lengths against the max length (with the loaded model's tokenizer and chat template; none before a model
   * is loaded), the test split's label balance and majority-label score, and a suggested max length within the budget.
   */
  /** A task's first examples as the loaded model reads them (special tokens apart), or null before a model is loaded. */
  previewPrompts(instruction: string, examples: { input: string; output: string }[], chat: Partial<ChatSettings> = {}): PromptPreview[] | null {
    const tokenizer = current?.session.tokenizer ?? null;
    return tokenizer ? previewPrompts(tokenizer, instruction, examples, chat) : null;
  },

  async checkTaskData(inputs: TaskInput[], opts: DataCheckOptions): Promise<DataCheckReport> {
    const tokenizer = current?.session.tokenizer ?? null;
    const config = current?.session.config ?? null;
    const out: DataCheckReport['tasks'] = [];
    for (const input of inputs) {
      try {
        // Uncapped splits are checked on a seeded sample: a file of any size is read within the reading budget.
        const caps = dataCheckCaps(opts.maxTrain, opts.maxTest);
        const [task] = await loadTaskInputs([input], { testFraction: opts.testFraction, seed: opts.seed, maxTrain: caps.maxTrain, maxTest: caps.maxTest });
        out.push({
          id: input.id, ok: true, lengths: tokenizer ? checkLengths(tokenizer, task, opts.maxLength) : null, test: checkTestSplit(task),
          testSampled: isSampled(task.test.length, opts.maxTest),
        });
      } catch (e) {
        out.push({ id: input.id, ok: false, error: e instanceof Error ? e.message : String(e) });
      }
    }
    const lengths = out.flatMap((t) => (t.ok && t.lengths ? [t.lengths] : []));
    const { device } = await getGpu();
    const suggestion = config && lengths.length > 0
      ? suggestMaxLength(lengths, (seqLen) => {
        const deviceMemory = deviceMemoryOf(current!.session.gpu);
        const m = estimateTrainingMemory(config, { ...opts.shape, seqLen, weightsBytes: current!.session.info.weightBytes, device: deviceMemory });
        return m.totalBytes <= resolveBudget(opts.budgetBytes, deviceMemory) && m.largestBufferBytes <= device.limits.maxStorageBufferBindingSize;
      })
      : null;
    return { tasks: out, suggestion };
  },

  /** The methods the runner knows, with a one-line summary each. */
  methods(): { name: string; summary: string }[] {
    return Object.entries(METHODS).map(([name, m]) => ({ name, summary: m.summary }));
  },

  /**
   * Loads the chosen model (downloading and caching a hub model, copying picked files into the
   * database) and reports its size and the memory a training step of `shape` would take.
   */
  async describeModel(choice: ModelChoice, shape: TrainingShape, seed: number, onStatus: (status: ModelStatus) => void): Promise<ModelReport> {
    const root = (await db()).storage();
    const verb = choice.kind === 'hub' ? 'Downloading' : 'Copying into browser storage';
    const opened = await openModel(root, choice, (p) => onStatus({ message: progressMessage(verb, p), loaded: p.loaded, total: p.total }));
    const counted = countingSource(opened.source);
    const key = opened.kept.kind === 'bundled' ? `url:${opened.kept.url}` : opened.kept.kind === 'cached' ? `cached:${opened.kept.id}` : opened.label;
    const session = await sessionFor(key, counted.source, seed, (message) => onStatus({ message, loaded: null, total: null }));
    const { device } = await getGpu();
    return {
      label: opened.label, arch: session.info.arch, numParams: session.info.numParams, numLayers: session.info.numLayers,
      hiddenSize: session.info.hiddenSize, vocabSize: session.info.vocabSize, fileBytes: counted.bytesRead(), gpuBytes: session.info.weightBytes,
      memory: estimateTrainingMemory(session.config, { ...shape, weightsBytes: session.info.weightBytes, device: deviceMemoryOf(session.gpu) }),
      maxBindingBytes: device.limits.maxStorageBufferBindingSize, kept: opened.kept,
      sizing: sizeTrainingStep(session.config, { ...shape, weightsBytes: session.info.weightBytes, device: deviceMemoryOf(session.gpu) }),
    };
  },

  async startRun(spec: { title: string; model: ModelChoice; tasks: TaskInput[]; settings: RunSettings }, onEvent: (e: RunEvent) => void): Promise<RunRecord> {
    closePlayground();
    return (await runs()).start(spec, onEvent);
  },

  async resumeRun(id: string, onEvent: (e: RunEvent) => void): Promise<RunRecord> {
    closePlayground();
    return (await runs()).resume(id, onEvent);
  },

  async pauseRun(paused: boolean): Promise<boolean> {
    return (await runs()).setPaused(paused);
  },

  async cancelRun(): Promise<boolean> {
    return (await runs()).cancel();
  },

  /** The id of the run this worker is executing, if any. */
  async activeRun(): Promise<string | null> {
    return controller?.runningId ?? null;
  },

  /** True when some tab of this browser is training the run now (its lock is held). */
  async runIsHeld(id: string): Promise<boolean> {
    return runIsHeld(id);
  },

  /** The runs some tab of this browser is training now (this worker's own run included). */
  async heldRuns(): Promise<string[]> {
    return heldRunIds();
  },

  async listRuns(): Promise<RunRecord[]> {
    return listRunRecords((await db()).storage('runs'));
  },

  async readResults(id: string): Promise<RunResults | null> {
    return readJsonFile<RunResults>((await db()).storage(`runs/${id}`), 'results.json');
  },

  /** Deletes a run, and the task files no other stored run names. */
  async deleteRun(id: string): Promise<void> {
    if (controller?.runningId === id) throw new Error('this run is in progress; cancel it before deleting it');
    if (playground?.runId === id) closePlayground();
    // Holding the run's lock: refused while another tab trains it, and no tab can start it while it is removed.
    const database = await db();
    await withRunLock(id, 'delete it here', () => deleteRunAndFiles(database, id));
  },

  /** A stored run's task files as task inputs again, to run it again or to edit a copy of it. */
  async runTaskInputs(id: string): Promise<TaskInput[]> {
    const database = await db();
    const record = await readRunRecord(database.storage('runs'), id);
    if (!record) throw new Error(`there is no run "${id}" in this browser's storage`);
    if (!record.taskFiles) throw new Error(`the run “${record.title}” was stored before runs kept their task files; add its files (${record.tasks.join(', ')}) again`);
    return taskInputsOf(database.storage(), record.taskFiles, `run “${record.title}”`);
  },

  /** A stored run as a zip of experiment.json and its task files, what `clora run` takes once unpacked. */
  async exportExperiment(id: string): Promise<{ fileName: string; bytes: Uint8Array; note: string | null }> {
    const database = await db();
    const record = await readRunRecord(database.storage('runs'), id);
    if (!record) throw new Error(`there is no run "${id}" in this browser's storage`);
    return exportRun(database.storage(), record);
  },

  /** An experiment file with its task files, from a dropped or picked folder, or from a zip (a single .zip file). */
  async importExperiment(files: PathedFile[], from: string): Promise<ImportedExperiment> {
    const zip = files.length === 1 && /\.zip$/i.test(files[0].path) ? files[0] : null;
    if (zip) return importExperiment(unzipFiles(new Uint8Array(await zip.file.arrayBuffer()), zip.file.name), zip.file.name);
    return importExperiment(files, from);
  },

  /**
   * A stored adapter folder of a run (PEFT: adapter_config.json + adapter_model.safetensors), under the method's
   * `adapters/` or, for the merged adapters of merging methods, `merged/`.
   */
  async adapterFiles(id: string, method: string, folder: string, root: AdapterRoot = 'adapters'): Promise<{ name: string; data: Uint8Array }[]> {
    const storage = (await db()).storage(`runs/${id}`);
    const prefix = `${method}/${root}/${folder}`;
    const paths = await storage.list(prefix);
    if (paths.length === 0) throw new Error(`run ${id} has no adapter ${prefix}`);
    const out: { name: string; data: Uint8Array }[] = [];
    for (const p of paths) out.push({ name: p.slice(prefix.length + 1), data: (await storage.read(p))! });
    return out;
  },

  /**
   * A SAPT method's folder as `clora export --sapt` reads it (router_config.json, router.safetensors and
   * adapters/<task>/ of every block trained), from its last commit; null for a method without a router.
   */
  async saptFolderFiles(id: string, method: string): Promise<{ name: string; data: Uint8Array }[] | null> {
    const storage = (await db()).storage(`runs/${id}`);
    const config = await storage.read(`${method}/${SAPT_CONFIG_FILE}`);
    if (config === null) return null;
    const out: { name: string; data: Uint8Array }[] = [];
    for (const p of await storage.list(method)) {
      const name = p.slice(method.length + 1);
      if (name === SAPT_CONFIG_FILE || name === SAPT_ROUTER_FILE || name.startsWith(`${saptAdapterFolder('')}`)) out.push({ name, data: (await storage.read(p))! });
    }
    return out;
  },

  /** The adapter folders a method saved (one per task or stage). */
  async adapterFolders(id: string, method: string, root: AdapterRoot = 'adapters'): Promise<string[]> {
    return listFolders((await db()).storage(`runs/${id}`), `${method}/${root}`);
  },

  async storageUsage(): Promise<StorageUsage> {
    return (await db()).usage();
  },

  async listModels(): Promise<CachedModelInfo[]> {
    return listCachedModels((await db()).storage());
  },

  async deleteModel(id: string): Promise<void> {
    const runsUsing = (await listRunRecords((await db()).storage('runs'))).filter((r) => r.model.kind === 'cached' && r.model.id === id && r.status !== 'done');
    if (runsUsing.length > 0) throw new Error(`unfinished runs use this model (${runsUsing.map((r) => r.title).join(', ')}); delete them first`);
    if (current?.key.startsWith(`cached:${id}#`)) {
      current.session.destroy();
      current = null;
    }
    await deleteCachedModel((await db()).storage(), id);
  },

  /**
   * A method exported to ONNX as of its last finished task (its last checkpoint): its adapter merged into the model (the
   * oracle: the last task's LoRA), or for SAPT its task LoRAs with the selector that routes each prompt in the graph.
   */
  async exportMethodOnnx(id: string, method: string): Promise<{ fileName: string; bytes: Uint8Array }> {
    if (controller?.runningId) throw new Error('a run is training; export once it has finished or is cancelled');
    const reuse = playground && playground.runId === id && playground.answerer.name === method ? playground.trained : null;
    const trained = reuse ?? (await openRunMethod(await host(), id, method));
    try {
      const task = trained.stage;
      const answer = await trained.onnxModel(trained.prompt('', task), task);
      if ('reason' in answer) throw new Error(`${answer.reason}, so it has no single ONNX model to export`);
      const { exportAnswerModel } = await import('../cl/method-export.ts');
      const exported = await exportAnswerModel(trained.model, answer, method);
      return { fileName: `${fileSlug(method)}.onnx`, bytes: exported.bytes };
    } finally {
      if (!reuse) trained.dispose();
    }
  },

  /**
   * Answers `input` with a finished run's method (loaded once, then reused), on the engine or, for a method that exports
   * to ONNX (a fixed adapter, or SAPT), on onnxruntime-web's WebGPU backend when that answered faster
   * (src/cl/playground-backend.ts).
   */
  async answer(id: string, method: string, task: number, input: string): Promise<PlaygroundAnswer> {
    if (controller?.runningId) throw new Error('a run is training; the playground answers once it has finished or is cancelled');
    const record = await readRunRecord((await db()).storage('runs'), id);
    if (!record) throw new Error(`there is no run "${id}"`);
    if (!playground || playground.runId !== id || playground.answerer.name !== method) {
      closePlayground();
      const trained = await openRunMethod(await host(), id, method);
      // Loaded on first use, like the engine: the export code is not needed before the playground asks.
      const { PlaygroundAnswerer } = await import('../cl/playground-backend.ts');
      playground = { runId: id, trained, answerer: new PlaygroundAnswerer(trained, { model: trained.model, ort: workerOrtDecoders }) };
    }
    return playground.answerer.answer(input, task);
  },
};

export type AppApi = typeof appApi;
export type { ImportedExperiment };
export type { RunEvent, RunRecord, RunSettings, ModelChoice, TaskInput, TaskInspection, StorageUsage, CachedModelInfo, PlaygroundAnswer, TrainingShape };

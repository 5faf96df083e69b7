// Continual-learning runs inside the worker: a run's record, tasks and results live in IndexedDB under
// runs/<id>/, the runner commits after every task with a checkpoint, and a run can pause, be cancelled,
// and resume after a reload or a lost GPU device from its last checkpoint.
import type { Experiment, MethodRef } from '../cl/experiment.ts';
import { openTrainedMethod, type PlaygroundAnswer, type TrainedMethod } from '../cl/playground.ts';
import { runExperiment, type RunProgress, type RunResults } from '../cl/runner.ts';
import { readJsonFile, writeJsonFiles, type RunStorage } from '../cl/storage.ts';
import { loadTaskInputs, type TaskInput } from '../data/inspect.ts';
import type { Task } from '../data/task.ts';
import type { Session } from '../engine/session.ts';
import { describeLoss, deviceLoss } from '../gpu/device-loss.ts';
import type { FileSource } from '../io/files.ts';
import type { ProjName } from '../model/peft.ts';
import { RecordGoneError, type AppDatabase } from '../storage/idb-storage.ts';
import { openModel, type ModelChoice } from './model-store.ts';
import { storeTaskInputs, withTaskFileLock, type StoredTask } from './task-files.ts';

/** Everything of an experiment but the model and the task files, which the app supplies itself. */
export type RunSettings = Omit<Experiment, 'model' | 'tasks'>;

export type RunStatus = 'running' | 'paused' | 'interrupted' | 'cancelled' | 'done' | 'failed';

/** A run as the app lists it (runs/<id>/run.json). */
export interface RunRecord {
  id: string;
  title: string;
  created: number;
  updated: number;
  status: RunStatus;
  /** Why the run stopped, for 'failed' and 'interrupted'. */
  error: string | null;
  /** The model as a resumed run reopens it (the bundled URL, or a model kept in the database). */
  model: ModelChoice;
  modelLabel: string;
  tasks: string[];
  /**
   * The task files the run was started with, by content hash (src/worker/task-files.ts), committed with the record;
   * absent in runs stored before task files were kept.
   */
  taskFiles?: StoredTask[];
  settings: RunSettings;
  /** Fraction of the run done when it was last saved. */
  done: number;
}

/** What the worker streams to the UI while a run goes. */
export type RunEvent =
  | { type: 'record'; record: RunRecord }
  | { type: 'status'; message: string; loaded?: number; total?: number | null }
  | { type: 'progress'; progress: RunProgress; elapsedMs: number; etaSeconds: number | null }
  | { type: 'results'; results: RunResults };

const RUN_FILE = 'run.json';
const TASKS_FILE = 'tasks.json';

/** A new run id: sortable by time, unique per tab. */
export function newRunId(now = Date.now()): string {
  return `run-${new Date(now).toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0')}`;
}

export async function readRunRecord(runs: RunStorage, id: string): Promise<RunRecord | null> {
  return readJsonFile<RunRecord>(runs, `${id}/${RUN_FILE}`);
}

/** Every stored run, newest first. */
export async function listRunRecords(runs: RunStorage): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const path of await runs.list('')) {
    const parts = path.split('/');
    if (parts.length === 2 && parts[1] === RUN_FILE) {
      const rec = await readJsonFile<RunRecord>(runs, path);
      if (rec) out.push(rec);
    }
  }
  return out.sort((a, b) => b.created - a.created);
}

/** Opens (or reuses) the engine session for a model source and seed. */
export type SessionProvider = (key: string, source: FileSource, seed: number, onStatus: (message: string) => void) => Promise<Session>;

export interface RunHost {
  db: AppDatabase;
  session: SessionProvider;
  device: string;
}

/** The run a controller is executing: its id ('new' while it is being set up), cancel switch and pause state. */
interface ActiveSlot {
  id: string;
  abort: AbortController;
  paused: boolean;
  wake: (() => void) | null;
}

/**
 * The one run a worker executes at a time: start, pause, resume, cancel. Progress and results go to
 * `emit`; the record on disk follows every state change.
 */
export class RunController {
  private active: ActiveSlot | null = null;

  private readonly root: RunStorage;
  private readonly runs: RunStorage;

  constructor(private readonly host: RunHost) {
    this.root = host.db.storage();
    this.runs = host.db.storage('runs');
  }

  get runningId(): string | null {
    return this.active?.id ?? null;
  }

  /** Reads the tasks, keeps the model and the tasks in the database, then runs every method. */
  async start(spec: { title: string; model: ModelChoice; tasks: TaskInput[]; settings: RunSettings }, emit: (e: RunEvent) => void): Promise<RunRecord> {
    const slot = this.claim('new');
    try {
      const s = spec.settings;
      emit({ type: 'status', message: 'Reading the task files' });
      const tasks = await loadTaskInputs(spec.tasks, {
        seed: s.seed, testFraction: s.testFraction,
        ...(s.maxTrain ? { maxTrain: s.maxTrain } : {}), ...(s.maxTest ? { maxTest: s.maxTest } : {}),
      });
      emit({ type: 'status', message: 'Preparing the model' });
      const verb = spec.model.kind === 'hub' ? 'Downloading the model' : 'Copying the model into browser storage';
      const model = await openModel(this.root, spec.model, (p) => emit({ type: 'status', message: `${verb} (${p.file}, ${p.index + 1} of ${p.files})`, loaded: p.loaded, total: p.total }));
      emit({ type: 'status', message: 'Keeping the task files with the run' });
      const now = Date.now();
      const id = newRunId(now);
      // The record, the parsed tasks and the task files not stored yet go in one commit: no run names a missing file.
      const record = await withTaskFileLock(async () => {
        const kept = await storeTaskInputs(this.root, spec.tasks);
        const rec: RunRecord = {
          id, title: spec.title, created: now, updated: now, status: 'running', error: null,
          model: model.kept, modelLabel: model.label, tasks: tasks.map((t) => t.name), taskFiles: kept.tasks, settings: spec.settings, done: 0,
        };
        await this.root.commit({ ...kept.files, ...jsonFiles({ [`runs/${id}/${RUN_FILE}`]: rec, [`runs/${id}/${TASKS_FILE}`]: tasks }) });
        return rec;
      });
      return await this.execute(record, tasks, model.source, false, emit);
    } finally {
      this.release(slot);
    }
  }

  /** Continues a stored run from its last checkpoint (finished methods are kept). */
  async resume(id: string, emit: (e: RunEvent) => void): Promise<RunRecord> {
    const slot = this.claim(id);
    try {
      const record = await readRunRecord(this.runs, id);
      if (!record) throw new Error(`there is no run "${id}" in this browser's storage`);
      if (record.status === 'done') return record;
      const tasks = await readJsonFile<Task[]>(this.runs, `${id}/${TASKS_FILE}`);
      if (!tasks) throw new Error(`run "${id}" has lost its tasks (${TASKS_FILE}); start it again`);
      const model = await openModel(this.root, record.model);
      return await this.execute(record, tasks, model.source, true, emit);
    } finally {
      this.release(slot);
    }
  }

  /** Pauses or unpauses the running run between two steps; false when nothing runs. */
  async setPaused(paused: boolean): Promise<boolean> {
    const a = this.active;
    if (!a || a.id === 'new') return false;
    a.paused = paused;
    if (!paused) {
      a.wake?.();
      a.wake = null;
    }
    // A record deleted meanwhile is not written back: the run's next commit is refused and stops it with the reason.
    await this.update(a.id, { status: paused ? 'paused' : 'running' }).catch((e: unknown) => {
      if (!(e instanceof RecordGoneError)) throw e;
    });
    return true;
  }

  /** Stops the running run after its current step; what was committed stays. */
  cancel(): boolean {
    if (!this.active) return false;
    this.active.abort.abort();
    this.active.wake?.();
    return true;
  }

  private claim(id: string): ActiveSlot {
    if (this.active) throw new Error('a run is already in progress; pause or cancel it first');
    this.active = { id, abort: new AbortController(), paused: false, wake: null };
    return this.active;
  }

  private release(slot: ActiveSlot): void {
    if (this.active === slot) this.active = null;
  }

  private async update(id: string, change: Partial<RunRecord>): Promise<RunRecord> {
    const rec = await readRunRecord(this.runs, id);
    if (!rec) throw new RecordGoneError(this.runs.label, `runs/${id}/${RUN_FILE}`);
    const next = { ...rec, ...change, updated: Date.now() };
    // Guarded like the run's files: a record deleted between the read and this write is not written back.
    await writeJsonFiles(this.host.db.storage('runs', { requires: recordPath(id) }), { [`${id}/${RUN_FILE}`]: next });
    return next;
  }

  /** Runs `record` while holding its lock, so that two tabs never train the same run and none deletes it meanwhile. */
  private execute(record: RunRecord, tasks: Task[], source: FileSource, resume: boolean, emit: (e: RunEvent) => void): Promise<RunRecord> {
    return withRunLock(record.id, 'resume it here', () => this.executeLocked(record, tasks, source, resume, emit));
  }

  private async executeLocked(record: RunRecord, tasks: Task[], source: FileSource, resume: boolean, emit: (e: RunEvent) => void): Promise<RunRecord> {
    const active = this.active!;
    active.id = record.id;
    const id = record.id;
    emit({ type: 'record', record: await this.update(id, { status: 'running', error: null }) });
    const session = await this.host.session(modelKey(record.model), source, record.settings.seed, (message) => emit({ type: 'status', message }));
    const started = performance.now();
    let lastDone = record.done;
    let startDone: number | null = null;
    try {
      const results = await runExperiment({
        // Every commit checks that the record is still there: a run deleted meanwhile is not recreated.
        session, tasks, experiment: toExperiment(record, tasks), storage: this.host.db.storage(`runs/${id}`, { requires: recordPath(id) }), device: this.host.device, resume,
        signal: active.abort.signal,
        waitWhilePaused: () => active.paused && !active.abort.signal.aborted ? new Promise<void>((res) => { active.wake = res; }) : Promise.resolve(),
        onProgress: (p) => {
          startDone ??= p.done;
          lastDone = p.done;
          const elapsed = performance.now() - started;
          const rate = (p.done - startDone) / Math.max(1, elapsed);
          // The runner prices training steps and evaluations at their own measured rates; the overall rate is the fallback.
          emit({ type: 'progress', progress: p, elapsedMs: elapsed, etaSeconds: p.etaSeconds ?? (rate > 0 ? (1 - p.done) / rate / 1000 : null) });
        },
        onResults: (r) => {
          emit({ type: 'results', results: r });
          void this.update(id, { done: lastDone }).catch(() => {});
        },
      });
      emit({ type: 'results', results });
      const done = await this.update(id, { status: 'done', done: 1 });
      emit({ type: 'record', record: done });
      return done;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Classified by the device's state, not the error's text: a destroyed or crashed device fails a step in many ways.
      const loss = active.abort.signal.aborted ? null : await deviceLoss(session.gpu.device);
      const lost = loss !== null;
      const status: RunStatus = active.abort.signal.aborted ? 'cancelled' : lost ? 'interrupted' : 'failed';
      const why = loss ? `the GPU device was lost (${describeLoss(loss)}); resume the run to continue from its last checkpoint` : message;
      // The record may not be writable either (a full disk): the error that stopped the run is the one to report.
      const rec = await this.update(id, { status, error: status === 'cancelled' ? null : why, done: lastDone }).catch(() => null);
      if (rec) emit({ type: 'record', record: rec });
      if (status === 'cancelled' && rec) return rec;
      if (error instanceof RecordGoneError) {
        throw new Error(`the run “${record.title}” was deleted while it was training (from another tab or window of this browser); training stopped, and none of its files were written back`, { cause: error });
      }
      throw lost ? new Error(why) : error;
    }
  }
}

/** Values as the JSON files writeJsonFiles writes (two-space indent, trailing newline), to commit with other files. */
function jsonFiles(files: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([path, value]) => [path, JSON.stringify(value, null, 2) + '\n']));
}

/** The Web Locks API where the runtime has it (browsers and their workers; not Node). */
function webLocks(): LockManager | null {
  return (globalThis.navigator as Navigator | undefined)?.locks ?? null;
}

const LOCK_PREFIX = 'clora-run-';

export function runLockName(id: string): string {
  return `${LOCK_PREFIX}${id}`;
}

/** The full path of a run's record in the database. */
function recordPath(id: string): string {
  return `runs/${id}/${RUN_FILE}`;
}

/** The error for a change refused because a tab is training the run: what was refused, and where to stop it. */
export class RunHeldError extends Error {
  override readonly name = 'RunHeldError';

  constructor(readonly runId: string, action: string) {
    super(`the run "${runId}" is being trained in another tab or window of this browser, so you cannot ${action}; pause or cancel it in that tab first (or close that tab)`);
  }
}

/**
 * Calls `fn` holding the run's lock, so that no other tab trains, resumes or deletes the run meanwhile; fails at once
 * with a RunHeldError naming `action` when another tab (or this worker) holds it. Without Web Locks (Node), runs `fn`.
 */
export async function withRunLock<T>(id: string, action: string, fn: () => Promise<T>): Promise<T> {
  const locks = webLocks();
  if (!locks) return fn();
  return locks.request(runLockName(id), { ifAvailable: true }, async (lock) => {
    if (!lock) throw new RunHeldError(id, action);
    return fn();
  }) as Promise<T>;
}

/** The runs some tab of this browser (this one included) is training now: their locks are held. */
export async function heldRunIds(): Promise<string[]> {
  const locks = webLocks();
  if (!locks) return [];
  const state = await locks.query();
  return (state.held ?? []).flatMap((l) => (l.name?.startsWith(LOCK_PREFIX) ? [l.name.slice(LOCK_PREFIX.length)] : []));
}

/** True when another tab (or this one) is training the run now. */
export async function runIsHeld(id: string): Promise<boolean> {
  return (await heldRunIds()).includes(id);
}

function modelKey(choice: ModelChoice): string {
  switch (choice.kind) {
    case 'bundled': return `url:${choice.url}`;
    case 'cached': return `cached:${choice.id}`;
    case 'hub': return `hub:${choice.repo}@${choice.revision}`;
    case 'files': return `files:${choice.label}`;
  }
}

/** The experiment the runner gets: the record's settings with the model label and the task names. */
export function toExperiment(record: RunRecord, tasks: Task[]): Experiment {
  return { ...record.settings, model: record.modelLabel, tasks: tasks.map((t) => ({ path: t.source, name: t.name })) };
}

/** A stored run's trained method, with the model it was trained on (the playground exports it with the adapter merged). */
export async function openRunMethod(host: RunHost, id: string, method: string): Promise<TrainedMethod & { model: FileSource }> {
  const runs = host.db.storage('runs');
  const record = await readRunRecord(runs, id);
  if (!record) throw new Error(`there is no run "${id}" in this browser's storage`);
  const tasks = await readJsonFile<Task[]>(runs, `${id}/${TASKS_FILE}`);
  if (!tasks) throw new Error(`run "${id}" has lost its tasks (${TASKS_FILE})`);
  const model = await openModel(host.db.storage(), record.model);
  const session = await host.session(modelKey(record.model), model.source, record.settings.seed, () => {});
  const trained = await openTrainedMethod({ session, storage: host.db.storage(`runs/${id}`), tasks, experiment: toExperiment(record, tasks), name: method });
  return Object.assign(trained, { model: model.source });
}

export type { PlaygroundAnswer, MethodRef, ProjName };

// The UI thread's only door to the engine worker: starts it, wraps it with comlink and turns worker crashes into errors.
import * as Comlink from 'comlink';
import type { EngineWorkerApi } from '../worker/engine.worker.ts';
import type { AppApi } from '../worker/app-api.ts';
import type { DemoEvent, DemoOptions, DemoSummary, GpuReport } from '../worker/protocol.ts';

export type { DemoEvent, DemoOptions, DemoSummary, GpuReport, ModelSummary } from '../worker/protocol.ts';
export type { DataCheckOptions, DataCheckReport, ImportedExperiment, ModelReport, ModelStatus } from '../worker/app-api.ts';
export type {
  RunEvent, RunRecord, RunSettings, ModelChoice, TaskInput, TaskInspection, StorageUsage, CachedModelInfo, PlaygroundAnswer, TrainingShape,
} from '../worker/app-api.ts';

type Promised<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

/** The worker's app API as the UI calls it: every call returns a promise; callbacks are plain functions. */
export type AppClient = { [K in keyof AppApi]: Promised<AppApi[K]> };

export interface EngineClient {
  /** The worker's adapter and device. */
  probe(): Promise<GpuReport>;
  /** One demo run; `onProgress` is called on the UI thread for every event the worker streams. */
  runDemo(opts: DemoOptions, onProgress: (event: DemoEvent) => void): Promise<DemoSummary>;
  /** Asks the running demo to stop after its current step. */
  cancelDemo(): Promise<boolean>;
  /** Task inspection, models, runs, storage and the playground. */
  app: AppClient;
  /** Terminates the worker; pending calls reject. */
  dispose(): void;
}

export function createEngineClient(): EngineClient {
  const worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'clora-engine' });
  const remote = Comlink.wrap<EngineWorkerApi>(worker);

  // Comlink calls never settle when the worker fails to load or dies, so track them and reject them here.
  const pending = new Set<(error: Error) => void>();
  let answered = false;
  let dead: Error | null = null;
  const failAll = (error: Error) => {
    for (const reject of pending) reject(error);
    pending.clear();
  };
  worker.addEventListener('error', (event: ErrorEvent) => {
    event.preventDefault();
    const error = new Error(
      event.message
        ? `engine worker error: ${event.message}${event.filename ? ` (${event.filename}:${event.lineno})` : ''}`
        : 'the engine worker failed to start (see the browser console for details)',
    );
    // Before any answer this means the script did not load: later calls would hang too.
    if (!answered) dead = error;
    failAll(error);
  });
  worker.addEventListener('messageerror', () => failAll(new Error('a message from the engine worker could not be read')));

  function call<T>(start: () => Promise<T>): Promise<T> {
    if (dead) return Promise.reject(dead);
    return new Promise<T>((resolve, reject) => {
      pending.add(reject);
      start().then(
        (value) => {
          answered = true;
          pending.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          answered = true;
          pending.delete(reject);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  return {
    probe: () => call(() => remote.probe()),
    runDemo: (opts, onProgress) => call(() => remote.runDemo(opts, Comlink.proxy(onProgress))),
    cancelDemo: () => call(() => remote.cancelDemo()),
    app: appClient(remote, call),
    dispose() {
      dead = new Error('the engine worker was stopped');
      failAll(dead);
      remote[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}

/** Wraps every app call so it rejects when the worker dies, and passes callbacks through comlink's proxy. */
function appClient(remote: Comlink.Remote<EngineWorkerApi>, call: <T>(start: () => Promise<T>) => Promise<T>): AppClient {
  const r = remote as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const wrap = (name: keyof AppApi) => (...args: unknown[]) =>
    call(() => r[name](...args.map((a) => (typeof a === 'function' ? Comlink.proxy(a as (...x: unknown[]) => unknown) : a))));
  // A record over every key, so a method added to the worker's API cannot be forgotten here.
  const names: Record<keyof AppApi, true> = {
    inspectTask: true, checkTaskData: true, previewPrompts: true, methods: true, describeModel: true, startRun: true, resumeRun: true, pauseRun: true, cancelRun: true, activeRun: true, runIsHeld: true, heldRuns: true,
    listRuns: true, readResults: true, deleteRun: true, adapterFiles: true, adapterFolders: true, saptFolderFiles: true, storageUsage: true, listModels: true,
    deleteModel: true, answer: true, exportMethodOnnx: true, runTaskInputs: true, exportExperiment: true, importExperiment: true,
  };
  return Object.fromEntries(Object.keys(names).map((n) => [n, wrap(n as keyof AppApi)])) as unknown as AppClient;
}

// The UI thread's only door to the engine worker: starts it, wraps it with comlink and turns worker crashes into errors.
import * as Comlink from 'comlink';
import type { EngineWorkerApi } from '../worker/engine.worker.ts';
import type { DemoEvent, DemoOptions, DemoSummary, GpuReport } from '../worker/protocol.ts';

export type { DemoEvent, DemoOptions, DemoSummary, GpuReport, ModelSummary } from '../worker/protocol.ts';

export interface EngineClient {
  /** The worker's adapter and device. */
  probe(): Promise<GpuReport>;
  /** One demo run; `onProgress` is called on the UI thread for every event the worker streams. */
  runDemo(opts: DemoOptions, onProgress: (event: DemoEvent) => void): Promise<DemoSummary>;
  /** Asks the running demo to stop after its current step. */
  cancelDemo(): Promise<boolean>;
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
    dispose() {
      dead = new Error('the engine worker was stopped');
      failAll(dead);
      remote[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}

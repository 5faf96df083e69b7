// The Web Worker that owns WebGPU and the engine in the browser, exposed to the UI thread through comlink.
import * as Comlink from 'comlink';
import { appApi } from './app-api.ts';
import { runDemo } from './demo.ts';
import { describeGpu, getGpu } from './gpu.ts';
import type { DemoEvent, DemoOptions, DemoSummary, GpuReport } from './protocol.ts';

let running: AbortController | null = null;

/** A UI callback passed through comlink, made safe to call (a UI that went away must not fail the work) and released after. */
function guarded<A extends unknown[]>(callback: (...args: A) => void): { call: (...args: A) => void; release: () => void } {
  return {
    call: (...args) => {
      Promise.resolve(callback(...args) as unknown).catch(() => {});
    },
    release: () => {
      const release = (callback as Partial<Comlink.Remote<unknown>>)[Comlink.releaseProxy];
      if (typeof release === 'function') release.call(callback);
    },
  };
}

/** Calls `work` with a guarded callback and releases the callback's proxy when it settles. */
async function withCallback<A extends unknown[], T>(callback: (...args: A) => void, work: (emit: (...args: A) => void) => Promise<T>): Promise<T> {
  const g = guarded(callback);
  try {
    return await work(g.call);
  } finally {
    g.release();
  }
}

const api = {
  ...appApi,
  describeModel: (choice: Parameters<typeof appApi.describeModel>[0], shape: Parameters<typeof appApi.describeModel>[1], seed: number, onStatus: Parameters<typeof appApi.describeModel>[3]) =>
    withCallback(onStatus, (emit) => appApi.describeModel(choice, shape, seed, emit)),
  startRun: (spec: Parameters<typeof appApi.startRun>[0], onEvent: Parameters<typeof appApi.startRun>[1]) =>
    withCallback(onEvent, (emit) => appApi.startRun(spec, emit)),
  resumeRun: (id: string, onEvent: Parameters<typeof appApi.resumeRun>[1]) =>
    withCallback(onEvent, (emit) => appApi.resumeRun(id, emit)),

  /** Requests the adapter and device (once; again after a device loss) and describes them. */
  async probe(): Promise<GpuReport> {
    return describeGpu(await getGpu());
  },

  /**
   * Loads the model, runs one forward pass and `opts.steps` LoRA training steps, calling `onProgress`
   * (pass it wrapped in `Comlink.proxy`) as it goes. One run at a time; rejects with the engine's error.
   */
  async runDemo(opts: DemoOptions, onProgress: (event: DemoEvent) => void): Promise<DemoSummary> {
    if (running) throw new Error('a demo run is already in progress');
    const controller = new AbortController();
    running = controller;
    const emit = (event: DemoEvent) => {
      // Over comlink the callback returns a promise; a UI that went away must not fail the run.
      Promise.resolve(onProgress(event) as unknown).catch(() => {});
    };
    try {
      const { device } = await getGpu();
      return await runDemo(device, opts, emit, controller.signal);
    } finally {
      running = null;
      const release = (onProgress as Partial<Comlink.Remote<unknown>>)[Comlink.releaseProxy];
      if (typeof release === 'function') release.call(onProgress);
    }
  },

  /** Asks the current demo run to stop after its current step; true when a run was in progress. */
  cancelDemo(): boolean {
    if (!running) return false;
    running.abort();
    return true;
  },
};

export type EngineWorkerApi = typeof api;

Comlink.expose(api);

// The Web Worker that owns WebGPU and the engine in the browser, exposed to the UI thread through comlink.
import * as Comlink from 'comlink';
import { runDemo } from './demo.ts';
import { describeGpu, getGpu } from './gpu.ts';
import type { DemoEvent, DemoOptions, DemoSummary, GpuReport } from './protocol.ts';

let running: AbortController | null = null;

const api = {
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

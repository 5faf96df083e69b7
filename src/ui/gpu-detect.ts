// WebGPU detection on the UI thread: only checks that an adapter can be had; all GPU work happens in the worker.

export type WebGpuStatus =
  | { ok: true }
  | { ok: false; reason: 'insecure-context' | 'no-api' | 'no-adapter' | 'error'; detail: string };

export async function detectWebGpu(): Promise<WebGpuStatus> {
  if (!globalThis.isSecureContext) {
    return {
      ok: false,
      reason: 'insecure-context',
      detail: `This page is not a secure context (${location.protocol}//${location.host}); browsers expose WebGPU only over https or on localhost.`,
    };
  }
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    return { ok: false, reason: 'no-api', detail: 'navigator.gpu is undefined: this browser does not expose WebGPU, or it is turned off.' };
  }
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      return {
        ok: false,
        reason: 'no-adapter',
        detail: 'navigator.gpu.requestAdapter() returned null: WebGPU is present but no GPU adapter is available to it.',
      };
    }
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: 'error', detail: `navigator.gpu.requestAdapter() threw: ${error instanceof Error ? error.message : String(error)}` };
  }
}

// The bench's page in headless Chromium: the forward comparison (../forward-comparison.ts) with the engine and
// onnxruntime-web's WebGPU backend (its wasm backend when WebGPU cannot run) on the page's device, called by ./run.ts.
import { Gpu, requestDevice, summarizeInfo } from '../../src/gpu/context.ts';
import { exportOnnx } from '../../src/export/export-model.ts';
import { urlSource } from '../../src/io/files.ts';
import { wasmDecoderFactory, webGpuDecoderFactory, type OrtModule } from '../../src/ort/ort-decoder.ts';
import { compareForward, pickOrtBackend, type ComparisonReport } from '../forward-comparison.ts';
import { benchModels, benchModelSource, type BenchModelOptions } from '../models.ts';

/** Where run.ts serves onnxruntime-web's dist folder (the build loads its wasm next to itself). */
const ORT_URL = '/ort/ort.webgpu.min.mjs';

export interface PageComparison extends ComparisonReport {
  adapter: { vendor: string; architecture: string; description: string; isSoftware: boolean };
  startupMs: number;
  userAgent: string;
}

async function runComparison(opts: Omit<BenchModelOptions, 'software'>): Promise<PageComparison> {
  const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('the page got no WebGPU adapter (is Chromium started with --enable-unsafe-webgpu?)');
  const device = await requestDevice(adapter);
  const gpu = new Gpu(device, summarizeInfo(adapter.info, device.features));
  // A variable keeps the bundler from resolving it: the page imports onnxruntime-web from the served folder.
  const url: string = ORT_URL;
  const ort = (await import(/* @vite-ignore */ url)) as OrtModule;
  ort.env.logLevel = 'error';
  const bundled = (name: string) => urlSource(new URL(`/models/${name}/`, location.href).href);
  const probe = (await exportOnnx(bundled('tiny-random'))).bytes;
  const picked = await pickOrtBackend(async () => webGpuDecoderFactory(ort, device, 'onnxruntime-web WebGPU (same device)'), async () => wasmDecoderFactory(ort), probe);
  const models = benchModels({ ...opts, software: gpu.adapter.isSoftware });
  console.log(`onnxruntime-web: ${picked.factory.backend}${picked.fallback ? ` (${picked.fallback})` : ''}, started in ${(picked.startupMs / 1000).toFixed(1)} s`);
  const rows = await compareForward(gpu, picked.factory, models, (m) => benchModelSource(m, bundled), {
    onStart: (m) => console.log(`comparing ${m.label} at ${m.batch} x ${m.seq}`),
  });
  device.destroy();
  const { vendor, architecture, description, isSoftware } = gpu.adapter;
  return {
    adapter: { vendor, architecture, description, isSoftware }, startupMs: picked.startupMs, userAgent: navigator.userAgent,
    ortBackend: picked.factory.backend, fallback: picked.fallback, rows,
  };
}

(globalThis as unknown as { runComparison: typeof runComparison }).runComparison = runComparison;

// onnxruntime-web's WebGPU build in the engine worker, on the worker's own device, loaded on first use for the playground.
import { webGpuDecoderFactory, type OrtDecoderFactory, type OrtModule } from '../ort/ort-decoder.ts';
import { getGpu } from './gpu.ts';

let loading: Promise<OrtModule> | null = null;

/** Decoders on onnxruntime-web's WebGPU execution provider; rejects when the build cannot be loaded. */
export async function workerOrtDecoders(): Promise<OrtDecoderFactory> {
  if (!loading) {
    // The bundler emits the wasm binary the build refers to (new URL(..., import.meta.url)) as an asset.
    loading = import('onnxruntime-web/webgpu').then((m) => m as OrtModule);
    loading.catch(() => {
      loading = null;
    });
  }
  const ort = await loading;
  ort.env.logLevel = 'error';
  const { device } = await getGpu();
  return webGpuDecoderFactory(ort, device);
}

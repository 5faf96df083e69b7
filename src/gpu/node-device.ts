// Acquires a WebGPU device in Node through Dawn (the `webgpu` package): the machine's GPU when there
// is one, otherwise SwiftShader from Debian's chromium, saying so on stderr.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu, requestDevice, summarizeAdapter } from './context.ts';

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

// Dawn's instance must stay referenced while the device is in use.
let instance: GPU | null = null;

export interface NodeGpuOptions {
  /** Print which adapter is used (and any fallback) to stderr. Default true. */
  verbose?: boolean;
  powerPreference?: GPUPowerPreference;
}

export async function createNodeGpu(opts: NodeGpuOptions = {}): Promise<Gpu> {
  const verbose = opts.verbose ?? true;
  // The Vulkan loader complains on stderr at every instance when this is unset.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'clora-xdg-'));
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);

  const tryAdapter = async (): Promise<GPUAdapter | null> => {
    instance = webgpu.create([]);
    return instance.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  };

  let adapter = await tryAdapter();
  let fellBack = false;
  const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  if (!adapter && icd && !process.env.VK_ICD_FILENAMES) {
    // The Vulkan loader reads this when Dawn creates its next instance.
    process.env.VK_ICD_FILENAMES = icd;
    adapter = await tryAdapter();
    fellBack = true;
  }
  if (!adapter) {
    throw new Error(
      'No WebGPU adapter found: no usable Vulkan GPU driver, and no SwiftShader fallback. ' +
        'On Debian install it with: apt-get install chromium libvulkan1',
    );
  }
  const summary = summarizeAdapter(adapter);
  if (verbose) {
    const name = [summary.vendor, summary.architecture, summary.description].filter(Boolean).join(' / ');
    if (fellBack) process.stderr.write(`clora: no GPU adapter found; falling back to SwiftShader (CPU): ${name}\n`);
    else process.stderr.write(`clora: WebGPU adapter: ${name}${summary.isSoftware ? ' (software)' : ''}\n`);
  }
  const device = await requestDevice(adapter);
  return new Gpu(device, summary);
}

/** The Dawn instance (Node's `navigator.gpu` equivalent) the last createNodeGpu used. */
export function nodeGpuInstance(): GPU {
  if (!instance) throw new Error('no Dawn instance: call createNodeGpu first');
  return instance;
}

/** Lets Node exit: drops the Dawn instance (call after destroying the device). */
export function releaseNodeGpu(gpu: Gpu): void {
  gpu.device.destroy();
  instance = null;
}

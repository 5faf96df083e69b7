// Acquires a WebGPU device in Node through Dawn (the `webgpu` package): the machine's GPU when there is
// one, otherwise a Vulkan driver on the CPU: lavapipe when scripts/lavapipe.sh has provided it (several
// times faster than SwiftShader, and it has shader-f16), else SwiftShader from Debian's chromium, saying
// so on stderr. CLORA_ADAPTER names the ones to try, in order (e.g. "gpu,swiftshader"; default "auto", all three).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpu, requestDevice, summarizeAdapter } from './context.ts';
import { setHostMemoryBytes } from './device-memory.ts';

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

/** Where an adapter can come from: the machine's own Vulkan drivers ('gpu'), or one of the two CPU drivers. */
export type AdapterSource = 'gpu' | 'lavapipe' | 'swiftshader';
export const ADAPTER_SOURCES: readonly AdapterSource[] = ['gpu', 'lavapipe', 'swiftshader'];

// Dawn's instance must stay referenced while the device is in use.
let instance: GPU | null = null;

export interface NodeGpuOptions {
  /** Print which adapter is used (and any fallback) to stderr. Default true. */
  verbose?: boolean;
  powerPreference?: GPUPowerPreference;
  /** The sources to try, in order. Default: the CLORA_ADAPTER environment variable, else all three. */
  adapter?: readonly AdapterSource[];
  /** Lowers Gpu.bindingLimit to this many bytes (default: the CLORA_BINDING_LIMIT environment variable, else none). */
  bindingLimit?: number | null;
}

/**
 * CLORA_BINDING_LIMIT: a byte count ("4096", or with a unit: "4KiB", "96MiB") below the device's binding limit, at
 * which the embedding, the LM head and the logits are sliced (Gpu.bindingLimit); unset or empty: none.
 */
export function bindingLimitFromEnv(spec = process.env.CLORA_BINDING_LIMIT): number | null {
  if (spec === undefined || spec.trim() === '') return null;
  const m = /^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$/.exec(spec);
  const unit = { B: 1, KiB: 1024, MiB: 2 ** 20, GiB: 2 ** 30 }[(m?.[2] ?? 'B') as 'B'];
  const bytes = m ? Number(m[1]) * unit : NaN;
  if (!(Number.isSafeInteger(bytes) && bytes >= 1024)) {
    throw new Error(`CLORA_BINDING_LIMIT=${spec}: expected a byte count of at least 1024, e.g. 4096, 4KiB or 96MiB`);
  }
  return bytes;
}

/**
 * lavapipe's ICD file: CLORA_LAVAPIPE_ICD, else the one scripts/lavapipe.sh wrote to the project's .cache (seen from
 * src/gpu or from dist), else the system's own (Dawn takes it from Mesa 24 on).
 */
export function lavapipeIcd(): string | null {
  const env = process.env.CLORA_LAVAPIPE_ICD;
  if (env) return existsSync(env) ? env : null;
  const candidates = ['../../', '../'].map((up) => fileURLToPath(new URL(`${up}.cache/lavapipe/lvp_icd.json`, import.meta.url)));
  candidates.push('/usr/share/vulkan/icd.d/lvp_icd.x86_64.json', '/usr/share/vulkan/icd.d/lvp_icd.aarch64.json');
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** The sources CLORA_ADAPTER names ("auto" or unset: gpu, lavapipe, swiftshader), checked. */
export function adapterSources(spec = process.env.CLORA_ADAPTER): AdapterSource[] {
  if (!spec || spec === 'auto') return [...ADAPTER_SOURCES];
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(ADAPTER_SOURCES as readonly string[]).includes(n));
  if (bad.length > 0 || names.length === 0) {
    throw new Error(`CLORA_ADAPTER=${spec}: expected "auto" or a comma-separated list of ${ADAPTER_SOURCES.join(', ')}`);
  }
  return names as AdapterSource[];
}

export async function createNodeGpu(opts: NodeGpuOptions = {}): Promise<Gpu> {
  const verbose = opts.verbose ?? true;
  const sources = opts.adapter ? [...opts.adapter] : adapterSources();
  // The Vulkan loader complains on stderr at every instance when this is unset.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'clora-xdg-'));
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);

  // The Vulkan loader reads VK_ICD_FILENAMES when Dawn creates an instance, so each try makes a new one.
  const tryAdapter = async (icd?: string): Promise<GPUAdapter | null> => {
    if (icd) process.env.VK_ICD_FILENAMES = icd;
    try {
      instance = webgpu.create([]);
      return await instance.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
    } catch (e) {
      // Without the Vulkan loader Dawn's own error names no package; say which one to install.
      if (vulkanLoaderMissing()) throw new Error(NO_VULKAN_LOADER, { cause: e });
      throw e;
    }
  };
  // A driver the caller named in VK_ICD_FILENAMES is used as it is.
  const pinned = process.env.VK_ICD_FILENAMES;
  const icds: Record<AdapterSource, string | null> = {
    gpu: null,
    lavapipe: lavapipeIcd(),
    swiftshader: SWIFTSHADER_ICDS.find((p) => existsSync(p)) ?? null,
  };

  let adapter: GPUAdapter | null = null;
  let source: AdapterSource | null = null;
  if (pinned) {
    adapter = await tryAdapter();
  } else {
    for (const s of sources) {
      if (s !== 'gpu' && !icds[s]) continue;
      adapter = await tryAdapter(icds[s] ?? undefined);
      if (adapter) {
        source = s;
        break;
      }
    }
  }
  if (!adapter) throw new Error(noAdapterMessage(sources, pinned, icds));

  const summary = summarizeAdapter(adapter);
  if (verbose) {
    const name = [summary.vendor, summary.architecture, summary.description].filter(Boolean).join(' / ');
    if (source === 'lavapipe' || source === 'swiftshader') {
      const how = sources[0] === 'gpu' ? 'no GPU adapter found; falling back to' : 'using';
      process.stderr.write(`clora: ${how} ${source === 'lavapipe' ? 'lavapipe' : 'SwiftShader'} (CPU): ${name}\n`);
    } else {
      process.stderr.write(`clora: WebGPU adapter: ${name}${summary.isSoftware ? ' (software)' : ''}\n`);
    }
  }
  const limit = opts.bindingLimit === undefined ? bindingLimitFromEnv() : opts.bindingLimit;
  const device = await requestDevice(adapter);
  // A software adapter's buffers live in this machine's memory: the automatic memory budget reads its size.
  setHostMemoryBytes(totalmem());
  const gpu = new Gpu(device, summary);
  gpu.bindingLimit = limit;
  return gpu;
}

/** Folders the dynamic linker searches for the Vulkan loader on Linux (Debian's multiarch ones, then the classic ones). */
const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib64', '/lib', '/usr/local/lib'];

/**
 * Whether the Vulkan loader (libvulkan.so.1, Debian's libvulkan1) is missing on Linux: Dawn's Vulkan backend loads it
 * at run time, and without it every adapter source fails the same way. Looks in LD_LIBRARY_PATH and the usual
 * library folders; false on other systems, which load drivers differently.
 */
export function vulkanLoaderMissing(platform: string = process.platform, ldLibraryPath = process.env.LD_LIBRARY_PATH ?? '',
  exists: (path: string) => boolean = existsSync): boolean {
  if (platform !== 'linux') return false;
  const dirs = [...ldLibraryPath.split(':').filter(Boolean), ...LIB_DIRS];
  return !dirs.some((d) => exists(join(d, 'libvulkan.so.1')));
}

/** The one-line error when the Vulkan loader is missing. */
export const NO_VULKAN_LOADER = 'No WebGPU adapter: the Vulkan loader libvulkan.so.1 is missing. Install libvulkan1 (Debian/Ubuntu: apt-get install libvulkan1), then run again';

function noAdapterMessage(sources: AdapterSource[], pinned: string | undefined, icds: Record<AdapterSource, string | null>): string {
  if (vulkanLoaderMissing()) return NO_VULKAN_LOADER;
  if (pinned) return `No WebGPU adapter from the Vulkan driver in VK_ICD_FILENAMES (${pinned})`;
  const tried = sources.map((s) => {
    if (s === 'gpu') return 'no usable Vulkan GPU driver';
    if (s === 'lavapipe') return icds.lavapipe ? `Dawn refused lavapipe (${icds.lavapipe})` : 'lavapipe is not set up (bash scripts/lavapipe.sh)';
    return icds.swiftshader ? `Dawn refused SwiftShader (${icds.swiftshader})` : 'no SwiftShader (Debian: apt-get install chromium libvulkan1)';
  });
  return `No WebGPU adapter found (CLORA_ADAPTER=${sources.join(',')}): ${tried.join('; ')}`;
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

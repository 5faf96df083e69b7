// The files of a trained SAPT model, which `clora run` writes and `clora export --sapt` reads: router_config.json
// (pooling, block order), router.safetensors (shared query projector, norm, one key per block) and one PEFT adapter
// per block under adapters/<name>/.
import { FormatError } from '../io/errors.ts';
import { namingFolder, readJson, type FileSource } from '../io/files.ts';
import type { ModelConfig } from './config.ts';
import { readPeftAdapter, type LoraConfig, type PeftAdapter } from './peft.ts';
import { parseSafetensors, toFloat32 } from './safetensors.ts';
import type { HostTensor } from './weights.ts';

/** How SAPT's query pools the prompt's token embeddings over the sequence. */
export const ROUTER_POOLS = ['max', 'mean'] as const;
export type RouterPool = (typeof ROUTER_POOLS)[number];

/** The router's tensors, as the engine's banks and router.safetensors name them. */
export const ROUTER_KEYS = {
  down: 'router.down.weight',
  up: 'router.up.weight',
  normWeight: 'router.norm.weight',
  normBias: 'router.norm.bias',
  keys: 'router.keys',
} as const;

/** torch.nn.LayerNorm's default, the query norm's epsilon. */
export const ROUTER_NORM_EPS = 1e-5;

export const SAPT_CONFIG_FILE = 'router_config.json';
export const SAPT_ROUTER_FILE = 'router.safetensors';
/** The folder holding block j's PEFT adapter, for the block named `name`. */
export const saptAdapterFolder = (name: string): string => `adapters/${name}`;

/** router_config.json. */
export interface SaptConfig {
  pool: RouterPool;
  /** Width of the query projector's bottleneck (router.down.weight is [bottleneck, hidden]). */
  bottleneck: number;
  normEps: number;
  /** The blocks in order (block j is the j-th task trained); each one's adapter is in adapters/<name>/. */
  blocks: string[];
}

export function saptConfigJson(cfg: SaptConfig): string {
  return `${JSON.stringify({ method: 'sapt', pool: cfg.pool, bottleneck: cfg.bottleneck, norm_eps: cfg.normEps, blocks: cfg.blocks }, null, 2)}\n`;
}

const CONFIG_HELP = `expected {"method": "sapt", "pool": "mean" | "max", "bottleneck": N, "norm_eps": 1e-5, "blocks": ["<adapters/ folder of block 1>", ...]}`;

export function parseSaptConfig(json: unknown, file = SAPT_CONFIG_FILE): SaptConfig {
  const bad = (problem: string) => new FormatError(file, problem, { detail: CONFIG_HELP });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not a JSON object');
  const o = json as Record<string, unknown>;
  if (o.method !== 'sapt') throw bad(`"method" is ${JSON.stringify(o.method)}, expected "sapt"`);
  if (!(ROUTER_POOLS as readonly unknown[]).includes(o.pool)) throw bad(`"pool" is ${JSON.stringify(o.pool)}, expected "mean" or "max"`);
  if (!Number.isSafeInteger(o.bottleneck) || (o.bottleneck as number) < 1) throw bad(`"bottleneck" is ${JSON.stringify(o.bottleneck)}, expected a positive integer`);
  const eps = o.norm_eps ?? ROUTER_NORM_EPS;
  if (typeof eps !== 'number' || !(eps > 0)) throw bad(`"norm_eps" is ${JSON.stringify(eps)}, expected a positive number`);
  const blocks = o.blocks;
  if (!Array.isArray(blocks) || blocks.length === 0) throw bad('"blocks" must be a non-empty list of adapter folder names');
  for (const name of blocks) {
    if (typeof name !== 'string' || name === '' || name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
      throw bad(`block ${JSON.stringify(name)} is not a folder name under adapters/`);
    }
  }
  if (new Set(blocks).size !== blocks.length) throw bad('"blocks" names a folder twice');
  return { pool: o.pool as RouterPool, bottleneck: o.bottleneck as number, normEps: eps, blocks: blocks as string[] };
}

/** A FileSource over the folder `prefix` of `src`. */
function subfolder(src: FileSource, prefix: string): FileSource {
  const path = (name: string) => `${prefix}/${name}`;
  return {
    label: `${src.label.replace(/\/+$/, '')}/${prefix}`,
    has: (name) => src.has(path(name)),
    read: (name, onProgress) => src.read(path(name), onProgress),
    readText: (name) => src.readText(path(name)),
    open: (name) => src.open(path(name)),
  };
}

export interface SaptModel {
  config: SaptConfig;
  /** The router's tensors under ROUTER_KEYS' names, with the shapes the engine uses (norm [1, H], keys [J, H]). */
  router: Map<string, HostTensor>;
  /** Block j's adapter; every block has the same LoRA layout. */
  adapters: PeftAdapter[];
  lora: LoraConfig;
}

function sameLayout(a: LoraConfig, b: LoraConfig): boolean {
  const layers = (l: LoraConfig) => (l.layers == null ? 'all' : [...l.layers].sort((x, y) => x - y).join());
  return a.rank === b.rank && a.alpha === b.alpha && a.useRslora === b.useRslora && a.targets.join() === b.targets.join() && layers(a) === layers(b);
}

/** Reads and checks a SAPT model folder against the base model's config; errors name the file. */
export async function readSaptModel(src: FileSource, modelCfg: ModelConfig): Promise<SaptModel> {
  if (!(await src.has(SAPT_CONFIG_FILE))) {
    throw new FormatError(`${src.label.replace(/\/+$/, '')}/${SAPT_CONFIG_FILE}`, 'not found: a SAPT model folder holds router_config.json, router.safetensors and adapters/<block>/', { detail: CONFIG_HELP });
  }
  const config = parseSaptConfig(await readJson(src, SAPT_CONFIG_FILE));
  const H = modelCfg.hiddenSize;
  const J = config.blocks.length;
  const k = config.bottleneck;
  const expected: Record<string, number[]> = {
    [ROUTER_KEYS.down]: [k, H], [ROUTER_KEYS.up]: [H, k], [ROUTER_KEYS.normWeight]: [1, H], [ROUTER_KEYS.normBias]: [1, H], [ROUTER_KEYS.keys]: [J, H],
  };
  const parsed = parseSafetensors(await src.read(SAPT_ROUTER_FILE), SAPT_ROUTER_FILE);
  const router = new Map<string, HostTensor>();
  for (const [name, shape] of Object.entries(expected)) {
    const entry = parsed.tensors.get(name);
    if (!entry) throw new FormatError(SAPT_ROUTER_FILE, `missing tensor ${name}`);
    // The norm's vectors may come as [H] or [1, H]; everything else must match.
    const fits = entry.shape.join() === shape.join() || (shape[0] === 1 && entry.shape.join() === String(H));
    if (!fits) {
      const why = name === ROUTER_KEYS.keys ? ` (one key per block: ${SAPT_CONFIG_FILE} lists ${J} blocks)`
        : name === ROUTER_KEYS.down || name === ROUTER_KEYS.up ? ` (${SAPT_CONFIG_FILE} gives "bottleneck" ${k})` : '';
      throw new FormatError(SAPT_ROUTER_FILE, `${name} has shape [${entry.shape.join(',')}], expected [${shape.join(',')}]${why}`);
    }
    router.set(name, { shape, data: toFloat32(entry) });
  }
  const adapters: PeftAdapter[] = [];
  for (const name of config.blocks) {
    const folder = subfolder(src, saptAdapterFolder(name));
    adapters.push(await namingFolder(folder, () => readPeftAdapter(folder, modelCfg)));
  }
  const lora = adapters[0].config;
  adapters.forEach((a, j) => {
    if (!sameLayout(a.config, lora)) {
      throw new FormatError(`${src.label.replace(/\/+$/, '')}/${saptAdapterFolder(config.blocks[j])}/adapter_config.json`,
        `block ${j + 1} has a different LoRA layout from block 1 (rank, alpha, rsLoRA, target_modules and layers must match)`);
    }
  });
  return { config, router, adapters, lora };
}

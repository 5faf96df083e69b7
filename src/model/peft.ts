// Reads and writes LoRA adapters in the Hugging Face PEFT layout, and creates PEFT's default initial LoRA weights.
import { FormatError, MissingFileError } from '../io/errors.ts';
import { readJson, type FileSource } from '../io/files.ts';
import type { ModelConfig } from './config.ts';
import type { Rng } from './rng.ts';
import { parseSafetensors, toFloat32, writeSafetensors } from './safetensors.ts';
import type { HostTensor } from './weights.ts';

export type ProjName = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';

/** Canonical order, used for iteration, RNG consumption and written files. */
export const PROJ_NAMES: readonly ProjName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

export interface LoraConfig {
  rank: number;
  alpha: number;
  dropout: number;
  targets: ProjName[];
  useRslora: boolean;
  /** Layer indices that carry adapters (PEFT's `layers_to_transform`); null or absent means every layer. */
  layers?: number[] | null;
}

/** The model an adapter was trained on, as PEFT records it: a Hub id or a folder, and the Hub revision (a commit) when known. */
export interface BaseModelRef {
  name: string;
  revision: string | null;
}

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export function loraScale(cfg: Pick<LoraConfig, 'rank' | 'alpha' | 'useRslora'>): number {
  return cfg.useRslora ? cfg.alpha / Math.sqrt(cfg.rank) : cfg.alpha / cfg.rank;
}

function group(proj: ProjName): 'self_attn' | 'mlp' {
  return proj === 'gate_proj' || proj === 'up_proj' || proj === 'down_proj' ? 'mlp' : 'self_attn';
}

/** The module's name inside the base model, e.g. `model.layers.3.mlp.up_proj`. */
export function modulePath(layer: number, proj: ProjName): string {
  return `model.layers.${layer}.${group(proj)}.${proj}`;
}

/** The tensor name PEFT saves, e.g. `base_model.model.model.layers.3.mlp.up_proj.lora_A.weight`. */
export function peftKey(layer: number, proj: ProjName, which: 'A' | 'B'): string {
  return `base_model.model.${modulePath(layer, proj)}.lora_${which}.weight`;
}

/** Input and output width of a projection; its weight is [out, in]. */
export function projShape(cfg: ModelConfig, proj: ProjName): { in: number; out: number } {
  const H = cfg.hiddenSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  switch (proj) {
    case 'q_proj': return { in: H, out: q };
    case 'k_proj':
    case 'v_proj': return { in: H, out: kv };
    case 'o_proj': return { in: q, out: H };
    case 'gate_proj':
    case 'up_proj': return { in: H, out: cfg.intermediateSize };
    case 'down_proj': return { in: cfg.intermediateSize, out: H };
  }
}

/** The layers that carry adapters, ascending. */
export function adapterLayers(lora: LoraConfig, modelCfg: ModelConfig): number[] {
  if (lora.layers == null) return Array.from({ length: modelCfg.numLayers }, (_, i) => i);
  return [...new Set(lora.layers)].sort((a, b) => a - b);
}

/** Throws on a LoraConfig that cannot describe an adapter for this model. */
export function validateLoraConfig(lora: LoraConfig, modelCfg: ModelConfig): void {
  if (!Number.isSafeInteger(lora.rank) || lora.rank <= 0) throw new Error(`LoRA rank must be a positive integer, got ${lora.rank}`);
  if (!Number.isFinite(lora.alpha) || lora.alpha <= 0) throw new Error(`LoRA alpha must be a positive number, got ${lora.alpha}`);
  if (!(lora.dropout >= 0 && lora.dropout < 1)) throw new Error(`LoRA dropout must be in [0, 1), got ${lora.dropout}`);
  if (lora.targets.length === 0) throw new Error('LoRA needs at least one target projection');
  for (const t of lora.targets) {
    if (!PROJ_NAMES.includes(t)) throw new Error(`unknown LoRA target ${JSON.stringify(t)} (supported: ${PROJ_NAMES.join(', ')})`);
  }
  if (lora.layers != null && lora.layers.length === 0) throw new Error('LoRA layers must be null (every layer) or a non-empty list');
  for (const l of lora.layers ?? []) {
    if (!Number.isSafeInteger(l) || l < 0 || l >= modelCfg.numLayers) {
      throw new Error(`LoRA layer ${l} is out of range (the model has ${modelCfg.numLayers} layers)`);
    }
  }
}

function orderedTargets(lora: LoraConfig): ProjName[] {
  return PROJ_NAMES.filter((p) => lora.targets.includes(p));
}

/** Every adapter tensor with its shape (A: [r, in], B: [out, r]), in layer, projection, A-then-B order. */
export function loraTensorShapes(lora: LoraConfig, modelCfg: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const layer of adapterLayers(lora, modelCfg)) {
    for (const proj of orderedTargets(lora)) {
      const s = projShape(modelCfg, proj);
      m.set(peftKey(layer, proj, 'A'), [lora.rank, s.in]);
      m.set(peftKey(layer, proj, 'B'), [s.out, lora.rank]);
    }
  }
  return m;
}

/**
 * PEFT's default init: A from kaiming_uniform_(a=sqrt(5)), whose bound sqrt(6 / ((1 + a^2) fan_in)) is
 * 1/sqrt(in), and B zero so the adapted model starts equal to the base. `layers` null means the config's layers.
 */
export function initLoraTensors(
  lora: LoraConfig,
  modelCfg: ModelConfig,
  layers: readonly number[] | null,
  rng: Rng,
): Map<string, HostTensor> {
  validateLoraConfig(lora, modelCfg);
  const useLayers = layers === null ? adapterLayers(lora, modelCfg) : [...layers];
  const out = new Map<string, HostTensor>();
  for (const layer of useLayers) {
    if (!Number.isSafeInteger(layer) || layer < 0 || layer >= modelCfg.numLayers) {
      throw new Error(`LoRA layer ${layer} is out of range (the model has ${modelCfg.numLayers} layers)`);
    }
    for (const proj of orderedTargets(lora)) {
      const s = projShape(modelCfg, proj);
      const bound = 1 / Math.sqrt(s.in);
      const a = new Float32Array(lora.rank * s.in);
      for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
      out.set(peftKey(layer, proj, 'A'), { shape: [lora.rank, s.in], data: a });
      out.set(peftKey(layer, proj, 'B'), { shape: [s.out, lora.rank], data: new Float32Array(s.out * lora.rank) });
    }
  }
  return out;
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => x !== null && typeof x === 'object' && !Array.isArray(x);
const isEmpty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);

/** Module names of the base model that are not projections; a target that hits one cannot be loaded here. */
function otherModules(modelCfg: ModelConfig): string[] {
  const names = ['model', 'model.embed_tokens', 'model.layers', 'model.norm', 'model.rotary_emb', 'lm_head'];
  for (let i = 0; i < modelCfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    names.push(p, `${p}.self_attn`, `${p}.mlp`, `${p}.mlp.act_fn`, `${p}.input_layernorm`, `${p}.post_attention_layernorm`);
  }
  return names;
}

/**
 * PEFT's module matching: a string is a regex that must match the whole module name; a list entry matches a name
 * equal to it or ending in `.entry`. `layers_to_transform` only narrows suffix matches, as in PEFT.
 */
function moduleMatcher(spec: unknown, field: string, file: string, layerFilter: ((name: string) => boolean) | null): (name: string) => boolean {
  if (typeof spec === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${spec})$`);
    } catch (e) {
      throw new FormatError(file, `"${field}" regex ${JSON.stringify(spec)} is not valid`, { detail: e instanceof Error ? e.message : String(e) });
    }
    return (name) => re.test(name);
  }
  if (Array.isArray(spec) && spec.every((s) => typeof s === 'string')) {
    const list = spec as string[];
    return (name) => list.includes(name) || (list.some((t) => name.endsWith(`.${t}`)) && (layerFilter === null || layerFilter(name)));
  }
  throw new FormatError(file, `"${field}" must be a list of module names or a regex string`);
}

/**
 * rank_pattern / alpha_pattern give some modules another rank or alpha (PEFT matches a key against a module name with
 * `(^|.*\.)key$`). The engine gives every module one rank and alpha, so a pattern is accepted when every adapted
 * module it reaches keeps the config's own value, and refused, naming the module, otherwise.
 */
function checkPatterns(c: Json, file: string, r: number, alpha: number, modules: string[]): void {
  for (const [field, want] of [['rank_pattern', r], ['alpha_pattern', alpha]] as const) {
    const pattern = c[field];
    if (isEmpty(pattern)) continue;
    if (!isObject(pattern)) throw new FormatError(file, `"${field}" must be an object of module patterns`);
    const entries = Object.entries(pattern).map(([key, value]) => {
      if (typeof value !== 'number') throw new FormatError(file, `"${field}" entry ${JSON.stringify(key)} must be a number`);
      let re: RegExp;
      try {
        re = new RegExp(`(^|.*\\.)(?:${key})$`);
      } catch (e) {
        throw new FormatError(file, `"${field}" key ${JSON.stringify(key)} is not a valid regex`, { detail: e instanceof Error ? e.message : String(e) });
      }
      return { key, value, re };
    });
    for (const name of modules) {
      const hit = entries.find((e) => e.re.test(name));
      if (hit && hit.value !== want) {
        throw new FormatError(file, `"${field}" gives ${name} ${hit.value} (key ${JSON.stringify(hit.key)}) but "${field === 'rank_pattern' ? 'r' : 'lora_alpha'}" is ${want}; one value for every module is supported`);
      }
    }
  }
}

/** Validates adapter_config.json against the model and turns PEFT's matching rules into targets and layers. */
export function parsePeftConfig(json: unknown, modelCfg: ModelConfig, file = ADAPTER_CONFIG): LoraConfig & { baseModelName: string | null } {
  if (!isObject(json)) throw new FormatError(file, 'not a JSON object');
  const c = json;
  if (c.peft_type !== 'LORA') throw new FormatError(file, `peft_type ${JSON.stringify(c.peft_type)} is not supported (only "LORA")`);
  const r = c.r ?? 8;
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r <= 0) throw new FormatError(file, `"r" must be a positive integer, got ${JSON.stringify(r)}`);
  const alpha = c.lora_alpha ?? 8;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha <= 0) throw new FormatError(file, `"lora_alpha" must be a positive number, got ${JSON.stringify(alpha)}`);
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) throw new FormatError(file, `"lora_dropout" must be in [0, 1), got ${JSON.stringify(dropout)}`);
  const useRslora = c.use_rslora ?? false;
  if (typeof useRslora !== 'boolean') throw new FormatError(file, '"use_rslora" must be true or false');

  const refuse = (field: string, why: string) => new FormatError(file, `${field} is not supported (${why})`);
  // fan_in_fan_out only concerns GPT-2's Conv1D layers; for nn.Linear, the projections of these models, PEFT warns and
  // sets it to false, so true means the same adapter.
  if (c.fan_in_fan_out !== undefined && c.fan_in_fan_out !== null && typeof c.fan_in_fan_out !== 'boolean') throw new FormatError(file, '"fan_in_fan_out" must be true or false');
  if (c.use_dora === true) throw refuse('"use_dora": true', 'DoRA adds a magnitude vector per module, so the adapter is not B A alone');
  if (!isEmpty(c.alora_invocation_tokens)) throw refuse('"alora_invocation_tokens"', 'an activated LoRA applies only after its invocation tokens, and this engine applies an adapter to every token');
  if (!isEmpty(c.modules_to_save)) throw refuse('"modules_to_save"', 'only LoRA matrices can be loaded, not fully trained modules');
  if (!isEmpty(c.trainable_token_indices)) throw refuse('"trainable_token_indices"', 'trained embedding rows cannot be loaded');
  // bias "all" / "lora_only" make base-model biases trainable; PEFT saves those it trained beside the LoRA matrices.
  // With no bias tensor in the file (the Llama family has none) they are the base model's, the same as "none"; a
  // bias tensor in the file is refused where the tensors are read.
  if (c.bias !== undefined && c.bias !== null && !['none', 'all', 'lora_only'].includes(c.bias as string)) {
    throw new FormatError(file, `"bias" must be "none", "all" or "lora_only", got ${JSON.stringify(c.bias)}`);
  }
  if (c.lora_bias === true) throw refuse('"lora_bias": true', 'LoRA B has no bias here');
  // Initialisations that rewrite the base weights (the adapter is then relative to that rewritten model) cannot be
  // loaded onto the original; those that only choose A and B (gaussian, orthogonal, EVA) leave the saved A and B a
  // plain LoRA.
  const init = c.init_lora_weights;
  if (init !== undefined && init !== null && typeof init !== 'boolean') {
    if (typeof init !== 'string') throw new FormatError(file, '"init_lora_weights" must be true, false or a method name');
    if (/^pissa/.test(init) || ['olora', 'loftq', 'corda'].includes(init)) {
      throw refuse(`"init_lora_weights": ${JSON.stringify(init)}`, 'it changes the base model\'s weights, so this adapter only fits that changed model; convert it with PEFT\'s path_initial_model_for_weight_conversion first');
    }
    if (!['gaussian', 'orthogonal', 'eva'].includes(init)) throw refuse(`"init_lora_weights": ${JSON.stringify(init)}`, 'unknown initialisation');
  }
  if (!isEmpty(c.layer_replication)) throw refuse('"layer_replication"', 'layers cannot be duplicated');
  if (!isEmpty(c.target_parameters)) throw refuse('"target_parameters"', 'only projection modules can be targeted');

  let layerSet: Set<number> | null = null;
  const ltt = c.layers_to_transform;
  if (ltt !== undefined && ltt !== null) {
    const list = typeof ltt === 'number' ? [ltt] : ltt;
    if (!Array.isArray(list) || !list.every((l) => typeof l === 'number' && Number.isSafeInteger(l) && l >= 0)) {
      throw new FormatError(file, '"layers_to_transform" must be null, a layer index or a list of layer indices');
    }
    for (const l of list as number[]) {
      if (l >= modelCfg.numLayers) throw new FormatError(file, `"layers_to_transform" names layer ${l} but the model has ${modelCfg.numLayers} layers`);
    }
    if (typeof c.target_modules === 'string' && c.target_modules !== 'all-linear') {
      throw new FormatError(file, '"layers_to_transform" cannot be combined with a regex "target_modules" (PEFT forbids it too)');
    }
    if (list.length > 0) layerSet = new Set(list as number[]);
  }
  const layerOf = (name: string) => Number(/^model\.layers\.(\d+)\./.exec(name)?.[1] ?? -1);
  const layerFilter = layerSet === null ? null : (name: string) => layerSet!.has(layerOf(name));

  if (c.target_modules === undefined || c.target_modules === null) throw new FormatError(file, 'missing "target_modules"');
  // PEFT expands "all-linear" to every linear layer but the output head.
  const targetSpec = typeof c.target_modules === 'string' && c.target_modules.toLowerCase() === 'all-linear' ? [...PROJ_NAMES] : c.target_modules;
  const matches = moduleMatcher(targetSpec, 'target_modules', file, layerFilter);
  const excludes = isEmpty(c.exclude_modules) ? () => false : moduleMatcher(c.exclude_modules, 'exclude_modules', file, null);

  for (const name of otherModules(modelCfg)) {
    if (matches(name) && !excludes(name)) {
      throw new FormatError(file, `target_modules selects ${name}, which is not a supported LoRA target (supported: ${PROJ_NAMES.join(', ')})`);
    }
  }
  const layersByProj = new Map<ProjName, number[]>();
  for (const proj of PROJ_NAMES) {
    const layers: number[] = [];
    for (let i = 0; i < modelCfg.numLayers; i++) {
      const name = modulePath(i, proj);
      if (matches(name) && !excludes(name)) layers.push(i);
    }
    if (layers.length > 0) layersByProj.set(proj, layers);
  }
  if (layersByProj.size === 0) {
    throw new FormatError(file, `target_modules ${JSON.stringify(c.target_modules)} matches none of the projections (${PROJ_NAMES.join(', ')})`);
  }
  // The engine gives every adapted layer the same set of projections, so the selection must be a grid.
  const first = [...layersByProj.values()][0];
  for (const [proj, layers] of layersByProj) {
    if (layers.join() !== first.join()) {
      throw new FormatError(file, `target_modules adapts ${proj} in layers [${layers.join(',')}] but other projections in layers [${first.join(',')}]; every adapted layer must have the same projections`);
    }
  }
  checkPatterns(c, file, r, alpha, [...layersByProj].flatMap(([proj, layers]) => layers.map((l) => modulePath(l, proj))));
  const base = c.base_model_name_or_path;
  return {
    rank: r,
    alpha,
    dropout,
    targets: [...layersByProj.keys()],
    useRslora,
    layers: first.length === modelCfg.numLayers ? null : first,
    baseModelName: typeof base === 'string' ? base : null,
  };
}

const KEY_RE = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.lora_(A|B)(?:\.([^.]+))?\.weight$/;

export interface PeftAdapter {
  config: LoraConfig;
  /** Keyed by `peftKey` (the adapter name, if the file had one, is dropped). */
  tensors: Map<string, HostTensor>;
  baseModelName: string | null;
}

/** Reads adapter_config.json and adapter_model.safetensors, checking every tensor against the config and model. */
export async function readPeftAdapter(src: FileSource, modelCfg: ModelConfig): Promise<PeftAdapter> {
  const { baseModelName, ...config } = parsePeftConfig(await readJson(src, ADAPTER_CONFIG), modelCfg);
  if (!(await src.has(ADAPTER_WEIGHTS))) {
    const hint = (await src.has('adapter_model.bin')) ? 'only safetensors adapters are supported; this folder has adapter_model.bin' : undefined;
    throw new MissingFileError(ADAPTER_WEIGHTS, src.label, hint);
  }
  const file = ADAPTER_WEIGHTS;
  const parsed = parseSafetensors(await src.read(file), file);
  const expected = loraTensorShapes(config, modelCfg);
  const tensors = new Map<string, HostTensor>();
  let adapterName: string | undefined;
  for (const [name, entry] of parsed.tensors) {
    const m = KEY_RE.exec(name);
    if (!m && name.endsWith('.bias')) throw new FormatError(file, `tensor ${name} is a trained bias (PEFT's bias "all" or "lora_only"), which is not supported`);
    if (!m) throw new FormatError(file, `unexpected tensor ${name} (only LoRA A/B matrices of projections are supported)`);
    const [, layerStr, grp, proj, which, adapter] = m;
    if (group(proj as ProjName) !== grp) throw new FormatError(file, `unexpected tensor ${name} (${proj} is not under ${grp})`);
    if (tensors.size > 0 && adapter !== adapterName) {
      throw new FormatError(file, `tensor ${name} belongs to adapter "${adapter ?? ''}" but earlier tensors to "${adapterName ?? ''}"; the file must hold one adapter`);
    }
    adapterName = adapter;
    const key = peftKey(Number(layerStr), proj as ProjName, which as 'A' | 'B');
    const want = expected.get(key);
    if (!want) throw new FormatError(file, `tensor ${name} is not covered by ${ADAPTER_CONFIG} (target_modules / layers_to_transform)`);
    if (tensors.has(key)) throw new FormatError(file, `tensor ${name} appears twice`);
    if (entry.shape.join() !== want.join()) {
      throw new FormatError(file, `${name} has shape [${entry.shape.join(',')}], expected [${want.join(',')}]`);
    }
    tensors.set(key, { shape: want.slice(), data: toFloat32(entry) });
  }
  for (const key of expected.keys()) {
    if (!tensors.has(key)) throw new FormatError(file, `missing tensor ${key}`);
  }
  // Return in canonical order so callers can rely on iteration order.
  const ordered = new Map<string, HostTensor>();
  for (const key of expected.keys()) ordered.set(key, tensors.get(key)!);
  return { config, tensors: ordered, baseModelName };
}

export interface PeftFiles {
  'adapter_config.json': string;
  'adapter_model.safetensors': Uint8Array;
}

/**
 * Produces the two files `PeftModel.from_pretrained` loads. Only keys every PEFT release since rsLoRA's
 * introduction accepts are written, because older releases reject unknown config keys.
 */
export function writePeftAdapter(
  lora: LoraConfig,
  modelCfg: ModelConfig,
  tensors: Map<string, HostTensor>,
  baseModel: BaseModelRef | string | null = null,
): PeftFiles {
  const base: BaseModelRef | null = typeof baseModel === 'string' ? { name: baseModel, revision: null } : baseModel;
  validateLoraConfig(lora, modelCfg);
  const expected = loraTensorShapes(lora, modelCfg);
  const out = new Map<string, HostTensor>();
  for (const [key, shape] of expected) {
    const t = tensors.get(key);
    if (!t) throw new Error(`writePeftAdapter: missing tensor ${key}`);
    if (t.shape.join() !== shape.join()) throw new Error(`writePeftAdapter: ${key} has shape [${t.shape.join(',')}], expected [${shape.join(',')}]`);
    if (t.data.length !== shape[0] * shape[1]) throw new Error(`writePeftAdapter: ${key} holds ${t.data.length} values, expected ${shape[0] * shape[1]}`);
    out.set(key, t);
  }
  for (const key of tensors.keys()) {
    if (!expected.has(key)) throw new Error(`writePeftAdapter: tensor ${key} is not part of this LoRA config`);
  }
  const layers = lora.layers == null ? null : adapterLayers(lora, modelCfg);
  const config = {
    alpha_pattern: {},
    // AutoPeftModelForCausalLM opens the base model from these two.
    base_model_name_or_path: base?.name ?? null,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: layers,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: lora.rank,
    rank_pattern: {},
    revision: base?.revision ?? null,
    target_modules: orderedTargets(lora),
    task_type: 'CAUSAL_LM',
    use_rslora: lora.useRslora,
  };
  return {
    'adapter_config.json': JSON.stringify(config, null, 2) + '\n',
    // transformers refuses safetensors files without a "format" entry in the metadata.
    'adapter_model.safetensors': writeSafetensors(out, { format: 'pt' }),
  };
}

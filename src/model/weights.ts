// Loads the base-model tensors a ModelConfig needs from single-file or sharded safetensors checkpoints, widened to f32.
import { FormatError, MissingFileError } from '../io/errors.ts';
import { readJson, type FileSource } from '../io/files.ts';
import type { ModelConfig } from './config.ts';
import { parseSafetensors, toFloat32 } from './safetensors.ts';

export interface HostTensor {
  shape: number[];
  data: Float32Array;
  /** The half precision the checkpoint stored it in (data holds it widened, exactly); absent for F32 and F64. */
  stored?: 'F16' | 'BF16';
}

export interface WeightsProgress {
  /** The file being read or converted. */
  file: string;
  /** Files finished so far and in all (the index file is not counted). */
  filesDone: number;
  filesTotal: number;
  /** Bytes of the current file read so far; `bytesTotal` is null when the size is unknown. */
  bytesLoaded: number;
  bytesTotal: number | null;
  /** Tensors converted so far and in all. */
  tensorsDone: number;
  tensorsTotal: number;
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Every tensor the architecture reads, with its expected shape; everything else in a checkpoint is ignored. */
export function expectedWeightShapes(cfg: ModelConfig): Map<string, number[]> {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [cfg.vocabSize, H]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}.`;
    m.set(`${p}input_layernorm.weight`, [H]);
    m.set(`${p}self_attn.q_proj.weight`, [q, H]);
    m.set(`${p}self_attn.k_proj.weight`, [kv, H]);
    m.set(`${p}self_attn.v_proj.weight`, [kv, H]);
    m.set(`${p}self_attn.o_proj.weight`, [H, q]);
    if (cfg.bias.q) m.set(`${p}self_attn.q_proj.bias`, [q]);
    if (cfg.bias.k) m.set(`${p}self_attn.k_proj.bias`, [kv]);
    if (cfg.bias.v) m.set(`${p}self_attn.v_proj.bias`, [kv]);
    if (cfg.bias.o) m.set(`${p}self_attn.o_proj.bias`, [H]);
    m.set(`${p}post_attention_layernorm.weight`, [H]);
    m.set(`${p}mlp.gate_proj.weight`, [I, H]);
    m.set(`${p}mlp.up_proj.weight`, [I, H]);
    m.set(`${p}mlp.down_proj.weight`, [H, I]);
    if (cfg.bias.mlp) {
      m.set(`${p}mlp.gate_proj.bias`, [I]);
      m.set(`${p}mlp.up_proj.bias`, [I]);
      m.set(`${p}mlp.down_proj.bias`, [H]);
    }
  }
  m.set('model.norm.weight', [H]);
  if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [cfg.vocabSize, H]);
  return m;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (s: readonly number[]) => `[${s.join(',')}]`;

/** Reads the index and returns, per shard file, the needed tensors it holds, in the index's file order. */
async function planShards(src: FileSource, needed: Map<string, number[]>): Promise<Map<string, string[]>> {
  const index = await readJson(src, INDEX_FILE);
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new FormatError(INDEX_FILE, 'missing "weight_map" object');
  }
  const wm = weightMap as Record<string, unknown>;
  const byFile = new Map<string, string[]>();
  for (const file of new Set(Object.values(wm))) {
    if (typeof file !== 'string' || file === '') throw new FormatError(INDEX_FILE, `weight_map has a non-string file name ${JSON.stringify(file)}`);
    byFile.set(file, []);
  }
  for (const name of needed.keys()) {
    if (!Object.prototype.hasOwnProperty.call(wm, name)) throw new FormatError(INDEX_FILE, `weight_map has no entry for ${name}`);
    byFile.get(wm[name] as string)!.push(name);
  }
  for (const [file, names] of byFile) if (names.length === 0) byFile.delete(file);
  return byFile;
}

/**
 * Loads `model.safetensors`, or `model.safetensors.index.json` and its shards one at a time so that only one
 * shard's raw bytes are held next to the converted tensors. Checks every needed tensor's presence and shape.
 */
export async function loadWeights(
  src: FileSource,
  cfg: ModelConfig,
  onProgress?: (p: WeightsProgress) => void,
): Promise<Map<string, HostTensor>> {
  const needed = expectedWeightShapes(cfg);
  let plan: Map<string, string[]>;
  if (await src.has(INDEX_FILE)) {
    plan = await planShards(src, needed);
  } else if (await src.has(SINGLE_FILE)) {
    plan = new Map([[SINGLE_FILE, [...needed.keys()]]]);
  } else {
    const hint = (await src.has('pytorch_model.bin'))
      ? 'only safetensors checkpoints are supported; this folder has pytorch_model.bin'
      : `nor ${INDEX_FILE}`;
    throw new MissingFileError(SINGLE_FILE, src.label, hint);
  }

  const out = new Map<string, HostTensor>();
  const filesTotal = plan.size;
  let filesDone = 0;
  let tensorsDone = 0;
  const tensorsTotal = needed.size;
  for (const [file, names] of plan) {
    const report = (bytesLoaded: number, bytesTotal: number | null) =>
      onProgress?.({ file, filesDone, filesTotal, bytesLoaded, bytesTotal, tensorsDone, tensorsTotal });
    // toFloat32 copies, so nothing keeps this shard's bytes alive once the iteration ends.
    const bytes = await src.read(file, report);
    const parsed = parseSafetensors(bytes, file);
    for (const name of names) {
      const entry = parsed.tensors.get(name);
      if (!entry) {
        throw new FormatError(file, file === SINGLE_FILE ? `missing tensor ${name}` : `missing tensor ${name} (${INDEX_FILE} places it in this file)`);
      }
      const want = needed.get(name)!;
      if (!sameShape(entry.shape, want)) {
        throw new FormatError(file, `${name} has shape ${fmt(entry.shape)}, expected ${fmt(want)}`);
      }
      const stored = entry.dtype === 'F16' || entry.dtype === 'BF16' ? { stored: entry.dtype } : {};
      out.set(name, { shape: want.slice(), data: toFloat32(entry), ...stored });
      tensorsDone++;
    }
    filesDone++;
    report(bytes.byteLength, bytes.byteLength);
  }
  return out;
}

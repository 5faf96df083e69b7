// Reads the base-model tensors a ModelConfig needs from single-file or sharded safetensors checkpoints, one tensor at a
// time by byte range (or all at once widened to f32, for the export).
import { FormatError, MissingFileError } from '../io/errors.ts';
import { readJson, type FileSource } from '../io/files.ts';
import type { RandomAccessFile } from '../io/random-access.ts';
import type { ModelConfig } from './config.ts';
import { readSafetensorsHeader, readTensor, toFloat32, type TensorInfo } from './safetensors.ts';
import { accountTensors } from './tensor-accounting.ts';

export interface HostTensor {
  shape: number[];
  data: Float32Array;
  /** The half precision the checkpoint stored it in (data holds it widened, exactly); absent for F32 and F64. */
  stored?: 'F16' | 'BF16';
}

export interface WeightsProgress {
  /** The file being read. */
  file: string;
  /** Files whose needed tensors have all been read, and files in all (the index file is not counted). */
  filesDone: number;
  filesTotal: number;
  /** Bytes of the current file's tensors read so far, and the file's size; `bytesTotal` is null when unknown. */
  bytesLoaded: number;
  bytesTotal: number | null;
  /** Tensors converted so far and in all. */
  tensorsDone: number;
  tensorsTotal: number;
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Every tensor the architecture reads, with its expected shape (tensor-accounting.ts refuses checkpoints with others). */
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
    if (cfg.features.qkNorm) {
      m.set(`${p}self_attn.q_norm.weight`, [cfg.headDim]);
      m.set(`${p}self_attn.k_norm.weight`, [cfg.headDim]);
    }
    m.set(`${p}post_attention_layernorm.weight`, [H]);
    if (cfg.features.sandwichNorms) {
      m.set(`${p}pre_feedforward_layernorm.weight`, [H]);
      m.set(`${p}post_feedforward_layernorm.weight`, [H]);
    }
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

/**
 * Reads the index, accounts for every tensor it lists (before any shard is opened) and returns, per shard file, the
 * needed tensors it holds, in the index's file order.
 */
async function planShards(src: FileSource, cfg: ModelConfig, needed: Map<string, number[]>): Promise<Map<string, string[]>> {
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
  accountTensors(cfg, needed, Object.entries(wm).map(([name, file]) => ({ name, file: file as string })), () => INDEX_FILE);
  for (const name of needed.keys()) byFile.get(wm[name] as string)!.push(name);
  for (const [file, names] of byFile) if (names.length === 0) byFile.delete(file);
  return byFile;
}

/** One checkpoint tensor as the file stores it: raw little-endian bytes (a fresh array, or a view of the caller's). */
export interface CheckpointTensor {
  name: string;
  file: string;
  shape: number[];
  dtype: 'F32' | 'F16' | 'BF16' | 'F64';
  bytes: Uint8Array;
}

/**
 * An open checkpoint whose tensors are read one at a time, by byte range, in whatever order the caller asks:
 * memory holds a tensor only while the caller does. Every needed tensor's presence, shape and dtype were checked
 * when it was opened, so a broken checkpoint fails before anything is read or uploaded.
 */
export interface WeightReader {
  /** The needed tensors with their shapes (from the architecture), in the architecture's order. */
  readonly shapes: ReadonlyMap<string, number[]>;
  /** Bytes of all needed tensors together, as stored. */
  readonly bytes: number;
  /** The largest needed tensor's bytes: what reading holds at most at once. */
  readonly largestBytes: number;
  /** How a needed tensor is stored, and its size in bytes. */
  dtype(name: string): CheckpointTensor['dtype'];
  byteLength(name: string): number;
  /** Reads one tensor, into a fresh array or to the start of `into` (at least the tensor's bytes). */
  read(name: string, into?: Uint8Array): Promise<CheckpointTensor>;
  /**
   * Reads bytes [begin, begin + length) of one tensor, so a large tensor can be uploaded a piece at a time through one
   * small buffer (`into`), or a slice of its rows read alone.
   */
  readPart(name: string, begin: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16', 'F64']);

/** Where each needed tensor lives: the files to open, in order, and the tensors each must hold. */
async function planFiles(src: FileSource, cfg: ModelConfig, needed: Map<string, number[]>): Promise<Map<string, string[]>> {
  if (await src.has(INDEX_FILE)) return planShards(src, cfg, needed);
  if (await src.has(SINGLE_FILE)) return new Map([[SINGLE_FILE, [...needed.keys()]]]);
  const hint = (await src.has('pytorch_model.bin'))
    ? 'only safetensors checkpoints are supported; this folder has pytorch_model.bin'
    : `nor ${INDEX_FILE}`;
  throw new MissingFileError(SINGLE_FILE, src.label, hint);
}

/**
 * Opens `model.safetensors`, or `model.safetensors.index.json` and its shards, reading only their headers. Files are
 * read by range (`FileSource.open`), so a file's size is not limited by what fits in one buffer.
 */
export async function openWeights(
  src: FileSource,
  cfg: ModelConfig,
  onProgress?: (p: WeightsProgress) => void,
): Promise<WeightReader> {
  const needed = expectedWeightShapes(cfg);
  const plan = await planFiles(src, cfg, needed);
  const files = new Map<string, RandomAccessFile>();
  const where = new Map<string, { file: RandomAccessFile; info: TensorInfo }>();
  const closeAll = () => Promise.all([...files.values()].map((f) => f.close()));
  let bytes = 0;
  let largestBytes = 0;
  try {
    for (const [file, names] of plan) {
      const f = await src.open(file);
      files.set(file, f);
      const header = await readSafetensorsHeader(f);
      if (file === SINGLE_FILE) {
        accountTensors(cfg, needed, [...header.tensors].map(([name, info]) => ({ name, file, shape: info.shape })), () => SINGLE_FILE);
      }
      for (const name of names) {
        const info = header.tensors.get(name);
        if (!info) {
          throw new FormatError(file, file === SINGLE_FILE ? `missing tensor ${name}` : `missing tensor ${name} (${INDEX_FILE} places it in this file)`);
        }
        const want = needed.get(name)!;
        if (!sameShape(info.shape, want)) throw new FormatError(file, `${name} has shape ${fmt(info.shape)}, expected ${fmt(want)}`);
        if (!FLOAT_DTYPES.has(info.dtype)) {
          throw new FormatError(file, `tensor ${name}: dtype ${info.dtype} cannot be loaded as floats (supported: F32, F16, BF16, F64)`);
        }
        where.set(name, { file: f, info });
        bytes += info.end - info.begin;
        largestBytes = Math.max(largestBytes, info.end - info.begin);
      }
    }
  } catch (e) {
    await closeAll();
    throw e;
  }

  // Progress counts bytes per file as the caller reads them, and a tensor once its last byte is read.
  const leftInFile = new Map([...plan].map(([file, names]) => [file, names.length]));
  const readInFile = new Map([...plan.keys()].map((file) => [file, 0]));
  let filesDone = 0;
  let tensorsDone = 0;
  const done = new Set<string>();
  const locate = (name: string) => {
    const at = where.get(name);
    if (!at) throw new Error(`weights: ${name} is not a tensor this architecture reads`);
    return at;
  };
  async function readPart(name: string, begin: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const { file, info } = locate(name);
    const size = info.end - info.begin;
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(length) || begin < 0 || length < 0 || begin + length > size) {
      throw new RangeError(`weights: bytes ${begin}..${begin + length} are outside tensor ${name} (${size} bytes)`);
    }
    const part = await readTensor(file, { ...info, begin: info.begin + begin, end: info.begin + begin + length }, into);
    readInFile.set(info.file, readInFile.get(info.file)! + length);
    if (begin + length === size && !done.has(name)) {
      done.add(name);
      tensorsDone++;
      leftInFile.set(info.file, leftInFile.get(info.file)! - 1);
      if (leftInFile.get(info.file) === 0) filesDone++;
    }
    onProgress?.({ file: info.file, filesDone, filesTotal: plan.size, bytesLoaded: readInFile.get(info.file)!, bytesTotal: file.size, tensorsDone, tensorsTotal: needed.size });
    return part.bytes;
  }
  return {
    shapes: needed,
    bytes,
    largestBytes,
    dtype: (name) => locate(name).info.dtype as CheckpointTensor['dtype'],
    byteLength: (name) => locate(name).info.end - locate(name).info.begin,
    readPart,
    async read(name, into) {
      const { info } = locate(name);
      const data = await readPart(name, 0, info.end - info.begin, into);
      return { name, file: info.file, shape: needed.get(name)!.slice(), dtype: info.dtype as CheckpointTensor['dtype'], bytes: data };
    },
    async close() {
      await closeAll();
    },
  };
}

/** A checkpoint tensor widened to f32 (exactly for F16 and BF16), keeping its stored half precision as a mark. */
export function widenTensor(t: CheckpointTensor): HostTensor {
  const data = toFloat32({ file: t.file, name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.bytes });
  return { shape: t.shape, data, ...(t.dtype === 'F16' || t.dtype === 'BF16' ? { stored: t.dtype } : {}) };
}

/**
 * Loads every needed tensor widened to f32 (for the ONNX export and tests, which want them all at once; the engine
 * streams them through `openWeights` instead). Checks every needed tensor's presence and shape.
 */
export async function loadWeights(
  src: FileSource,
  cfg: ModelConfig,
  onProgress?: (p: WeightsProgress) => void,
): Promise<Map<string, HostTensor>> {
  const reader = await openWeights(src, cfg, onProgress);
  try {
    const out = new Map<string, HostTensor>();
    for (const name of reader.shapes.keys()) out.set(name, widenTensor(await reader.read(name)));
    return out;
  } finally {
    await reader.close();
  }
}

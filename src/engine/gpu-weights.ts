// Uploads a model's frozen base weights to the GPU, one buffer per tensor, laid out per layer; projection weights a
// checkpoint stores in F16 or BF16 stay in that precision (packed two per word, read as f32 by the matmul kernels).
// The embedding table and an untied LM head go up as vocabulary slices that each fit one binding (vocab-table.ts),
// packed the same way.
import type { Gpu } from '../gpu/context.ts';
import type { MatmulBFormat, MatmulCompute } from '../gpu/kernels/matmul.ts';
import type { ModelConfig } from '../model/config.ts';
import { halfWords } from '../model/half.ts';
import type { ProjName } from '../model/peft.ts';
import type { FileSource } from '../io/files.ts';
import { openWeights, widenTensor, type CheckpointTensor, type WeightReader, type WeightsProgress } from '../model/weights.ts';
import { destroyTable, tableBytes, uploadVocabTable, type VocabTable } from './vocab-table.ts';

export interface GpuLinear {
  weight: GPUBuffer;
  /** How `weight` is stored: f32, or the checkpoint's half precision. */
  format: MatmulBFormat;
  /** The arithmetic of its forward matmul: f32, or f16 products summed in f32 (its backward is always f32). */
  compute: MatmulCompute;
  bias: GPUBuffer | null;
  in: number;
  out: number;
}

export interface GpuLayer {
  inputNorm: GPUBuffer;
  postNorm: GPUBuffer;
  proj: Record<ProjName, GpuLinear>;
}

export interface GpuWeights {
  embed: VocabTable;
  layers: GpuLayer[];
  finalNorm: GPUBuffer;
  /** The embedding table itself when embeddings are tied. */
  lmHead: VocabTable;
  bytes: number;
  destroy(): void;
}

export interface UploadOptions {
  /** Keep F16 / BF16 projection weights, the embedding and the LM head in their precision (half the memory, exact); default true. Others are f32. */
  halfProjections?: boolean;
  /** The projections' forward arithmetic (default f32); 'f16' needs the device's shader-f16. */
  compute?: MatmulCompute;
}

/** Uploaded bytes after which the upload waits for the queue, so the driver's staging copies are recycled. */
const DRAIN_EVERY_BYTES = 256 * 2 ** 20;


/**
 * Reads each tensor from the checkpoint, uploads it and lets it go before reading the next, so host memory holds
 * one tensor at a time (plus what the driver stages, drained every DRAIN_EVERY_BYTES). F16/BF16 projection weights,
 * the embedding and the LM head go up as the file stores them, never widened on the host; the other tensors (norms,
 * biases) are widened to f32 one at a time.
 */
export async function uploadWeights(gpu: Gpu, cfg: ModelConfig, reader: WeightReader, opts: UploadOptions = {}): Promise<GpuWeights> {
  const compute = opts.compute ?? 'f32';
  if (compute === 'f16') gpu.requireF16('f16 compute');
  const owned: GPUBuffer[] = [];
  let bytes = 0;
  let undrained = 0;
  const tensor = (name: string): Promise<CheckpointTensor> => reader.read(name);
  const keep = async (name: string, data: Float32Array | Uint32Array): Promise<GPUBuffer> => {
    const buf = gpu.upload(name, data);
    gpu.setBindingAdvice(buf, `it holds the checkpoint tensor ${name}, bound whole: a smaller batch or sequence length cannot help; ` +
      'keep F16/BF16 weights in their precision (the default) or use a device with a larger maxStorageBufferBindingSize');
    owned.push(buf);
    bytes += data.byteLength;
    await drain(data.byteLength);
    return buf;
  };
  const drain = async (uploaded: number): Promise<void> => {
    undrained += uploaded;
    if (undrained >= DRAIN_EVERY_BYTES) {
      undrained = 0;
      gpu.device.queue.submit([]);
      await gpu.device.queue.onSubmittedWorkDone();
    }
  };
  const take = async (name: string): Promise<GPUBuffer> => keep(name, widenTensor(await tensor(name)).data);
  const takeProjection = async (name: string): Promise<{ weight: GPUBuffer; format: MatmulBFormat }> => {
    const t = await tensor(name);
    if ((t.dtype !== 'F16' && t.dtype !== 'BF16') || opts.halfProjections === false) {
      return { weight: await keep(name, widenTensor(t).data), format: 'f32' };
    }
    return { weight: await keep(name, halfWords(t.bytes)), format: t.dtype === 'F16' ? 'f16' : 'bf16' };
  };
  const tables: VocabTable[] = [];
  const takeTable = async (name: string): Promise<VocabTable> => {
    const table = uploadVocabTable(gpu, await tensor(name), opts.halfProjections !== false);
    tables.push(table);
    bytes += tableBytes(table);
    await drain(tableBytes(table));
    return table;
  };
  try {
    return await uploadAll();
  } catch (e) {
    owned.forEach((b) => gpu.destroyBuffer(b));
    tables.forEach((t) => destroyTable(gpu, t));
    throw e;
  }

  async function uploadAll(): Promise<GpuWeights> {
    const H = cfg.hiddenSize;
    const qOut = cfg.numHeads * cfg.headDim;
    const kvOut = cfg.numKvHeads * cfg.headDim;
    const dims: Record<ProjName, [number, number]> = {
      q_proj: [H, qOut], k_proj: [H, kvOut], v_proj: [H, kvOut], o_proj: [qOut, H],
      gate_proj: [H, cfg.intermediateSize], up_proj: [H, cfg.intermediateSize], down_proj: [cfg.intermediateSize, H],
    };
    const hasBias: Record<ProjName, boolean> = {
      q_proj: cfg.bias.q, k_proj: cfg.bias.k, v_proj: cfg.bias.v, o_proj: cfg.bias.o,
      gate_proj: cfg.bias.mlp, up_proj: cfg.bias.mlp, down_proj: cfg.bias.mlp,
    };
    const embed = await takeTable('model.embed_tokens.weight');
    const layers: GpuLayer[] = [];
    for (let l = 0; l < cfg.numLayers; l++) {
      const p = `model.layers.${l}.`;
      const proj = {} as Record<ProjName, GpuLinear>;
      for (const name of Object.keys(dims) as ProjName[]) {
        const group = ['gate_proj', 'up_proj', 'down_proj'].includes(name) ? 'mlp' : 'self_attn';
        const [inDim, outDim] = dims[name];
        proj[name] = {
          ...(await takeProjection(`${p}${group}.${name}.weight`)),
          compute,
          bias: hasBias[name] ? await take(`${p}${group}.${name}.bias`) : null,
          in: inDim,
          out: outDim,
        };
      }
      layers.push({ inputNorm: await take(`${p}input_layernorm.weight`), postNorm: await take(`${p}post_attention_layernorm.weight`), proj });
    }
    const finalNorm = await take('model.norm.weight');
    const lmHead = cfg.tieWordEmbeddings ? embed : await takeTable('lm_head.weight');
    return {
      embed, layers, finalNorm, lmHead, bytes,
      destroy: () => {
        owned.forEach((b) => gpu.destroyBuffer(b));
        tables.forEach((t) => destroyTable(gpu, t));
      },
    };
  }
}

/** Opens a model folder's checkpoint, uploads every tensor one at a time and closes the files. */
export async function uploadCheckpoint(
  gpu: Gpu,
  src: FileSource,
  cfg: ModelConfig,
  opts: UploadOptions & { onProgress?: (p: WeightsProgress) => void } = {},
): Promise<GpuWeights> {
  const reader = await openWeights(src, cfg, opts.onProgress);
  try {
    return await uploadWeights(gpu, cfg, reader, opts);
  } finally {
    await reader.close();
  }
}

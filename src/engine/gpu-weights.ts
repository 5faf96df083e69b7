// Uploads a model's frozen base weights to the GPU, one buffer per tensor, laid out per layer; projection weights a
// checkpoint stores in F16 or BF16 stay in that precision (packed two per word, read as f32 by the matmul kernels).
// The embedding table and an untied LM head go up as vocabulary slices that each fit one binding (vocab-table.ts),
// packed the same way.
import type { Gpu } from '../gpu/context.ts';
import type { MatmulBFormat, MatmulCompute } from '../gpu/kernels/matmul.ts';
import type { ModelConfig } from '../model/config.ts';
import type { ProjName } from '../model/peft.ts';
import type { FileSource } from '../io/files.ts';
import { openWeights, type WeightReader, type WeightsProgress } from '../model/weights.ts';
import { streamVocabTable, type VocabTable } from './vocab-table.ts';
import { TensorUploader } from './weight-upload.ts';

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
  /** The norm in front of the MLP: post_attention_layernorm, or Gemma's pre_feedforward_layernorm. */
  postNorm: GPUBuffer;
  /** Gemma: post_attention_layernorm (on the attention output) and post_feedforward_layernorm (on the MLP output). */
  attnOutNorm: GPUBuffer | null;
  mlpOutNorm: GPUBuffer | null;
  /** Per-head q_norm / k_norm, [head_dim] (Qwen3, Gemma 3). */
  qNorm: GPUBuffer | null;
  kNorm: GPUBuffer | null;
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

/**
 * Reads each tensor from the checkpoint and uploads it a piece at a time (weight-upload.ts), so host memory holds a
 * few MiB whatever the model. F16/BF16 projection weights, the embedding and the LM head go up as the file stores
 * them, never widened on the host; the other tensors (norms, biases) are widened to f32 piece by piece.
 */
export async function uploadWeights(gpu: Gpu, cfg: ModelConfig, reader: WeightReader, opts: UploadOptions = {}): Promise<GpuWeights> {
  const compute = opts.compute ?? 'f32';
  if (compute === 'f16') gpu.requireF16('f16 compute');
  const up = new TensorUploader(gpu, reader);
  const advise = (name: string, buf: GPUBuffer): GPUBuffer => {
    gpu.setBindingAdvice(buf, `it holds the checkpoint tensor ${name}, bound whole: a smaller batch or sequence length cannot help; ` +
      'keep F16/BF16 weights in their precision (the default) or use a device with a larger maxStorageBufferBindingSize');
    return buf;
  };
  const take = async (name: string): Promise<GPUBuffer> => advise(name, await up.widened(name));
  const takeProjection = async (name: string): Promise<{ weight: GPUBuffer; format: MatmulBFormat }> => {
    const dtype = reader.dtype(name);
    if ((dtype !== 'F16' && dtype !== 'BF16') || opts.halfProjections === false) return { weight: advise(name, await up.widened(name)), format: 'f32' };
    return { weight: advise(name, await up.stored(name)), format: dtype === 'F16' ? 'f16' : 'bf16' };
  };
  const takeTable = (name: string): Promise<VocabTable> => streamVocabTable(gpu, up, reader, name, opts.halfProjections !== false);
  try {
    return await uploadAll();
  } catch (e) {
    up.destroy();
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
      const f = cfg.features;
      const sandwich = f.sandwichNorms;
      layers.push({
        inputNorm: await take(`${p}input_layernorm.weight`),
        postNorm: await take(sandwich ? `${p}pre_feedforward_layernorm.weight` : `${p}post_attention_layernorm.weight`),
        attnOutNorm: sandwich ? await take(`${p}post_attention_layernorm.weight`) : null,
        mlpOutNorm: sandwich ? await take(`${p}post_feedforward_layernorm.weight`) : null,
        qNorm: f.qkNorm ? await take(`${p}self_attn.q_norm.weight`) : null,
        kNorm: f.qkNorm ? await take(`${p}self_attn.k_norm.weight`) : null,
        proj,
      });
    }
    const finalNorm = await take('model.norm.weight');
    const lmHead = cfg.tieWordEmbeddings ? embed : await takeTable('lm_head.weight');
    const owned = [...up.owned];
    return {
      embed, layers, finalNorm, lmHead, bytes: up.bytes,
      destroy: () => owned.forEach((b) => gpu.destroyBuffer(b)),
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

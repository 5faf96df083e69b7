// Uploads a model's frozen base weights to the GPU, one buffer per tensor, laid out per layer; projection weights a
// checkpoint stores in F16 or BF16 stay in that precision (packed two per word, read as f32 by the matmul kernels).
// Projections that read the same input (q/k/v, gate/up) are stacked into one buffer where the weights allow (same
// dtype, each part bindable on its own at an aligned offset, the whole within one binding), so each group runs as one
// matmul; each projection stays a view of its rows. The embedding table and an untied LM head go up as vocabulary
// slices that each fit one binding (vocab-table.ts), packed the same way.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import type { MatmulBFormat, MatmulCompute } from '../gpu/kernels/matmul.ts';
import type { ModelConfig } from '../model/config.ts';
import type { ProjName } from '../model/peft.ts';
import type { FileSource } from '../io/files.ts';
import { openWeights, type WeightReader, type WeightsProgress } from '../model/weights.ts';
import { streamVocabTable, type VocabTable } from './vocab-table.ts';
import { TensorUploader } from './weight-upload.ts';

export interface GpuLinear {
  /** [out, in]: a buffer of its own, or its rows of a fused group's stacked weight. */
  weight: BufferRef;
  /** How `weight` is stored: f32, or the checkpoint's half precision. */
  format: MatmulBFormat;
  /** The arithmetic of its forward matmul: f32, or f16 products summed in f32 (its backward is always f32). */
  compute: MatmulCompute;
  bias: BufferRef | null;
  in: number;
  out: number;
}

/** Projections of one input whose weights are stacked in one buffer ([q; k; v] or [gate; up]), run as one matmul. */
export interface GpuFusedLinear {
  projs: ProjName[];
  /** [Σ out, in]: the parts' rows one after the other (each part's GpuLinear is a view of its rows). */
  weight: BufferRef;
  format: MatmulBFormat;
  compute: MatmulCompute;
  /** [Σ out], when every part has a bias. */
  bias: BufferRef | null;
  in: number;
  /** Each part's output width, in the order of `projs`. */
  widths: number[];
  out: number;
}

/** The groups of projections that can be fused: one input each. */
export const FUSED_GROUPS = { qkv: ['q_proj', 'k_proj', 'v_proj'], gateUp: ['gate_proj', 'up_proj'] } as const satisfies Record<string, readonly ProjName[]>;

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
  /** The fused groups of this layer, or null where the weights do not allow one (the projections then run apart). */
  fused: { qkv: GpuFusedLinear | null; gateUp: GpuFusedLinear | null };
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
  /** Stack q/k/v and gate/up into one weight each where the weights allow (default true). */
  fuse?: boolean;
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
    gpu.setBindingAdvice(buf, `it holds the checkpoint ${name.includes(', ') ? 'tensors' : 'tensor'} ${name}, bound whole: a smaller batch or sequence length cannot help; ` +
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
  const whole = (buffer: GPUBuffer): BufferRef => ({ buffer, offset: 0, size: buffer.size });
  /** The format a projection's weight is kept in. */
  const formatOf = (name: string): MatmulBFormat => {
    const dtype = reader.dtype(name);
    return (dtype !== 'F16' && dtype !== 'BF16') || opts.halfProjections === false ? 'f32' : dtype === 'F16' ? 'f16' : 'bf16';
  };
  /**
   * Uploads `names` (weights [out, in] of one input, with their biases or none) stacked in one buffer, or returns null
   * where they cannot be: different formats, some with a bias and some without, a part not ending on the device's
   * binding-offset alignment (each part must stay bindable alone), or the whole larger than one binding.
   */
  const takeFused = async (label: string, names: string[], biases: string[] | null, widths: number[], inDim: number): Promise<{ weights: BufferRef[]; biases: BufferRef[] | null; fused: Omit<GpuFusedLinear, 'projs' | 'compute'> } | null> => {
    if (opts.fuse === false) return null;
    const format = formatOf(names[0]);
    if (names.some((n) => formatOf(n) !== format)) return null;
    const align = gpu.device.limits.minStorageBufferOffsetAlignment;
    const bytes = widths.map((w) => w * inDim * (format === 'f32' ? 4 : 2));
    const total = bytes.reduce((a, b) => a + b, 0);
    if (bytes.some((b) => b % align !== 0) || total > gpu.bindingLimit) return null;
    if (biases && widths.some((w) => (w * 4) % align !== 0)) return null;
    const buffer = advise(names.join(', '), up.make(`${label}.weight`, total));
    const weights: BufferRef[] = [];
    let at = 0;
    for (let i = 0; i < names.length; i++) {
      if (format === 'f32') await up.widened(names[i], undefined, undefined, names[i], { buffer, byteOffset: at });
      else await up.stored(names[i], undefined, undefined, names[i], { buffer, byteOffset: at });
      weights.push({ buffer, offset: at, size: bytes[i] });
      at += bytes[i];
    }
    let biasRefs: BufferRef[] | null = null;
    let bias: BufferRef | null = null;
    if (biases) {
      const out = widths.reduce((a, b) => a + b, 0);
      const bb = advise(biases.join(', '), up.make(`${label}.bias`, out * 4));
      biasRefs = [];
      let b = 0;
      for (let i = 0; i < biases.length; i++) {
        await up.widened(biases[i], undefined, undefined, biases[i], { buffer: bb, byteOffset: b });
        biasRefs.push({ buffer: bb, offset: b, size: widths[i] * 4 });
        b += widths[i] * 4;
      }
      bias = whole(bb);
    }
    return { weights, biases: biasRefs, fused: { weight: whole(buffer), format, bias, in: inDim, widths, out: widths.reduce((a, b) => a + b, 0) } };
  };
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
      const tensor = (name: ProjName, what: 'weight' | 'bias') => `${p}${['gate_proj', 'up_proj', 'down_proj'].includes(name) ? 'mlp' : 'self_attn'}.${name}.${what}`;
      const fused: GpuLayer['fused'] = { qkv: null, gateUp: null };
      for (const key of ['qkv', 'gateUp'] as const) {
        const projs = [...FUSED_GROUPS[key]];
        const withBias = projs.map((n) => hasBias[n]);
        if (withBias.some((b) => b !== withBias[0])) continue;
        const got = await takeFused(`l${l}.${key}`, projs.map((n) => tensor(n, 'weight')), withBias[0] ? projs.map((n) => tensor(n, 'bias')) : null,
          projs.map((n) => dims[n][1]), dims[projs[0]][0]);
        if (!got) continue;
        fused[key] = { ...got.fused, projs, compute };
        projs.forEach((n, i) => {
          proj[n] = { weight: got.weights[i], format: got.fused.format, compute, bias: got.biases?.[i] ?? null, in: dims[n][0], out: dims[n][1] };
        });
      }
      for (const name of Object.keys(dims) as ProjName[]) {
        if (proj[name]) continue;
        const [inDim, outDim] = dims[name];
        const { weight, format } = await takeProjection(tensor(name, 'weight'));
        proj[name] = {
          weight: whole(weight),
          format,
          compute,
          bias: hasBias[name] ? whole(await take(tensor(name, 'bias'))) : null,
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
        fused,
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

// Uploads a model's frozen base weights to the GPU, one buffer per tensor, laid out per layer; projection weights a
// checkpoint stores in F16 or BF16 stay in that precision (packed two per word, read as f32 by the matmul kernels).
import type { Gpu } from '../gpu/context.ts';
import type { MatmulBFormat, MatmulCompute } from '../gpu/kernels/matmul.ts';
import type { ModelConfig } from '../model/config.ts';
import { packHalf } from '../model/half.ts';
import type { ProjName } from '../model/peft.ts';
import type { HostTensor } from '../model/weights.ts';

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
  embed: GPUBuffer;
  layers: GpuLayer[];
  finalNorm: GPUBuffer;
  /** The embedding table itself when embeddings are tied. */
  lmHead: GPUBuffer;
  bytes: number;
  destroy(): void;
}

export interface UploadOptions {
  /** Keep F16 / BF16 projection weights in their precision (half the memory, exact); default true. Others are f32. */
  halfProjections?: boolean;
  /** The projections' forward arithmetic (default f32); 'f16' needs the device's shader-f16. */
  compute?: MatmulCompute;
}

/** Uploads and releases each host tensor as it goes, so host memory is freed progressively. */
export function uploadWeights(gpu: Gpu, cfg: ModelConfig, host: Map<string, HostTensor>, opts: UploadOptions = {}): GpuWeights {
  const compute = opts.compute ?? 'f32';
  if (compute === 'f16') gpu.requireF16('f16 compute');
  const owned: GPUBuffer[] = [];
  let bytes = 0;
  const tensor = (name: string): HostTensor => {
    const t = host.get(name);
    if (!t) throw new Error(`weights: ${name} was not loaded`);
    host.delete(name);
    return t;
  };
  const keep = (name: string, data: Float32Array | Uint32Array): GPUBuffer => {
    const buf = gpu.upload(name, data);
    owned.push(buf);
    bytes += data.byteLength;
    return buf;
  };
  const take = (name: string): GPUBuffer => keep(name, tensor(name).data);
  const takeProjection = (name: string): { weight: GPUBuffer; format: MatmulBFormat } => {
    const t = tensor(name);
    if (!t.stored || opts.halfProjections === false) return { weight: keep(name, t.data), format: 'f32' };
    return { weight: keep(name, new Uint32Array(packHalf(t.data, t.stored).buffer)), format: t.stored === 'F16' ? 'f16' : 'bf16' };
  };
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
  const embed = take('model.embed_tokens.weight');
  const layers: GpuLayer[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const proj = {} as Record<ProjName, GpuLinear>;
    for (const name of Object.keys(dims) as ProjName[]) {
      const group = ['gate_proj', 'up_proj', 'down_proj'].includes(name) ? 'mlp' : 'self_attn';
      const [inDim, outDim] = dims[name];
      proj[name] = {
        ...takeProjection(`${p}${group}.${name}.weight`),
        compute,
        bias: hasBias[name] ? take(`${p}${group}.${name}.bias`) : null,
        in: inDim,
        out: outDim,
      };
    }
    layers.push({ inputNorm: take(`${p}input_layernorm.weight`), postNorm: take(`${p}post_attention_layernorm.weight`), proj });
  }
  const finalNorm = take('model.norm.weight');
  const lmHead = cfg.tieWordEmbeddings ? embed : take('lm_head.weight');
  return {
    embed, layers, finalNorm, lmHead, bytes,
    destroy: () => owned.forEach((b) => gpu.destroyBuffer(b)),
  };
}

// Exports a Hugging Face model folder, optionally with a PEFT LoRA adapter merged in or with a trained SAPT model's
// routed blocks, as the bytes of one ONNX file.
import { namingFolder, readJson, type FileSource } from '../io/files.ts';
import { ARCHITECTURE_NAMES, parseModelConfig, type ModelConfig } from '../model/config.ts';
import { readPeftAdapter, type PeftAdapter } from '../model/peft.ts';
import { readSaptModel, type SaptModel } from '../model/sapt-files.ts';
import { loadWeights } from '../model/weights.ts';
import { buildDecoderModel } from './decoder-graph.ts';
import { mergeAdapter } from './merge-lora.ts';
import { OPSET_VERSION, onnx } from './onnx-proto.ts';
import { checkProtobufLimit } from './size-limit.ts';

export interface ExportOptions {
  /** A PEFT adapter folder to merge into the base weights; without it the base model is exported. */
  adapter?: FileSource;
  /** A SAPT model folder (router_config.json, router.safetensors, adapters/<block>/): its blocks stay separate, mixed per example by its router. */
  sapt?: FileSource;
  /** Progress notes, one line each. */
  onNote?: (message: string) => void;
}

export interface OnnxExport {
  /** The serialized ModelProto. */
  bytes: Uint8Array;
  nodes: number;
  initializers: number;
  opset: number;
  config: ModelConfig;
}

function describeAdapter(adapter: PeftAdapter): string {
  const { rank, alpha, useRslora, targets } = adapter.config;
  return `r=${rank}, alpha=${alpha}${useRslora ? ', rsLoRA' : ''} on ${targets.join(', ')}`;
}

function describeSapt(sapt: SaptModel): string {
  return `${sapt.adapters.length} SAPT blocks (${sapt.config.blocks.join(', ')}; ${describeAdapter(sapt.adapters[0])}), routed by ${sapt.config.pool}-pooled prompt embeddings`;
}

/** What a model needs that the exported graph (decoder-graph.ts) does not build: empty for Llama, Qwen2, Qwen3 and SmolLM3. */
export function exportLacks(cfg: ModelConfig): string[] {
  const f = cfg.features;
  const rope = JSON.stringify(f.layers.find((l) => l.rope)?.rope ?? null);
  const lacks: [boolean, string][] = [
    [f.normOffset !== 0, 'RMSNorm with (1 + w)'],
    [f.sandwichNorms, 'the post-attention and pre/post-feedforward norms'],
    [f.mlpActivation !== 'silu', 'the GELU-tanh gated MLP'],
    [f.embedScale !== 1, 'the embedding scale'],
    [f.attentionScale !== 1 / Math.sqrt(cfg.headDim), 'an attention scale other than 1/sqrt(head_dim)'],
    [f.layers.some((l) => l.window !== 0), 'sliding-window attention'],
    [f.layers.some((l) => l.rope !== null && JSON.stringify(l.rope) !== rope), 'a RoPE base per layer'],
  ];
  return lacks.filter(([lacking]) => lacking).map(([, what]) => what);
}

/**
 * Reads config.json (unsupported architectures are refused there), refuses models over protobuf's 2 GiB
 * limit before reading weights, reads and checks the adapter, loads the weights as float32 (F16 and BF16
 * widened), merges W + scale · B · A and encodes the graph.
 */
export async function exportOnnx(model: FileSource, opts: ExportOptions = {}): Promise<OnnxExport> {
  const note = opts.onNote ?? (() => {});
  const config = await namingFolder(model, async () => parseModelConfig(await readJson(model, 'config.json'), 'config.json'));
  const lacking = exportLacks(config);
  if (lacking.length > 0) throw new Error(`ONNX export does not cover ${ARCHITECTURE_NAMES[config.arch]} yet: the graph lacks ${lacking.join(', ')}`);
  checkProtobufLimit(model.label, config);

  if (opts.adapter && opts.sapt) throw new Error('export takes an adapter to merge or a SAPT model, not both');
  let adapter: PeftAdapter | null = null;
  if (opts.adapter) {
    const src = opts.adapter;
    adapter = await namingFolder(src, () => readPeftAdapter(src, config));
  }
  let sapt: SaptModel | null = null;
  if (opts.sapt) {
    const src = opts.sapt;
    sapt = await namingFolder(src, () => readSaptModel(src, config));
    let extra = 0;
    for (const t of sapt.router.values()) extra += t.data.length;
    for (const a of sapt.adapters) for (const t of a.tensors.values()) extra += t.data.length;
    checkProtobufLimit(model.label, config, extra);
  }
  note(`reading the ${config.arch} weights of ${model.label}`);
  const base = await namingFolder(model, () => loadWeights(model, config));
  let weights = base;
  if (adapter) {
    note(`merging the LoRA adapter of ${opts.adapter!.label} (${describeAdapter(adapter)})`);
    weights = mergeAdapter(base, adapter, config);
  }

  let description = model.label;
  if (adapter) description = `${model.label} with the LoRA adapter ${opts.adapter!.label} merged (${describeAdapter(adapter)})`;
  if (sapt) {
    description = `${model.label} with ${describeSapt(sapt)} from ${opts.sapt!.label}`;
    note(`adding ${describeSapt(sapt)}`);
  }
  const built = buildDecoderModel(config, weights, description, sapt);
  note(`encoding ${built.nodes} nodes and ${built.initializers} initializers (${(built.weightBytes / 1e6).toFixed(1)} MB of float32 weights)`);
  const bytes = onnx.ModelProto.encode(built.model).finish();
  return { bytes, nodes: built.nodes, initializers: built.initializers, opset: OPSET_VERSION, config };
}

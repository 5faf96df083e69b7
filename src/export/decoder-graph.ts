// Assembles the ONNX ModelProto of a Llama or Qwen2 decoder from its config and float32 weights: input_ids [batch, sequence] to logits [batch, sequence, vocab],
// optionally with SAPT's routed LoRA blocks (then also prompt_mask [batch, sequence] in and routing [batch, blocks] out).
import { ARCHITECTURE_NAMES, ropeInverseFrequencies, type ModelConfig } from '../model/config.ts';
import { adapterLayers, type ProjName } from '../model/peft.ts';
import type { SaptModel } from '../model/sapt-files.ts';
import type { HostTensor } from '../model/weights.ts';
import { causalSelfAttention, headShapes, sequenceTensors, type HeadLayout } from './attention-ops.ts';
import { GraphBuilder } from './graph-builder.ts';
import { linear, rmsNorm, swiglu } from './layer-ops.ts';
import { IR_VERSION, OPSET_VERSION, type ModelProto } from './onnx-proto.ts';
import { INPUT_NAME, OUTPUT_NAME, PROMPT_MASK_NAME, ROUTING_NAME } from './io-names.ts';
import { routedLoraUpdate, routedRowScales, saptRouting } from './sapt-ops.ts';

export interface DecoderModel {
  model: ModelProto;
  nodes: number;
  initializers: number;
  /** Bytes of float32 weights in the initializers. */
  weightBytes: number;
}

/** Adds each Hugging Face tensor once, under its own name, the first time the graph reads it. */
function weightTable(g: GraphBuilder, weights: ReadonlyMap<string, HostTensor>) {
  const added = new Map<string, string>();
  const get = (name: string): string => {
    const known = added.get(name);
    if (known) return known;
    const t = weights.get(name);
    if (!t) throw new Error(`the weights have no ${name}`);
    const initializer = g.floatInitializer(name, t.shape, t.data);
    added.set(name, initializer);
    return initializer;
  };
  const optional = (name: string): string | null => (weights.has(name) ? get(name) : null);
  return { get, optional };
}

/** SAPT's blocks in the graph: the model, the per-row block scales, and which layers they adapt. */
interface RoutedBlocks {
  sapt: SaptModel;
  rowScales: string;
  layers: ReadonlySet<number>;
}

/** The Hugging Face decoder layer: x + attn(norm(x)), then x + mlp(norm(x)), on x [N, hidden]. */
function decoderLayer(
  g: GraphBuilder,
  w: ReturnType<typeof weightTable>,
  x: string,
  layer: number,
  cfg: ModelConfig,
  attention: { seq: ReturnType<typeof sequenceTensors>; shapes: ReturnType<typeof headShapes>; layout: HeadLayout },
  routed: RoutedBlocks | null,
): string {
  const p = `model.layers.${layer}`;
  const proj = (module: string, input: string) => {
    const base = linear(g, input, w.get(`${p}.${module}.weight`), w.optional(`${p}.${module}.bias`), `${p}.${module}`);
    const name = module.slice(module.indexOf('.') + 1) as ProjName;
    if (!routed || !routed.layers.has(layer) || !routed.sapt.lora.targets.includes(name)) return base;
    return routedLoraUpdate(g, routed.sapt, base, input, routed.rowScales, { layer, proj: name, module: `${p}.${module}` });
  };

  const attnIn = rmsNorm(g, x, w.get(`${p}.input_layernorm.weight`), cfg.rmsNormEps, `${p}.input_layernorm`);
  const qkv = { q: proj('self_attn.q_proj', attnIn), k: proj('self_attn.k_proj', attnIn), v: proj('self_attn.v_proj', attnIn) };
  const ops = {
    qkNorm: cfg.features.qkNorm ? { q: w.get(`${p}.self_attn.q_norm.weight`), k: w.get(`${p}.self_attn.k_norm.weight`), eps: cfg.rmsNormEps } : null,
    rope: cfg.features.layers[layer].rope !== null,
  };
  const context = causalSelfAttention(g, qkv, attention.seq, attention.shapes, attention.layout, `${p}.self_attn`, ops);
  const afterAttn = g.op('Add', [x, proj('self_attn.o_proj', context)], `${p}.attn_residual`);

  const mlpIn = rmsNorm(g, afterAttn, w.get(`${p}.post_attention_layernorm.weight`), cfg.rmsNormEps, `${p}.post_attention_layernorm`);
  const act = swiglu(g, proj('mlp.gate_proj', mlpIn), proj('mlp.up_proj', mlpIn), `${p}.mlp.act`);
  return g.op('Add', [afterAttn, proj('mlp.down_proj', act)], `${p}.mlp_residual`);
}

/**
 * The whole decoder as one graph with symbolic batch and sequence dims. `weights` holds every tensor
 * expectedWeightShapes(cfg) names (a single LoRA already merged); a tied head reads model.embed_tokens.weight.
 * With `sapt`, its router picks a mixture of its blocks per example from the prompt positions of prompt_mask,
 * and every adapted projection adds the mixed blocks' updates.
 */
export function buildDecoderModel(cfg: ModelConfig, weights: ReadonlyMap<string, HostTensor>, description: string, sapt: SaptModel | null = null): DecoderModel {
  const g = new GraphBuilder();
  const w = weightTable(g, weights);
  const H = cfg.hiddenSize;
  const layout: HeadLayout = { heads: cfg.numHeads, kvHeads: cfg.numKvHeads, headDim: cfg.headDim };

  const ids = g.input({ name: INPUT_NAME, elemType: 'int64', dims: ['batch', 'sequence'] });
  // One RoPE for every rotating layer (exportLacks refuses per-layer bases).
  const rope = cfg.features.layers.find((l) => l.rope)?.rope ?? { theta: cfg.ropeTheta, scaling: cfg.ropeScaling };
  const seq = sequenceTensors(g, ids, ropeInverseFrequencies({ headDim: cfg.headDim, ropeTheta: rope.theta, ropeScaling: rope.scaling }), cfg.maxPositionEmbeddings);
  const shapes = headShapes(g, seq, layout);

  const embedding = w.get('model.embed_tokens.weight');
  const embedded = g.op('Gather', [embedding, ids], 'model.embed_tokens', { axis: 0 });
  let routed: RoutedBlocks | null = null;
  if (sapt) {
    const promptMask = g.input({ name: PROMPT_MASK_NAME, elemType: 'int64', dims: ['batch', 'sequence'] });
    const routing = saptRouting(g, sapt, cfg, embedded, promptMask);
    if (routing !== ROUTING_NAME) throw new Error(`the routing output was named ${routing}, expected ${ROUTING_NAME}`);
    routed = { sapt, rowScales: routedRowScales(g, sapt, routing, seq.idsShape), layers: new Set(adapterLayers(sapt.lora, cfg)) };
  }
  let x = g.op('Reshape', [embedded, g.int64Constant([-1, H])], 'hidden_0');
  for (let layer = 0; layer < cfg.numLayers; layer++) x = decoderLayer(g, w, x, layer, cfg, { seq, shapes, layout }, routed);

  const normed = rmsNorm(g, x, w.get('model.norm.weight'), cfg.rmsNormEps, 'model.norm');
  const head = cfg.tieWordEmbeddings ? embedding : w.get('lm_head.weight');
  const flatLogits = linear(g, normed, head, null, 'lm_head');
  const logitsShape = g.op('Concat', [seq.idsShape, g.int64Constant([cfg.vocabSize])], 'logits_shape', { axis: 0 });
  const logits = g.op('Reshape', [flatLogits, logitsShape], OUTPUT_NAME);
  if (logits !== OUTPUT_NAME) throw new Error(`the output was named ${logits}, expected ${OUTPUT_NAME}`);
  g.output({ name: OUTPUT_NAME, elemType: 'float32', dims: ['batch', 'sequence', cfg.vocabSize] });
  if (sapt) g.output({ name: ROUTING_NAME, elemType: 'float32', dims: ['batch', sapt.adapters.length] });

  const model: ModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: 'clora',
    docString: description,
    graph: g.build(ARCHITECTURE_NAMES[cfg.arch]),
  };
  return { model, nodes: g.nodeCount, initializers: g.initializerCount, weightBytes: g.initializerBytes };
}

// SAPT's attentive selection as ONNX nodes: the prompt's masked pool of token embeddings, the shared query
// projector LayerNorm(SiLU(W_up W_down e)), the softmax over <k_j, x> / sqrt(d), and each adapted projection's
// routed update sum_j w_j · scale · B_j A_j x (the engine's src/engine/router.ts and lora-sites.ts).
import type { ModelConfig } from '../model/config.ts';
import { loraScale, peftKey, type ProjName } from '../model/peft.ts';
import { ROUTER_KEYS, type RouterPool, type SaptModel } from '../model/sapt-files.ts';
import type { GraphBuilder } from './graph-builder.ts';
import { ROUTING_NAME } from './io-names.ts';
import { linear } from './layer-ops.ts';
import { onnx } from './onnx-proto.ts';

/** The most negative float32: masked positions never win the max pool. */
const LOWEST = -3.4028234663852886e38;

/**
 * e [B, H]: the max or mean over positions t with mask[b, t] != 0 of embedded [B, T, H]; 0 for an example with no
 * such position (recordMaskedPool).
 */
function maskedPool(g: GraphBuilder, embedded: string, promptMask: string, pool: RouterPool): string {
  const isPrompt = g.op('Not', [g.op('Equal', [promptMask, g.int64Constant([0], [])], 'router.mask_zero')], 'router.mask');
  const isPrompt3 = g.op('Unsqueeze', [isPrompt, g.int64Constant([2])], 'router.mask3');
  const weight = g.op('Cast', [isPrompt3], 'router.mask_f', { to: onnx.TensorProto.DataType.FLOAT });
  const count = g.op('ReduceSum', [weight, g.int64Constant([1])], 'router.count', { keepdims: 0 });
  if (pool === 'mean') {
    const sum = g.op('ReduceSum', [g.op('Mul', [embedded, weight], 'router.masked'), g.int64Constant([1])], 'router.sum', { keepdims: 0 });
    return g.op('Div', [sum, g.op('Max', [count, g.floatScalar(1, 'router.one')], 'router.denominator')], 'router.pool');
  }
  const masked = g.op('Where', [isPrompt3, embedded, g.floatScalar(LOWEST, 'router.lowest')], 'router.masked');
  const max = g.op('ReduceMax', [masked], 'router.max', { axes: [1], keepdims: 0 });
  const any = g.op('Greater', [count, g.floatScalar(0, 'router.zero')], 'router.any');
  return g.op('Where', [any, max, g.floatScalar(0, 'router.zero')], 'router.pool');
}

/** y = (x - mean) / sqrt(var + eps) · gamma + beta over the last axis, biased variance (torch.nn.LayerNorm). */
function layerNorm(g: GraphBuilder, x: string, gamma: string, beta: string, eps: number, name: string): string {
  const mean = g.op('ReduceMean', [x], `${name}.mean`, { axes: [-1], keepdims: 1 });
  const centred = g.op('Sub', [x, mean], `${name}.centred`);
  const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred], `${name}.sq`)], `${name}.var`, { axes: [-1], keepdims: 1 });
  const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.floatScalar(eps, `${name}.eps`)], `${name}.var_eps`)], `${name}.std`)], `${name}.rstd`);
  return g.op('Add', [g.op('Mul', [g.op('Mul', [centred, rstd], `${name}.normed`), gamma], `${name}.scaled`), beta], name);
}

/**
 * The routing weights [B, J] of every example from the embedded tokens [B, T, H] and the int64 prompt mask [B, T]:
 * w = softmax(<keys, LN(SiLU(W_up W_down pool(embedded)))> / sqrt(H)).
 */
export function saptRouting(g: GraphBuilder, sapt: SaptModel, cfg: ModelConfig, embedded: string, promptMask: string): string {
  const t = (key: string) => {
    const tensor = sapt.router.get(key)!;
    return g.floatInitializer(key, tensor.shape, tensor.data);
  };
  const e = maskedPool(g, embedded, promptMask, sapt.config.pool);
  const h1 = linear(g, e, t(ROUTER_KEYS.down), null, 'router.down');
  const h2 = linear(g, h1, t(ROUTER_KEYS.up), null, 'router.up');
  const silu = g.op('Mul', [h2, g.op('Sigmoid', [h2], 'router.sigmoid')], 'router.silu');
  const query = layerNorm(g, silu, t(ROUTER_KEYS.normWeight), t(ROUTER_KEYS.normBias), sapt.config.normEps, 'router.norm');
  const scores = g.op('Mul', [linear(g, query, t(ROUTER_KEYS.keys), null, 'router.dot'), g.floatScalar(1 / Math.sqrt(cfg.hiddenSize), 'router.inv_sqrt_d')], 'router.scores');
  return g.op('Softmax', [scores], ROUTING_NAME, { axis: -1 });
}

/**
 * Per flattened token row, each block's weight times the LoRA scale, repeated over the block's rank:
 * [B·T, J·r] from w [B, J] and the input's shape [B, T].
 */
export function routedRowScales(g: GraphBuilder, sapt: SaptModel, routing: string, idsShape: string): string {
  const J = sapt.adapters.length;
  const r = sapt.lora.rank;
  const scaled = g.op('Mul', [routing, g.floatScalar(loraScale(sapt.lora), 'lora.scale')], 'routing.scaled');
  const perBlock = g.op('Unsqueeze', [scaled, g.int64Constant([1, 3])], 'routing.b1j1');
  const shape = g.op('Concat', [idsShape, g.int64Constant([J, r])], 'routing.btjr_shape', { axis: 0 });
  const expanded = g.op('Expand', [perBlock, shape], 'routing.btjr');
  return g.op('Reshape', [expanded, g.int64Constant([-1, J * r])], 'routing.rows');
}

/** Every block's A stacked [J·r, in] and B side by side [out, J·r], so one Gemm each covers all blocks. */
function stackedBlocks(sapt: SaptModel, layer: number, proj: ProjName): { a: Float32Array; b: Float32Array; rows: number; inDim: number; out: number } {
  const r = sapt.lora.rank;
  const J = sapt.adapters.length;
  const a0 = sapt.adapters[0].tensors.get(peftKey(layer, proj, 'A'))!;
  const b0 = sapt.adapters[0].tensors.get(peftKey(layer, proj, 'B'))!;
  const inDim = a0.shape[1];
  const out = b0.shape[0];
  const a = new Float32Array(J * r * inDim);
  const b = new Float32Array(out * J * r);
  sapt.adapters.forEach((adapter, j) => {
    a.set(adapter.tensors.get(peftKey(layer, proj, 'A'))!.data, j * r * inDim);
    const bj = adapter.tensors.get(peftKey(layer, proj, 'B'))!.data;
    for (let o = 0; o < out; o++) b.set(bj.subarray(o * r, (o + 1) * r), o * J * r + j * r);
  });
  return { a, b, rows: J * r, inDim, out };
}

/** base + ((x A_allᵀ) ⊙ rowScales) B_allᵀ: the projection's output plus every block's update weighted by its routing. */
export function routedLoraUpdate(g: GraphBuilder, sapt: SaptModel, base: string, x: string, rowScales: string,
  site: { layer: number; proj: ProjName; module: string }): string {
  const s = stackedBlocks(sapt, site.layer, site.proj);
  const a = g.floatInitializer(`${site.module}.lora_A.blocks`, [s.rows, s.inDim], s.a);
  const b = g.floatInitializer(`${site.module}.lora_B.blocks`, [s.out, s.rows], s.b);
  const down = linear(g, x, a, null, `${site.module}.lora_down`);
  const weighted = g.op('Mul', [down, rowScales], `${site.module}.lora_routed`);
  return g.op('Add', [base, linear(g, weighted, b, null, `${site.module}.lora_up`)], `${site.module}.with_lora`);
}

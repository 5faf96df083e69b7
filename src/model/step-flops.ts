// The analytic floating-point work of a forward pass and of a LoRA training step, from the model's shapes alone: the
// matrix products and the causal attention, which are nearly all of it. The plan profiler prints it beside the total
// of the recorded dispatches' annotations, and a test holds the two equal, so neither a kernel's annotation nor the
// plan's structure can drift unnoticed. Conventions as in src/gpu/dispatch-cost.ts (a multiply-add is 2).
import type { ModelConfig } from './config.ts';
import type { ProjName } from './peft.ts';

export interface FlopsShape {
  batchSize: number;
  seqLen: number;
  rank: number;
  targets: readonly ProjName[];
  /** Layers with LoRA (null: all). */
  layers?: readonly number[] | null;
  /** Layer recomputation in the backward pass. */
  recompute: boolean;
}

const PROJS: readonly ProjName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

function projDims(cfg: ModelConfig): Record<ProjName, { in: number; out: number }> {
  const H = cfg.hiddenSize, I = cfg.intermediateSize, q = cfg.numHeads * cfg.headDim, kv = cfg.numKvHeads * cfg.headDim;
  return {
    q_proj: { in: H, out: q }, k_proj: { in: H, out: kv }, v_proj: { in: H, out: kv }, o_proj: { in: q, out: H },
    gate_proj: { in: H, out: I }, up_proj: { in: H, out: I }, down_proj: { in: I, out: H },
  };
}

/**
 * Matmul and attention FLOPs of one pass. forward: every layer and the head over all rows. train: the forward, the
 * head's input gradient, then from the top layer down to the lowest adapted one: each adapted projection's dB, d u and
 * dA, each projection's input gradient where a lower layer or an earlier part of the layer still needs it (with the
 * LoRA branch's share), the attention backward where q, k, v or a lower layer need it, and with recomputation each
 * layer's forward again (but the top one) without the down projection's output.
 */
export function analyticFlops(cfg: ModelConfig, s: FlopsShape, mode: 'forward' | 'train'): number {
  const N = s.batchSize * s.seqLen;
  const T = s.seqLen;
  const dims = projDims(cfg);
  const r = s.rank;
  const pairs = s.batchSize * cfg.numHeads * (T * (T + 1)) / 2;
  const adaptedLayer = (l: number) => s.layers == null || s.layers.includes(l);
  const adapted = (l: number, p: ProjName) => adaptedLayer(l) && s.targets.includes(p);
  const projForward = (l: number, p: ProjName) => 2 * N * dims[p].in * dims[p].out + (adapted(l, p) ? 2 * N * r * (dims[p].in + dims[p].out) : 0);
  const layerForward = (l: number) => PROJS.reduce((f, p) => f + projForward(l, p), 0) + 4 * cfg.headDim * pairs;
  const head = 2 * N * cfg.vocabSize * cfg.hiddenSize;

  let flops = head;
  for (let l = 0; l < cfg.numLayers; l++) flops += layerForward(l);
  if (mode === 'forward') return flops;

  flops += head; // d hidden = d logits · W
  let lowest = cfg.numLayers;
  for (let l = 0; l < cfg.numLayers; l++) if (s.targets.length > 0 && adaptedLayer(l)) { lowest = l; break; }
  for (let l = cfg.numLayers - 1; l >= lowest; l--) {
    if (s.recompute && l < cfg.numLayers - 1) {
      const down = dims.down_proj;
      flops += layerForward(l) - projForward(l, 'down_proj') + (adapted(l, 'down_proj') ? 2 * N * r * down.in : 0);
    }
    const below = l > lowest;
    const has = (...ps: ProjName[]) => ps.some((p) => adapted(l, p));
    const needAttnInner = below || has('q_proj', 'k_proj', 'v_proj');
    const needMidGrad = needAttnInner || has('o_proj');
    const needMlpInner = needMidGrad || has('gate_proj', 'up_proj');
    const proj = (p: ProjName, needDx: boolean) => {
      const d = dims[p];
      let f = adapted(l, p) ? 2 * N * r * (2 * d.out + d.in) : 0; // dB, d u, dA
      if (needDx) f += 2 * N * d.in * d.out + (adapted(l, p) ? 2 * N * r * d.in : 0);
      return f;
    };
    flops += proj('down_proj', needMlpInner);
    if (needMlpInner) flops += proj('gate_proj', needMidGrad) + proj('up_proj', needMidGrad);
    if (!needMidGrad) continue;
    flops += proj('o_proj', needAttnInner);
    if (!needAttnInner) continue;
    flops += 14 * cfg.headDim * pairs; // the dq pass (6 per pair and dim) and the dk/dv pass (8)
    flops += proj('q_proj', below) + proj('k_proj', below) + proj('v_proj', below);
  }
  return flops;
}

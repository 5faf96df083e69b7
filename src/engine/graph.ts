// Builds the transformer's GPU plan for one batch shape: forward (embedding, SAPT routing, decoder
// layers with the adapter bank's LoRA blocks, final norm, logits or a classification head), the
// masked cross-entropy (plus LwF distillation), and the backward pass into the bank's gradients.
// Activation buffers are allocated here once; a step only writes token ids, targets and the
// per-step uniforms, replays the plan and reads back the loss. The optimizer is a separate plan.
import { type BufferRef, type Gpu } from '../gpu/context.ts';
import { Plan } from '../gpu/plan.ts';
import { StepParams } from '../gpu/step-params.ts';
import { recordAttentionBackward, recordAttentionForward } from '../gpu/kernels/flash-attention.ts';
import { recordAccumulate, recordAdd, recordSwigluBackward, recordSwigluForward } from '../gpu/kernels/elementwise.ts';
import { recordDistill } from '../gpu/kernels/distill.ts';
import { recordEmbeddingForward } from '../gpu/kernels/embedding.ts';
import { recordCrossEntropy } from '../gpu/kernels/loss.ts';
import { recordMatmul } from '../gpu/kernels/matmul.ts';
import { recordRmsNormBackward, recordRmsNormForward } from '../gpu/kernels/rmsnorm.ts';
import { recordRope, ropeTables, type RopeTables } from '../gpu/kernels/rope.ts';
import { ropeInverseFrequencies, type ModelConfig } from '../model/config.ts';
import type { ProjName } from '../model/peft.ts';
import { HEAD_KEY, type Bank } from './bank.ts';
import type { GpuWeights } from './gpu-weights.ts';
import { LoraSites } from './lora-sites.ts';
import { allocRouterBuffers, recordRouterBackward, recordRouterForward } from './router.ts';

/**
 * forward: logits only. loss: logits and the mean loss. grad: also the bank's gradients.
 * train: gradients with LoRA dropout active (the optimizer plan runs after it).
 */
export type PlanMode = 'forward' | 'loss' | 'grad' | 'train';

export interface ModelPlan {
  mode: PlanMode;
  batch: number;
  seq: number;
  plan: Plan;
  /** [batch * seq] u32 token ids. */
  ids: GPUBuffer;
  /** [batch * seq] i32 next-token targets (already shifted), -1 where ignored. */
  targets: GPUBuffer;
  /** [batch * seq, vocab] logits (overwritten by their gradient in grad and train modes). */
  logits: BufferRef;
  /** One float: the mean loss over counted targets. */
  loss: BufferRef;
  /** [batch * seq] u32, 1 on prompt tokens: what SAPT's router pools over (when the bank has a router). */
  promptMask: BufferRef | null;
  /** [batch, J] block mixture: written by the caller when the bank has several blocks and no router; the router's output otherwise. */
  mix: BufferRef | null;
  /** [batch * seq, vocab] the teacher's logits for LwF distillation (when distilling). */
  teacher: BufferRef | null;
  /** Per layer, the keys (after RoPE) and values of every position: a KV cache's prefill. */
  kv: { k: BufferRef; v: BufferRef }[];
  /** Width of the logits: the vocabulary, or the head's classes. */
  width: number;
  bytes: number;
  destroy(): void;
}

export interface GraphModel {
  cfg: ModelConfig;
  weights: GpuWeights;
  bank: Bank | null;
  step: StepParams;
  /** LwF: distil the teacher's logits (copied into plan.teacher before each step) into the loss. */
  distill?: { temperature: number; weight: number } | null;
}

export function buildModelPlan(gpu: Gpu, model: GraphModel, mode: PlanMode, batch: number, seq: number): ModelPlan {
  const { cfg, weights, bank } = model;
  const N = batch * seq;
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const D = cfg.headDim;
  const qDim = cfg.numHeads * D;
  const kvDim = cfg.numKvHeads * D;
  const backward = mode === 'grad' || mode === 'train';
  if (backward && !bank) throw new Error('training needs a LoRA adapter: the base weights are frozen');
  const dropout = mode === 'train' && bank ? bank.spec.lora.dropout : 0;
  const head = bank?.spec.head ?? null;
  const V = head ? head.classes : cfg.vocabSize;
  const distill = mode !== 'forward' && model.distill ? model.distill : null;
  if (distill && head) throw new Error('distillation applies to the language-model head only');

  const owned: GPUBuffer[] = [];
  let bytes = 0;
  const buf = (label: string, floats: number): BufferRef => {
    const b = gpu.createBuffer(label, floats * 4);
    owned.push(b);
    bytes += b.size;
    return { buffer: b, offset: 0, size: floats * 4 };
  };
  const plan = new Plan(`model.${mode}.${batch}x${seq}`);

  // Inputs.
  const ids = buf('ids', N).buffer;
  const targets = buf('targets', N).buffer;
  const positions = buf('positions', N);
  gpu.write(positions, Uint32Array.from({ length: N }, (_, n) => n % seq));
  const t = ropeTables(ropeInverseFrequencies(cfg), seq);
  const tablesCos = buf('rope.cos', t.cos.length);
  const tablesSin = buf('rope.sin', t.sin.length);
  gpu.write(tablesCos, t.cos);
  gpu.write(tablesSin, t.sin);
  const tables: RopeTables = { cos: tablesCos, sin: tablesSin };

  // Saved activations, one set per layer; the residual stream has numLayers + 1 entries.
  const resid = Array.from({ length: cfg.numLayers + 1 }, (_, l) => buf(`resid.${l}`, N * H));
  const acts = Array.from({ length: cfg.numLayers }, (_, l) => ({
    h1: buf(`l${l}.h1`, N * H), rstd1: buf(`l${l}.rstd1`, N),
    q: buf(`l${l}.q`, N * qDim), k: buf(`l${l}.k`, N * kvDim), v: buf(`l${l}.v`, N * kvDim),
    lse: buf(`l${l}.attn_lse`, batch * cfg.numHeads * seq), ctx: buf(`l${l}.ctx`, N * qDim), o: buf(`l${l}.o`, N * H),
    mid: buf(`l${l}.mid`, N * H), h2: buf(`l${l}.h2`, N * H), rstd2: buf(`l${l}.rstd2`, N),
    gate: buf(`l${l}.gate`, N * I), up: buf(`l${l}.up`, N * I), act: buf(`l${l}.act`, N * I), down: buf(`l${l}.down`, N * H),
  }));
  const hf = buf('final.h', N * H);
  const rstdF = buf('final.rstd', N);
  const logits = buf('logits', N * V);
  const rowLoss = buf('row_loss', N);
  const loss = buf('loss', 1);
  const teacher = distill ? buf('teacher.logits', N * V) : null;

  // Routing: SAPT computes the block mixture on the GPU; otherwise the caller writes it.
  const J = bank?.blocks ?? 1;
  const router = bank?.spec.router ? allocRouterBuffers(bank, batch, buf, backward) : null;
  const promptMask = router ? buf('prompt_mask', N) : null;
  const mix = router ? router.w : bank && J > 1 ? buf('mix', batch * J) : null;
  const dmix = router && backward ? buf('d.mix', batch * J) : null;
  const sites = bank
    ? new LoraSites({ gpu, plan, bank, tokens: N, seq, dropout, step: model.step.buffer, backward, mix, dmix, alloc: buf })
    : null;

  const linearForward = (l: number, proj: ProjName, x: BufferRef, out: BufferRef) => {
    const lin = weights.layers[l].proj[proj];
    recordMatmul(gpu, plan, { a: x, b: lin.weight, c: out, M: N, N: lin.out, K: lin.in, transB: true, bias: lin.bias ?? undefined }, `l${l}.${proj}`);
    sites?.forward(l, proj, x, out);
  };

  // Forward.
  recordEmbeddingForward(gpu, plan, { tokens: N, cols: H }, { ids, table: weights.embed, out: resid[0] });
  if (router && bank) recordRouterForward(gpu, plan, bank, router, { embed: resid[0], mask: promptMask!, seq });
  const normShape = { rows: N, cols: H, eps: cfg.rmsNormEps };
  const attnShape = { batch, seq, heads: cfg.numHeads, kvHeads: cfg.numKvHeads, headDim: D };
  for (let l = 0; l < cfg.numLayers; l++) {
    const a = acts[l];
    const w = weights.layers[l];
    recordRmsNormForward(gpu, plan, normShape, { x: resid[l], w: w.inputNorm, y: a.h1, rstd: a.rstd1 }, `l${l}.input_norm`);
    linearForward(l, 'q_proj', a.h1, a.q);
    linearForward(l, 'k_proj', a.h1, a.k);
    linearForward(l, 'v_proj', a.h1, a.v);
    recordRope(gpu, plan, 'forward', { tokens: N, heads: cfg.numHeads, headDim: D }, { x: a.q, positions, tables }, `l${l}.rope_q`);
    recordRope(gpu, plan, 'forward', { tokens: N, heads: cfg.numKvHeads, headDim: D }, { x: a.k, positions, tables }, `l${l}.rope_k`);
    recordAttentionForward(gpu, plan, attnShape, { q: a.q, k: a.k, v: a.v, out: a.ctx, lse: a.lse }, `l${l}.attn`);
    linearForward(l, 'o_proj', a.ctx, a.o);
    recordAdd(gpu, plan, N * H, { a: resid[l], b: a.o, out: a.mid }, `l${l}.resid_attn`);
    recordRmsNormForward(gpu, plan, normShape, { x: a.mid, w: w.postNorm, y: a.h2, rstd: a.rstd2 }, `l${l}.post_norm`);
    linearForward(l, 'gate_proj', a.h2, a.gate);
    linearForward(l, 'up_proj', a.h2, a.up);
    recordSwigluForward(gpu, plan, N * I, { gate: a.gate, up: a.up, act: a.act }, `l${l}.swiglu`);
    linearForward(l, 'down_proj', a.act, a.down);
    recordAdd(gpu, plan, N * H, { a: a.mid, b: a.down, out: resid[l + 1] }, `l${l}.resid_mlp`);
  }
  const xL = resid[cfg.numLayers];
  recordRmsNormForward(gpu, plan, normShape, { x: xL, w: weights.finalNorm, y: hf, rstd: rstdF }, 'final_norm');
  const headWeight = head && bank ? bank.params.ref(bank.params.params, HEAD_KEY) : weights.lmHead;
  recordMatmul(gpu, plan, { a: hf, b: headWeight, c: logits, M: N, N: V, K: H, transB: true }, head ? 'head' : 'lm_head');
  if (distill && teacher) {
    // Reads the student logits before the cross-entropy overwrites them with their gradient.
    recordDistill(gpu, plan, { rows: N, vocab: V, temperature: distill.temperature, weight: distill.weight },
      { step: model.step.buffer, student: logits, teacher, targets }, 'distill');
  }
  if (mode !== 'forward') {
    recordCrossEntropy(gpu, plan, { rows: N, vocab: V, writeGrad: backward },
      { step: model.step.buffer, logits, targets, rowLoss, loss }, 'cross_entropy');
  }
  if (distill && teacher && backward) recordAccumulate(gpu, plan, N * V, { b: teacher, dx: logits }, 'distill.grad');

  if (backward && bank && sites) {
    // Shared backward scratch.
    const dX = buf('d.resid', N * H);
    const dh = buf('d.h', N * H);
    const dq = buf('d.q', N * qDim);
    const dk = buf('d.k', N * kvDim);
    const dv = buf('d.v', N * kvDim);
    const dctx = buf('d.ctx', N * qDim);
    const attnDelta = buf('d.attn_delta', batch * cfg.numHeads * seq);
    const dgate = buf('d.gate', N * I);
    const dup = buf('d.up', N * I);
    const dact = buf('d.act', N * I);
    if (dmix) plan.clear(dmix.buffer, dmix.offset, dmix.size);

    /** LoRA grads of one projection, and dx (=, or += when accumulate) of its input when wanted. */
    const linearBackward = (l: number, proj: ProjName, dy: BufferRef, x: BufferRef, dx: BufferRef | null, accumulate: boolean) => {
      sites.backwardGrads(l, proj, dy, x);
      if (!dx) return;
      const lin = weights.layers[l].proj[proj];
      recordMatmul(gpu, plan, { a: dy, b: lin.weight, c: dx, M: N, N: lin.in, K: lin.out, beta: accumulate ? 1 : 0 }, `l${l}.${proj}.bwd.dx`);
      sites.backwardDx(l, proj, dx);
    };

    // d logits (already in place) -> head gradient -> d final hidden -> d residual.
    if (head && bank.trainSelection.head) {
      recordMatmul(gpu, plan, { a: logits, b: hf, c: bank.params.ref(bank.params.trainingBuffers.grads, HEAD_KEY), M: V, N: H, K: N, transA: true }, 'head.bwd.dw');
    }
    recordMatmul(gpu, plan, { a: logits, b: headWeight, c: dh, M: N, N: H, K: V }, head ? 'head.bwd' : 'lm_head.bwd');
    recordRmsNormBackward(gpu, plan, normShape, { x: xL, w: weights.finalNorm, rstd: rstdF, dy: dh, dx: dX, accumulate: false }, 'final_norm.bwd');

    const has = (l: number, ...projs: ProjName[]) => sites.has(l, ...projs);
    const lowest = Math.min(cfg.numLayers, sites.lowestLayer);
    for (let l = cfg.numLayers - 1; l >= lowest; l--) {
      const a = acts[l];
      const w = weights.layers[l];
      // Skip the parts of the backward pass that feed no LoRA gradient.
      const needBelow = l > lowest;
      const needAttnInner = needBelow || has(l, 'q_proj', 'k_proj', 'v_proj');
      const needMidGrad = needAttnInner || has(l, 'o_proj');
      const needMlpInner = needMidGrad || has(l, 'gate_proj', 'up_proj');

      linearBackward(l, 'down_proj', dX, a.act, needMlpInner ? dact : null, false);
      if (needMlpInner) {
        recordSwigluBackward(gpu, plan, N * I, { gate: a.gate, up: a.up, dAct: dact, dGate: dgate, dUp: dup }, `l${l}.swiglu.bwd`);
        linearBackward(l, 'gate_proj', dgate, a.h2, needMidGrad ? dh : null, false);
        linearBackward(l, 'up_proj', dup, a.h2, needMidGrad ? dh : null, true);
      }
      if (!needMidGrad) continue;
      recordRmsNormBackward(gpu, plan, normShape, { x: a.mid, w: w.postNorm, rstd: a.rstd2, dy: dh, dx: dX, accumulate: true }, `l${l}.post_norm.bwd`);
      linearBackward(l, 'o_proj', dX, a.ctx, needAttnInner ? dctx : null, false);
      if (!needAttnInner) continue;
      recordAttentionBackward(gpu, plan, attnShape,
        { q: a.q, k: a.k, v: a.v, out: a.ctx, lse: a.lse, dOut: dctx, delta: attnDelta, dq, dk, dv }, `l${l}.attn.bwd`);
      recordRope(gpu, plan, 'backward', { tokens: N, heads: cfg.numHeads, headDim: D }, { x: dq, positions, tables }, `l${l}.rope_q.bwd`);
      recordRope(gpu, plan, 'backward', { tokens: N, heads: cfg.numKvHeads, headDim: D }, { x: dk, positions, tables }, `l${l}.rope_k.bwd`);
      linearBackward(l, 'q_proj', dq, a.h1, needBelow ? dh : null, false);
      linearBackward(l, 'k_proj', dk, a.h1, needBelow ? dh : null, true);
      linearBackward(l, 'v_proj', dv, a.h1, needBelow ? dh : null, true);
      if (needBelow) {
        recordRmsNormBackward(gpu, plan, normShape, { x: resid[l], w: w.inputNorm, rstd: a.rstd1, dy: dh, dx: dX, accumulate: true }, `l${l}.input_norm.bwd`);
      }
    }
    if (router && dmix && bank.trainSelection.router) recordRouterBackward(gpu, plan, bank, router, { dmix, klScale: 0 }, false);
  }

  return {
    mode, batch, seq, plan, ids, targets, logits, loss, promptMask, mix, teacher, width: V, bytes,
    kv: acts.map((a) => ({ k: a.k, v: a.v })),
    destroy: () => owned.forEach((b) => gpu.destroyBuffer(b)),
  };
}

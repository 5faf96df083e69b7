// Builds the transformer's GPU plan for one batch shape: forward (embedding, decoder layers with
// LoRA, final norm, logits), the masked cross-entropy, the backward pass into the LoRA gradients,
// and the AdamW update. Activation buffers are allocated here once; a step only writes token ids,
// targets and the per-step uniforms, replays the plan and reads back the loss.
import { type BufferRef, type Gpu } from '../gpu/context.ts';
import { Plan } from '../gpu/plan.ts';
import { StepParams } from '../gpu/step-params.ts';
import { recordAdamW } from '../gpu/kernels/adamw.ts';
import { recordAttentionBackward, recordAttentionForward } from '../gpu/kernels/attention.ts';
import { recordAdd, recordDropoutBackwardAdd, recordDropoutForward, recordSwigluBackward, recordSwigluForward } from '../gpu/kernels/elementwise.ts';
import { recordEmbeddingForward } from '../gpu/kernels/embedding.ts';
import { recordCrossEntropy } from '../gpu/kernels/loss.ts';
import { recordMatmul } from '../gpu/kernels/matmul.ts';
import { recordRmsNormBackward, recordRmsNormForward } from '../gpu/kernels/rmsnorm.ts';
import { recordRope, ropeTables, type RopeTables } from '../gpu/kernels/rope.ts';
import { ropeInverseFrequencies, type ModelConfig } from '../model/config.ts';
import { PROJ_NAMES, loraScale, peftKey, type LoraConfig, type ProjName } from '../model/peft.ts';
import type { GpuLinear, GpuWeights } from './gpu-weights.ts';
import type { LoraParams } from './lora-params.ts';

/**
 * forward: logits only. loss: logits and the mean loss. grad: also the LoRA gradients.
 * train: also the AdamW update (with LoRA dropout active).
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
  /** [norm, scale] of the last clipping (train mode). */
  clip: BufferRef | null;
  bytes: number;
  destroy(): void;
}

export interface GraphModel {
  cfg: ModelConfig;
  weights: GpuWeights;
  lora: { config: LoraConfig; params: LoraParams } | null;
  step: StepParams;
}

interface LoraSite {
  A: BufferRef;
  B: BufferRef;
  dA: BufferRef | null;
  dB: BufferRef | null;
  /** [N, r] x Aᵀ, saved for dB. */
  u: BufferRef;
  /** The dropped-out input, when dropout is active. */
  xd: BufferRef | null;
  salt: number;
}

export function buildModelPlan(gpu: Gpu, model: GraphModel, mode: PlanMode, batch: number, seq: number): ModelPlan {
  const { cfg, weights } = model;
  const N = batch * seq;
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const V = cfg.vocabSize;
  const D = cfg.headDim;
  const qDim = cfg.numHeads * D;
  const kvDim = cfg.numKvHeads * D;
  const backward = mode === 'grad' || mode === 'train';
  const lora = model.lora;
  if (backward && !lora) throw new Error('training needs a LoRA adapter: the base weights are frozen');
  const dropout = mode === 'train' && lora ? lora.config.dropout : 0;
  const scale = lora ? loraScale(lora.config) : 0;
  const rank = lora ? lora.config.rank : 0;

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
    probs: buf(`l${l}.probs`, batch * cfg.numHeads * seq * seq), ctx: buf(`l${l}.ctx`, N * qDim), o: buf(`l${l}.o`, N * H),
    mid: buf(`l${l}.mid`, N * H), h2: buf(`l${l}.h2`, N * H), rstd2: buf(`l${l}.rstd2`, N),
    gate: buf(`l${l}.gate`, N * I), up: buf(`l${l}.up`, N * I), act: buf(`l${l}.act`, N * I), down: buf(`l${l}.down`, N * H),
  }));
  const hf = buf('final.h', N * H);
  const rstdF = buf('final.rstd', N);
  const logits = buf('logits', N * V);
  const rowLoss = buf('row_loss', N);
  const loss = buf('loss', 1);

  // LoRA sites: where each adapted projection reads its A/B and keeps its saved intermediates.
  const sites = new Map<string, LoraSite>();
  if (lora) {
    const grads = backward ? lora.params.trainingBuffers.grads : null;
    for (const [key] of lora.params.slots) {
      const m = /layers\.(\d+)\.\w+\.(\w+_proj)\.lora_A\.weight$/.exec(key);
      if (!m) continue;
      const l = Number(m[1]);
      const proj = m[2] as ProjName;
      const bKey = peftKey(l, proj, 'B');
      const inDim = weights.layers[l].proj[proj].in;
      sites.set(`${l}.${proj}`, {
        A: lora.params.ref(lora.params.params, key),
        B: lora.params.ref(lora.params.params, bKey),
        dA: grads ? lora.params.ref(grads, key) : null,
        dB: grads ? lora.params.ref(grads, bKey) : null,
        u: buf(`l${l}.${proj}.lora_u`, N * rank),
        xd: dropout > 0 ? buf(`l${l}.${proj}.lora_xd`, N * inDim) : null,
        salt: l * PROJ_NAMES.length + PROJ_NAMES.indexOf(proj),
      });
    }
  }
  const site = (l: number, proj: ProjName) => sites.get(`${l}.${proj}`) ?? null;

  const linearForward = (l: number, proj: ProjName, x: BufferRef, out: BufferRef) => {
    const lin = weights.layers[l].proj[proj];
    const label = `l${l}.${proj}`;
    recordMatmul(gpu, plan, { a: x, b: lin.weight, c: out, M: N, N: lin.out, K: lin.in, transB: true, bias: lin.bias ?? undefined }, label);
    const s = site(l, proj);
    if (!s) return;
    let xin = x;
    if (s.xd) {
      recordDropoutForward(gpu, plan, { n: N * lin.in, pDrop: dropout, salt: s.salt, step: model.step.buffer }, { x, y: s.xd }, `${label}.lora_dropout`);
      xin = s.xd;
    }
    recordMatmul(gpu, plan, { a: xin, b: s.A, c: s.u, M: N, N: rank, K: lin.in, transB: true }, `${label}.lora_A`);
    recordMatmul(gpu, plan, { a: s.u, b: s.B, c: out, M: N, N: lin.out, K: rank, transB: true, alpha: scale, beta: 1 }, `${label}.lora_B`);
  };

  // Forward.
  recordEmbeddingForward(gpu, plan, { tokens: N, cols: H }, { ids, table: weights.embed, out: resid[0] });
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
    recordAttentionForward(gpu, plan, attnShape, { q: a.q, k: a.k, v: a.v, probs: a.probs, out: a.ctx }, `l${l}.attn`);
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
  recordMatmul(gpu, plan, { a: hf, b: weights.lmHead, c: logits, M: N, N: V, K: H, transB: true }, 'lm_head');
  if (mode !== 'forward') {
    recordCrossEntropy(gpu, plan, { rows: N, vocab: V, writeGrad: backward },
      { step: model.step.buffer, logits, targets, rowLoss, loss }, 'cross_entropy');
  }

  let clip: BufferRef | null = null;
  if (backward && lora) {
    // Shared backward scratch.
    const dX = buf('d.resid', N * H);
    const dh = buf('d.h', N * H);
    const dq = buf('d.q', N * qDim);
    const dk = buf('d.k', N * kvDim);
    const dv = buf('d.v', N * kvDim);
    const dctx = buf('d.ctx', N * qDim);
    const dScores = buf('d.scores', batch * cfg.numHeads * seq * seq);
    const dgate = buf('d.gate', N * I);
    const dup = buf('d.up', N * I);
    const dact = buf('d.act', N * I);
    const du = buf('d.lora_u', N * rank);
    const dxd = dropout > 0 ? buf('d.lora_xd', N * Math.max(H, I, qDim)) : null;

    /** LoRA grads of one projection, and dx (=, or += when accumulate) of its input when wanted. */
    const linearBackward = (l: number, proj: ProjName, dy: BufferRef, x: BufferRef, dx: BufferRef | null, accumulate: boolean) => {
      const lin: GpuLinear = weights.layers[l].proj[proj];
      const label = `l${l}.${proj}.bwd`;
      const s = site(l, proj);
      if (s) {
        const xin = s.xd ?? x;
        recordMatmul(gpu, plan, { a: dy, b: s.u, c: s.dB!, M: lin.out, N: rank, K: N, transA: true, alpha: scale }, `${label}.dB`);
        recordMatmul(gpu, plan, { a: dy, b: s.B, c: du, M: N, N: rank, K: lin.out, alpha: scale }, `${label}.du`);
        recordMatmul(gpu, plan, { a: du, b: xin, c: s.dA!, M: rank, N: lin.in, K: N, transA: true }, `${label}.dA`);
      }
      if (!dx) return;
      recordMatmul(gpu, plan, { a: dy, b: lin.weight, c: dx, M: N, N: lin.in, K: lin.out, beta: accumulate ? 1 : 0 }, `${label}.dx`);
      if (!s) return;
      if (s.xd && dxd) {
        const scratch = { buffer: dxd.buffer, offset: 0, size: N * lin.in * 4 };
        recordMatmul(gpu, plan, { a: du, b: s.A, c: scratch, M: N, N: lin.in, K: rank }, `${label}.lora_dx`);
        recordDropoutBackwardAdd(gpu, plan, { n: N * lin.in, pDrop: dropout, salt: s.salt, step: model.step.buffer }, { dy: scratch, dx }, `${label}.lora_dropout`);
      } else {
        recordMatmul(gpu, plan, { a: du, b: s.A, c: dx, M: N, N: lin.in, K: rank, beta: 1 }, `${label}.lora_dx`);
      }
    };

    // d logits (already in place) -> d final hidden -> d residual.
    recordMatmul(gpu, plan, { a: logits, b: weights.lmHead, c: dh, M: N, N: H, K: V }, 'lm_head.bwd');
    recordRmsNormBackward(gpu, plan, normShape, { x: xL, w: weights.finalNorm, rstd: rstdF, dy: dh, dx: dX, accumulate: false }, 'final_norm.bwd');

    const has = (l: number, ...projs: ProjName[]) => projs.some((p) => sites.has(`${l}.${p}`));
    let lowest = cfg.numLayers;
    for (let l = 0; l < cfg.numLayers; l++) if (has(l, ...PROJ_NAMES)) { lowest = l; break; }
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
      recordAttentionBackward(gpu, plan, attnShape, { q: a.q, k: a.k, v: a.v, probs: a.probs, dOut: dctx, dScores, dq, dk, dv }, `l${l}.attn.bwd`);
      recordRope(gpu, plan, 'backward', { tokens: N, heads: cfg.numHeads, headDim: D }, { x: dq, positions, tables }, `l${l}.rope_q.bwd`);
      recordRope(gpu, plan, 'backward', { tokens: N, heads: cfg.numKvHeads, headDim: D }, { x: dk, positions, tables }, `l${l}.rope_k.bwd`);
      linearBackward(l, 'q_proj', dq, a.h1, needBelow ? dh : null, false);
      linearBackward(l, 'k_proj', dk, a.h1, needBelow ? dh : null, true);
      linearBackward(l, 'v_proj', dv, a.h1, needBelow ? dh : null, true);
      if (needBelow) {
        recordRmsNormBackward(gpu, plan, normShape, { x: resid[l], w: w.inputNorm, rstd: a.rstd1, dy: dh, dx: dX, accumulate: true }, `l${l}.input_norm.bwd`);
      }
    }

    if (mode === 'train') {
      const tb = lora.params.trainingBuffers;
      const partials = buf('adamw.partials', 256);
      clip = buf('adamw.clip', 2);
      recordAdamW(gpu, plan, lora.params.totalFloats, { step: model.step.buffer, params: lora.params.params, grads: tb.grads, m: tb.m, v: tb.v, partials, clip });
    }
  }

  return {
    mode, batch, seq, plan, ids, targets, logits, loss, clip, bytes,
    destroy: () => owned.forEach((b) => gpu.destroyBuffer(b)),
  };
}

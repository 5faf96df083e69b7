// Records every adapted projection with its LoRA, forward and backward side by side: u = drop(x) · A_stackᵀ as one
// thin matmul (shaders/matmul_thin.wgsl, LoRA dropout applied as x is loaded), then the base projection's matmul with
// the update added in its epilogue (one block, or J stacked blocks weighted by a per-example mixture: SAPT's routing,
// ConPET's selection, IncLoRA's sum), so the output is written once; the input gradient likewise adds du · A_stack,
// through the dropout mask, in the epilogue of dy · W. The factors' gradients are thin matmuls too (K = tokens, split
// within each workgroup and summed in a fixed order), dA loading drop(x) again from the same mask. Only the active
// block receives gradients.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import type { Plan } from '../gpu/plan.ts';
import { loraMixPartialsFloats, recordLoraMixBackward } from '../gpu/kernels/lora-mix.ts';
import { recordMatmul, type MatmulArgs } from '../gpu/kernels/matmul.ts';
import { recordThinMatmul, type ThinMatmulArgs } from '../gpu/kernels/matmul-thin.ts';
import { PROJ_NAMES, type ProjName } from '../model/peft.ts';
import type { Bank, BankSite } from './bank.ts';

export interface SitesOptions {
  gpu: Gpu;
  plan: Plan;
  bank: Bank;
  tokens: number;
  seq: number;
  /** LoRA input dropout probability (0 outside training). */
  dropout: number;
  /** The per-step uniform buffer (dropout seed). */
  step: GPUBuffer;
  backward: boolean;
  /**
   * One set of saved intermediates per projection name, shared by every layer (layer recomputation re-runs a layer's
   * forward, and so its `forwardSaved`, right before its backward); otherwise one set per layer.
   */
  shareLayers: boolean;
  /** [batch, J] per-example block weights; required when the bank has more than one block. */
  mix: BufferRef | null;
  /** [batch, J] accumulated d loss / d mix (SAPT trains its router through it). */
  dmix: BufferRef | null;
  alloc: (label: string, floats: number) => BufferRef;
}

interface Site extends BankSite {
  A: BufferRef;
  B: BufferRef;
  /** [N, J*r] = drop(x) · A_stackᵀ, saved for the backward pass. */
  u: BufferRef;
  /** Seeds this site's dropout mask. */
  salt: number;
}

export class LoraSites {
  private readonly sites = new Map<string, Site>();
  private readonly o: SitesOptions;
  private readonly J: number;
  private readonly r: number;
  private readonly scratch: { du: BufferRef; duActive: BufferRef | null; uActive: BufferRef | null; partials: BufferRef | null } | null = null;

  constructor(o: SitesOptions) {
    this.o = o;
    const { bank, tokens: N } = o;
    this.J = bank.blocks;
    this.r = bank.rank;
    if (this.J > 1 && !o.mix) throw new Error('a bank with several blocks needs a mixture buffer');
    const p = bank.params;
    const shared = new Map<ProjName, Pick<Site, 'u'>>();
    const saved = (s: BankSite): Pick<Site, 'u'> => {
      const label = o.shareLayers ? s.proj : `l${s.layer}.${s.proj}`;
      const fresh = () => ({ u: o.alloc(`${label}.lora_u`, N * this.J * this.r) });
      if (!o.shareLayers) return fresh();
      if (!shared.has(s.proj)) shared.set(s.proj, fresh());
      return shared.get(s.proj)!;
    };
    for (const s of bank.sites) {
      this.sites.set(`${s.layer}.${s.proj}`, {
        ...s,
        A: p.ref(p.params, s.aKey),
        B: p.ref(p.params, s.bKey),
        ...saved(s),
        // The dropout mask is a hash of (element, step seed, salt): a recomputed forward draws the same mask.
        salt: s.layer * PROJ_NAMES.length + PROJ_NAMES.indexOf(s.proj),
      });
    }
    if (o.backward && bank.sites.length > 0) {
      const multi = this.J > 1;
      this.scratch = {
        du: o.alloc('d.lora_u', N * this.J * this.r),
        duActive: multi ? o.alloc('d.lora_u_active', N * this.r) : null,
        uActive: multi ? o.alloc('lora_u_active', N * this.r) : null,
        // One d-mix scratch shared by every site (its size depends only on the batch shape and J*r).
        partials: multi && o.dmix
          ? o.alloc('d.mix_partials', loraMixPartialsFloats({ tokens: N, seq: o.seq, blocks: this.J, rank: this.r, outDim: 1, scale: 1 }))
          : null,
      };
    }
  }

  has(layer: number, ...projs: ProjName[]): boolean {
    return projs.some((p) => this.sites.has(`${layer}.${p}`));
  }

  get lowestLayer(): number {
    let lowest = Infinity;
    for (const s of this.sites.values()) lowest = Math.min(lowest, s.layer);
    return lowest;
  }

  /**
   * The projection `proj` of layer `layer`: `base` (c = x Wᵀ (+ bias) with a = x) with, when the projection is adapted,
   * u = drop(x) · A_stackᵀ first and the LoRA update fused into the matmul's epilogue.
   */
  projection(layer: number, proj: ProjName, base: MatmulArgs, label: string): void {
    const s = this.sites.get(`${layer}.${proj}`);
    if (!s) {
      recordMatmul(this.o.gpu, this.o.plan, base, label);
      return;
    }
    this.forwardSaved(layer, proj, base.a as BufferRef);
    const { bank, mix, seq } = this.o;
    recordMatmul(this.o.gpu, this.o.plan, {
      ...base,
      lora: this.J === 1
        ? { layout: 'out-major', u: s.u, l: s.B, rank: this.r, blocks: 1, scale: bank.scale }
        : { layout: 'out-major', u: s.u, l: s.B, rank: this.r, blocks: this.J, scale: bank.scale, mix: mix!, seq },
    }, label);
  }

  /** The first half of a projection, all the backward pass reads: u = drop(x) · A_stackᵀ. */
  forwardSaved(layer: number, proj: ProjName, x: BufferRef): void {
    const s = this.sites.get(`${layer}.${proj}`);
    if (!s) return;
    const { gpu, plan, tokens: N } = this.o;
    recordThinMatmul(gpu, plan, {
      groups: [{ a: x, b: s.A, c: s.u, salt: s.salt }], M: N, N: this.J * this.r, K: s.in, transB: true, dropout: this.dropoutOn('a'),
    }, `l${layer}.${proj}.lora_A`);
  }

  /** Dropout applied to operand a or b of a thin matmul as it loads a site's input, when dropout is active. */
  private dropoutOn(operand: 'a' | 'b'): ThinMatmulArgs['dropout'] {
    return this.o.dropout > 0 ? { pDrop: this.o.dropout, step: this.o.step, operand } : undefined;
  }

  /**
   * The active block's gradients (dA, dB), SAPT's d mix, and d u (kept for `inputGradient`) from the
   * gradient dy of this projection's output; x is the projection's input.
   */
  backwardGrads(layer: number, proj: ProjName, dy: BufferRef, x: BufferRef): void {
    const s = this.sites.get(`${layer}.${proj}`);
    if (!s || !this.scratch) return;
    const { gpu, plan, tokens: N, seq, bank } = this.o;
    const label = `l${layer}.${proj}.bwd`;
    const active = bank.trainSelection.block;
    const grads = bank.params.trainingBuffers.grads;
    const sc = this.scratch;
    const r = this.r;
    const dA = (du: BufferRef, c: BufferRef) => recordThinMatmul(gpu, plan,
      { groups: [{ a: du, b: x, c, salt: s.salt }], M: r, N: s.in, K: N, transA: true, dropout: this.dropoutOn('b') }, `${label}.dA`);
    const dB = (u: BufferRef, c: BufferRef) => recordThinMatmul(gpu, plan,
      { groups: [{ a: dy, b: u, c }], M: s.out, N: r, K: N, transA: true, alpha: this.J === 1 ? bank.scale : 1 }, `${label}.dB`);
    if (this.J === 1) {
      const du = { ...sc.du, size: N * r * 4 };
      if (active === 0) dB(s.u, bank.params.ref(grads, s.bKey));
      recordThinMatmul(gpu, plan, { groups: [{ a: dy, b: s.B, c: du }], M: N, N: r, K: s.out, alpha: bank.scale }, `${label}.du`);
      if (active === 0) dA(du, bank.params.ref(grads, s.aKey));
      return;
    }
    recordLoraMixBackward(gpu, plan, { tokens: N, seq, blocks: this.J, rank: r, outDim: s.out, scale: bank.scale, active },
      {
        u: s.u, B: s.B, mix: this.o.mix!, dy, du: sc.du,
        ...(active >= 0 ? { duActive: sc.duActive!, uActive: sc.uActive! } : {}),
        ...(this.o.dmix && sc.partials ? { dmix: this.o.dmix, partials: sc.partials } : {}),
      }, `${label}.lora_mix`);
    if (active < 0) return;
    const aSlot = bank.params.slot(s.aKey);
    const bSlot = bank.params.slot(s.bKey);
    // The thin matmul binds from a 256-byte boundary and writes at any float offset, so block gradients go straight into place.
    dA(sc.duActive!, { buffer: grads, offset: (aSlot.offset + active * r * s.in) * 4, size: r * s.in * 4 });
    dB(sc.uActive!, { buffer: grads, offset: (bSlot.offset + active * s.out * r) * 4, size: s.out * r * 4 });
  }

  /**
   * The input gradient of projection `proj` (after `backwardGrads` of the same projection): `base` (c = dy W, = or +=)
   * plus the LoRA branch's du · A_stack, passed back through the dropout mask, in the matmul's epilogue.
   */
  inputGradient(layer: number, proj: ProjName, base: MatmulArgs, label: string): void {
    const s = this.sites.get(`${layer}.${proj}`);
    const { gpu, plan, tokens: N, dropout, step } = this.o;
    if (!s || !this.scratch) {
      recordMatmul(gpu, plan, base, label);
      return;
    }
    const Jr = this.J * this.r;
    const du = { ...this.scratch.du, size: N * Jr * 4 };
    recordMatmul(gpu, plan, {
      ...base,
      lora: { layout: 'k-major', u: du, l: s.A, rank: Jr, blocks: 1, scale: 1, ...(dropout > 0 ? { dropout: { pDrop: dropout, salt: s.salt, step } } : {}) },
    }, label);
  }
}

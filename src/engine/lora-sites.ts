// Records every adapted projection with its LoRA, forward and backward side by side: u = drop(x) · A_stackᵀ as one
// thin matmul (shaders/matmul_thin.wgsl, LoRA dropout applied as x is loaded), then the base projection's matmul with
// the update added in its epilogue (one block, or J stacked blocks weighted by a per-example mixture: SAPT's routing,
// ConPET's selection, IncLoRA's sum), so the output is written once; the input gradient likewise adds du · A_stack,
// through the dropout mask, in the epilogue of dy · W. The factors' gradients are thin matmuls too (K = tokens, split
// within each workgroup and summed in a fixed order), dA loading drop(x) again from the same mask. Only the active
// block receives gradients.
// A fused projection (q/k/v or gate/up stacked into one weight, see gpu-weights.ts) runs its sites' u products as one
// thin dispatch and its base matmul once, each site's update applied to its own output columns in the epilogue; its
// input gradient is one matmul over the parts' output gradients with each site's du · A (through its own dropout
// mask) in the epilogue. The LoRA products stay per site: each site's u, du and factor gradients are its own.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import type { Plan } from '../gpu/plan.ts';
import { allocBlocks, bindingSpan } from '../gpu/binding-span.ts';
import { loraMixPartialsFloats, recordLoraMixBackward } from '../gpu/kernels/lora-mix.ts';
import { recordMatmul, type MatmulArgs, type MatmulSegment } from '../gpu/kernels/matmul.ts';
import { recordThinMatmul, type ThinMatmulArgs } from '../gpu/kernels/matmul-thin.ts';
import { PROJ_NAMES, type ProjName } from '../model/peft.ts';
import type { Bank, BankSite } from './bank.ts';
import { FUSED_GROUPS } from './gpu-weights.ts';

/** A projection's fused group (its own name alone when it has none) and its place in it. */
function groupOf(proj: ProjName): { members: readonly ProjName[]; index: number } {
  for (const members of Object.values(FUSED_GROUPS) as (readonly ProjName[])[]) {
    const index = members.indexOf(proj);
    if (index >= 0) return { members, index };
  }
  return { members: [proj], index: 0 };
}

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
  /** du: one [N, J*r] block per place in a fused group (a group's input gradient reads all of its sites' at once). */
  private readonly scratch: { du: BufferRef[]; duActive: BufferRef | null; uActive: BufferRef | null; partials: BufferRef | null } | null = null;

  constructor(o: SitesOptions) {
    this.o = o;
    const { bank, tokens: N } = o;
    this.J = bank.blocks;
    this.r = bank.rank;
    if (this.J > 1 && !o.mix) throw new Error('a bank with several blocks needs a mixture buffer');
    const p = bank.params;
    // Each site's u: the adapted projections of one fused group in blocks of one allocation (a group's epilogue binds
    // them together), per layer, or shared by every layer (then for each projection adapted in any layer).
    const uFloats = N * this.J * this.r;
    const uOf = new Map<string, BufferRef>();
    const groups = new Map<string, BankSite[]>();
    for (const s of bank.sites) {
      const members = groupOf(s.proj).members;
      const key = `${o.shareLayers ? '' : `l${s.layer}.`}${members.join('+')}`;
      if (!groups.has(key)) groups.set(key, []);
      const list = groups.get(key)!;
      if (!list.some((t) => t.proj === s.proj)) list.push(s);
    }
    for (const [key, list] of groups) {
      list.sort((x, y) => groupOf(x.proj).index - groupOf(y.proj).index);
      const prefix = o.shareLayers ? '' : `l${list[0].layer}.`;
      const label = `${prefix}${list.map((t) => t.proj).join('+')}.lora_u`;
      allocBlocks(o.alloc, label, list.map(() => uFloats)).forEach((u, i) => uOf.set(`${key}|${list[i].proj}`, u));
    }
    const uKey = (s: BankSite) => `${o.shareLayers ? '' : `l${s.layer}.`}${groupOf(s.proj).members.join('+')}|${s.proj}`;
    for (const s of bank.sites) {
      this.sites.set(`${s.layer}.${s.proj}`, {
        ...s,
        A: p.ref(p.params, s.aKey),
        B: p.ref(p.params, s.bKey),
        u: uOf.get(uKey(s))!,
        // The dropout mask is a hash of (element, step seed, salt): a recomputed forward draws the same mask.
        salt: s.layer * PROJ_NAMES.length + PROJ_NAMES.indexOf(s.proj),
      });
    }
    if (o.backward && bank.sites.length > 0) {
      const multi = this.J > 1;
      const places = Math.max(...bank.sites.map((s) => groupOf(s.proj).index + 1));
      this.scratch = {
        du: allocBlocks(o.alloc, 'd.lora_u', Array.from({ length: places }, () => N * this.J * this.r)),
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
    if (s) this.recordU(`l${layer}.${proj}.lora_A`, [s], x);
  }

  /** u = drop(x) · A_stackᵀ of sites that share their input x, in one thin dispatch (a group each). */
  private recordU(label: string, sites: Site[], x: BufferRef): void {
    const { gpu, plan, tokens: N } = this.o;
    recordThinMatmul(gpu, plan, {
      groups: sites.map((s) => ({ a: x, b: s.A, c: s.u, salt: s.salt })), M: N, N: this.J * this.r, K: sites[0].in, transB: true, dropout: this.dropoutOn('a'),
    }, label);
  }

  /** The sites of `projs` in layer `layer` (null where a projection has none). */
  private membersOf(layer: number, projs: readonly ProjName[]): (Site | null)[] {
    return projs.map((p) => this.sites.get(`${layer}.${p}`) ?? null);
  }

  /**
   * A fused projection (`base` with one output segment per projection of `projs`, each without a LoRA term): the
   * adapted sites' u in one thin dispatch, then the matmul with each site's update in the epilogue of its segment.
   */
  fusedProjection(layer: number, projs: readonly ProjName[], base: MatmulArgs & { outSegments: MatmulSegment[] }, label: string): void {
    const members = this.membersOf(layer, projs);
    const adapted = members.filter((s): s is Site => s !== null);
    if (adapted.length === 0) {
      recordMatmul(this.o.gpu, this.o.plan, base, label);
      return;
    }
    this.recordU(`${label}.lora_A`, adapted, base.a as BufferRef);
    const u = bindingSpan(adapted.map((s) => s.u))!;
    const l = bindingSpan(adapted.map((s) => s.B))!;
    let j = 0;
    const outSegments = base.outSegments.map((sg, i) => (members[i] ? { ...sg, lora: { u: u.offsets[j], l: l.offsets[j++] } } : sg));
    const { bank, mix, seq } = this.o;
    recordMatmul(this.o.gpu, this.o.plan, {
      ...base,
      outSegments,
      lora: this.J === 1
        ? { layout: 'out-major', u: u.binding, l: l.binding, rank: this.r, blocks: 1, scale: bank.scale }
        : { layout: 'out-major', u: u.binding, l: l.binding, rank: this.r, blocks: this.J, scale: bank.scale, mix: mix!, seq },
    }, label);
  }

  /**
   * A fused projection's input gradient (`base`: the parts' output gradients as K segments, without LoRA terms), after
   * `backwardGrads` of each part: one matmul, each adapted site's du · A_stack through its dropout mask in the epilogue.
   */
  fusedInputGradient(layer: number, projs: readonly ProjName[], base: MatmulArgs & { kSegments: MatmulSegment[] }, label: string): void {
    const members = this.membersOf(layer, projs);
    const { gpu, plan, tokens: N, dropout, step } = this.o;
    const sc = this.scratch;
    if (!sc || members.every((s) => s === null)) {
      recordMatmul(gpu, plan, base, label);
      return;
    }
    const Jr = this.J * this.r;
    const places = members.flatMap((s, i) => (s ? [i] : []));
    const u = bindingSpan(places.map((i) => ({ ...sc.du[i], size: N * Jr * 4 })))!;
    const l = bindingSpan(places.map((i) => members[i]!.A))!;
    let j = 0;
    const kSegments = base.kSegments.map((sg, i) => {
      const s = members[i];
      if (!s) return sg;
      const seg = { ...sg, lora: { u: u.offsets[j], l: l.offsets[j], salt: s.salt } };
      j++;
      return seg;
    });
    recordMatmul(gpu, plan, {
      ...base,
      kSegments,
      lora: { layout: 'k-major', u: u.binding, l: l.binding, rank: Jr, blocks: 1, scale: 1, ...(dropout > 0 ? { dropout: { pDrop: dropout, salt: 0, step } } : {}) },
    }, label);
  }

  /** Dropout applied to operand a or b of a thin matmul as it loads a site's input, when dropout is active. */
  private dropoutOn(operand: 'a' | 'b'): ThinMatmulArgs['dropout'] {
    return this.o.dropout > 0 ? { pDrop: this.o.dropout, step: this.o.step, operand } : undefined;
  }

  /**
   * `backwardGrads` of the projections `projs` of one input x (a fused group), with dys their output gradients: with one
   * block and the gradients in one buffer, each product for all sites of one shape in one thin dispatch (dB and du per
   * output width, dA for all), else site by site. Each site's products are its own either way.
   */
  backwardGradsGroup(layer: number, projs: readonly ProjName[], dys: BufferRef[], x: BufferRef): void {
    const members = this.membersOf(layer, projs);
    const sc = this.scratch;
    const grouped = sc && this.J === 1 && dys.every((d) => d.buffer === dys[0].buffer);
    if (!grouped) {
      projs.forEach((proj, i) => this.backwardGrads(layer, proj, dys[i], x));
      return;
    }
    const { gpu, plan, tokens: N, bank } = this.o;
    const r = this.r;
    const grads = bank.params.trainingBuffers.grads;
    const label = `l${layer}.${projs.map((p) => p.replace('_proj', '')).join('_')}_proj.bwd`;
    const sites = members.flatMap((s, i) => (s ? [{ s, dy: dys[i], du: { ...sc.du[groupOf(s.proj).index], size: N * r * 4 } }] : []));
    if (sites.length === 0) return;
    const widths = [...new Set(sites.map((t) => t.s.out))];
    const active = bank.trainSelection.block === 0;
    for (const out of widths) {
      const same = sites.filter((t) => t.s.out === out);
      if (active) {
        recordThinMatmul(gpu, plan, { groups: same.map((t) => ({ a: t.dy, b: t.s.u, c: bank.params.ref(grads, t.s.bKey) })), M: out, N: r, K: N, transA: true, alpha: bank.scale }, `${label}.dB`);
      }
      recordThinMatmul(gpu, plan, { groups: same.map((t) => ({ a: t.dy, b: t.s.B, c: t.du })), M: N, N: r, K: out, alpha: bank.scale }, `${label}.du`);
    }
    if (!active) return;
    recordThinMatmul(gpu, plan, {
      groups: sites.map((t) => ({ a: t.du, b: x, c: bank.params.ref(grads, t.s.aKey), salt: t.s.salt })), M: r, N: sites[0].s.in, K: N, transA: true, dropout: this.dropoutOn('b'),
    }, `${label}.dA`);
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
    const duOwn = sc.du[groupOf(proj).index];
    const dA = (du: BufferRef, c: BufferRef) => recordThinMatmul(gpu, plan,
      { groups: [{ a: du, b: x, c, salt: s.salt }], M: r, N: s.in, K: N, transA: true, dropout: this.dropoutOn('b') }, `${label}.dA`);
    const dB = (u: BufferRef, c: BufferRef) => recordThinMatmul(gpu, plan,
      { groups: [{ a: dy, b: u, c }], M: s.out, N: r, K: N, transA: true, alpha: this.J === 1 ? bank.scale : 1 }, `${label}.dB`);
    if (this.J === 1) {
      const du = { ...duOwn, size: N * r * 4 };
      if (active === 0) dB(s.u, bank.params.ref(grads, s.bKey));
      recordThinMatmul(gpu, plan, { groups: [{ a: dy, b: s.B, c: du }], M: N, N: r, K: s.out, alpha: bank.scale }, `${label}.du`);
      if (active === 0) dA(du, bank.params.ref(grads, s.aKey));
      return;
    }
    recordLoraMixBackward(gpu, plan, { tokens: N, seq, blocks: this.J, rank: r, outDim: s.out, scale: bank.scale, active },
      {
        u: s.u, B: s.B, mix: this.o.mix!, dy, du: duOwn,
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
    const du = { ...this.scratch.du[groupOf(proj).index], size: N * Jr * 4 };
    recordMatmul(gpu, plan, {
      ...base,
      lora: { layout: 'k-major', u: du, l: s.A, rank: Jr, blocks: 1, scale: 1, ...(dropout > 0 ? { dropout: { pDrop: dropout, salt: s.salt, step } } : {}) },
    }, label);
  }
}

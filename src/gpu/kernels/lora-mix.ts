// Records the multi-block LoRA mixing backward dispatches (shaders/lora_mix.wgsl): J LoRA blocks on one projection, their outputs mixed
// per example (the forward mix is fused into the projection's matmul, src/gpu/kernels/matmul.ts).
import source from '../../../shaders/lora_mix.wgsl';
import { grid, type Bindable, type Gpu } from '../context.ts';
import type { Plan } from '../plan.ts';
import { record } from './record.ts';
import { elementwiseCost, WORD } from '../dispatch-cost.ts';

const shader = { name: 'lora_mix', code: source };

/** Workgroup width and tokens per tile; must match WG and TM in shaders/lora_mix.wgsl. */
const WG = 64;
const TM = 8;
/** Largest J * r the backward dispatches are recorded for. */
export const LORA_MIX_MAX_COLUMNS = 512;

const HAS_DU_ACTIVE = 1;
const HAS_U_ACTIVE = 2;
const HAS_DMIX = 4;

export interface LoraMixShape {
  tokens: number;   // N = batch * seq
  seq: number;      // tokens per example; example of token n is floor(n / seq)
  blocks: number;   // J LoRA blocks of this site
  rank: number;     // r
  outDim: number;   // d_out
  scale: number;    // alpha / r
}

// Placeholders for absent writable outputs: distinct per slot, since a bind group may not alias
// writable storage ranges.
const spares = new WeakMap<Gpu, GPUBuffer[]>();
function spare(gpu: Gpu, slot: number): GPUBuffer {
  let list = spares.get(gpu);
  if (!list) spares.set(gpu, (list = []));
  return (list[slot] ??= gpu.createBuffer(`lora_mix.unused${slot}`, 16));
}

function isCount(v: number): boolean {
  return Number.isInteger(v) && v >= 1;
}

function params(gpu: Gpu, s: LoraMixShape, active: number, flags: number, label: string): GPUBuffer {
  for (const k of ['tokens', 'seq', 'blocks', 'rank', 'outDim'] as const) {
    if (!isCount(s[k])) throw new Error(`${label}: ${k} must be a positive integer, got ${s[k]}`);
  }
  const jr = s.blocks * s.rank;
  if (jr > LORA_MIX_MAX_COLUMNS) {
    throw new Error(`${label}: blocks * rank = ${s.blocks} * ${s.rank} = ${jr} exceeds ${LORA_MIX_MAX_COLUMNS}, the most shaders/lora_mix.wgsl supports`);
  }
  if (!Number.isInteger(active) || active < -1 || active >= s.blocks) {
    throw new Error(`${label}: active block ${active} must be -1 or in [0, ${s.blocks})`);
  }
  const batch = Math.ceil(s.tokens / s.seq);
  const chunks = Math.ceil(s.seq / TM);
  const kTiles = Math.ceil(jr / WG);
  return gpu.uniform(`${label}.params`,
    [s.tokens, s.seq, s.blocks, s.rank, s.outDim, jr, batch, chunks, 0, kTiles, active, flags, s.scale, 0, 0, 0],
    ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'i32', 'u32', 'f32', 'u32', 'u32', 'u32']);
}

/** Floats of the d mix partial-sum scratch of a backward recording with this shape. */
export function loraMixPartialsFloats(s: LoraMixShape): number {
  return Math.ceil(s.tokens / s.seq) * Math.ceil(s.seq / TM) * s.blocks * s.rank;
}

/**
 * With g[n, j*r+i] = scale * sum_o dy[n,o] * B[(j*outDim+o)*r + i]:
 *   du[n, j*r+i]   = mix[b(n), j] * g[n, j*r+i]                       (overwrite, every block)
 *   duActive[n, i] = du[n, active*r + i]                              (overwrite; when active >= 0 and given)
 *   uActive[n, i]  = scale * mix[b(n), active] * u[n, active*r + i]   (overwrite; when active >= 0 and given)
 *   dmix[b, j]    += sum over tokens n of example b, sum_i g[n, j*r+i] * u[n, j*r+i]   (ACCUMULATE; when given)
 *
 * One dispatch, or two when dmix is given: the first writes per-tile partial sums of g * u to a
 * scratch buffer (`partials`, loraMixPartialsFloats(s) floats; the caller's, so a plan can share one
 * across sites and free it, or else one created for this recording), the second reduces them per
 * (example, block) in a fixed order.
 */
export function recordLoraMixBackward(gpu: Gpu, plan: Plan, s: LoraMixShape & { active: number },
  io: { u: Bindable; B: Bindable; mix: Bindable; dy: Bindable; du: Bindable; duActive?: Bindable; uActive?: Bindable; dmix?: Bindable; partials?: Bindable },
  label = 'lora_mix.bwd'): void {
  const active = s.active;
  let flags = 0;
  if (active >= 0 && io.duActive) flags |= HAS_DU_ACTIVE;
  if (active >= 0 && io.uActive) flags |= HAS_U_ACTIVE;
  if (io.dmix) flags |= HAS_DMIX;
  const p = params(gpu, s, active, flags, label);
  const batch = Math.ceil(s.tokens / s.seq);
  const chunks = Math.ceil(s.seq / TM);
  const jr = s.blocks * s.rank;
  const partials = !io.dmix ? spare(gpu, 2) : io.partials ?? gpu.createBuffer(`${label}.dmix-partials`, loraMixPartialsFloats(s) * 4);
  record(gpu, plan, {
    shader, entry: 'mix_backward_du', label,
    bindings: {
      0: p, 1: io.u, 2: io.B, 3: io.mix, 5: io.dy, 6: io.du,
      7: flags & HAS_DU_ACTIVE ? io.duActive! : spare(gpu, 0),
      8: flags & HAS_U_ACTIVE ? io.uActive! : spare(gpu, 1),
      9: partials,
    },
    workgroups: grid(batch * chunks * Math.ceil(jr / WG)),
    // g = scale · dy · B_j for every block (2·N·outDim·J·r), du = mix · g, and the g·u products of d mix; reads dy, B, u, mix.
    cost: {
      kernel: 'lora_mix.bwd', flops: 2 * s.tokens * s.outDim * jr + 3 * s.tokens * jr,
      bytes: (s.tokens * s.outDim + s.outDim * jr + 4 * s.tokens * jr + batch * s.blocks) * WORD,
    },
  });
  if (!io.dmix) return;
  record(gpu, plan, {
    shader, entry: 'mix_backward_dmix', label: `${label}.dmix`,
    bindings: { 0: p, 10: partials, 11: io.dmix },
    workgroups: grid(batch * s.blocks),
    cost: elementwiseCost('lora_mix.bwd', loraMixPartialsFloats(s), 1, 1, 0, 2 * batch * s.blocks * WORD),
  });
}

// An adapter bank: J LoRA blocks stacked per adapted projection (one block per task for IncLoRA,
// O-LoRA, SAPT and ConPET), optionally SAPT's router (shared query projector and one key per block)
// and a classification head (ConPET's module selector), all in one flat trainable buffer. One block
// is "active" (trained); the others are frozen through the optimizer's trainable mask.
import type { Gpu } from '../gpu/context.ts';
import type { ModelConfig } from '../model/config.ts';
import {
  adapterLayers, initLoraTensors, loraScale, peftKey, projShape, validateLoraConfig, PROJ_NAMES,
  type LoraConfig, type ProjName,
} from '../model/peft.ts';
import type { Rng } from '../model/rng.ts';
import type { HostTensor } from '../model/weights.ts';
import { LoraParams } from './lora-params.ts';
import { ROUTER_KEYS, type RouterPool } from '../model/sapt-files.ts';

export interface BankSpec {
  lora: LoraConfig;
  /** Number of LoRA blocks per adapted projection (>= 1). */
  blocks: number;
  /**
   * SAPT's attentive selection: a query projector with this bottleneck width over the prompt's token
   * embeddings pooled this way, and one key per block.
   */
  router: { bottleneck: number; pool: RouterPool } | null;
  /** A linear head over the final hidden state with this many classes, used instead of the LM head. */
  head: { classes: number } | null;
}

export interface BankSite {
  layer: number;
  proj: ProjName;
  in: number;
  out: number;
  /** Flat-buffer keys of the stacked tensors: A [J*r, in], B [J*out, r]. */
  aKey: string;
  bKey: string;
}

export { ROUTER_KEYS };
export const HEAD_KEY = 'head.weight';

/** What the optimizer trains when a block is active. */
export interface TrainSelection {
  /** The LoRA block trained (its A and B at every site, and its router key); -1 for none. */
  block: number;
  /** The shared router projector and norm (SAPT trains it on every task). */
  router: boolean;
  head: boolean;
  /** The projector's two linears' learning rate as a multiple of the run's (SAPT's separate rate for them); default 1. */
  routerLrScale?: number;
}

let nextBankId = 1;

function orderedSites(lora: LoraConfig, cfg: ModelConfig): BankSite[] {
  const sites: BankSite[] = [];
  for (const layer of adapterLayers(lora, cfg)) {
    for (const proj of PROJ_NAMES) {
      if (!lora.targets.includes(proj)) continue;
      const s = projShape(cfg, proj);
      sites.push({ layer, proj, in: s.in, out: s.out, aKey: peftKey(layer, proj, 'A'), bKey: peftKey(layer, proj, 'B') });
    }
  }
  return sites;
}

export class Bank {
  readonly id = nextBankId++;
  readonly spec: BankSpec;
  readonly cfg: ModelConfig;
  readonly params: LoraParams;
  readonly sites: BankSite[];
  readonly scale: number;
  private selection: TrainSelection = { block: -1, router: false, head: false };

  private constructor(gpu: Gpu, cfg: ModelConfig, spec: BankSpec) {
    if (!Number.isSafeInteger(spec.blocks) || spec.blocks < 1) throw new Error(`an adapter bank needs at least one block, got ${spec.blocks}`);
    validateLoraConfig(spec.lora, cfg);
    this.spec = spec;
    this.cfg = cfg;
    this.scale = loraScale(spec.lora);
    this.sites = orderedSites(spec.lora, cfg);
    const J = spec.blocks;
    const r = spec.lora.rank;
    const H = cfg.hiddenSize;
    const shapes = new Map<string, number[]>();
    for (const s of this.sites) {
      shapes.set(s.aKey, [J * r, s.in]);
      shapes.set(s.bKey, [J * s.out, r]);
    }
    if (spec.router) {
      const k = spec.router.bottleneck;
      shapes.set(ROUTER_KEYS.down, [k, H]);
      shapes.set(ROUTER_KEYS.up, [H, k]);
      shapes.set(ROUTER_KEYS.normWeight, [1, H]);
      shapes.set(ROUTER_KEYS.normBias, [1, H]);
      shapes.set(ROUTER_KEYS.keys, [J, H]);
    }
    if (spec.head) shapes.set(HEAD_KEY, [spec.head.classes, H]);
    this.params = new LoraParams(gpu, shapes);
  }

  /**
   * A bank with every tensor initialised: LoRA blocks as PEFT does (A Kaiming-uniform, B zero), the
   * router's linears and the head as torch.nn.Linear (uniform ±1/sqrt(fan_in)), keys uniform ±1,
   * the norm at weight 1, bias 0. `from` copies tensors of an existing bank with fewer blocks or
   * classes into the leading rows (the bank grows by a task).
   */
  static async create(gpu: Gpu, cfg: ModelConfig, spec: BankSpec, rng: Rng, from?: Bank): Promise<Bank> {
    const bank = new Bank(gpu, cfg, spec);
    const old = from ? await from.params.download() : null;
    const tensors = new Map<string, HostTensor>();
    const J = spec.blocks;
    const r = spec.lora.rank;
    const uniform = (n: number, bound: number) => Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * bound);
    const blockInits = Array.from({ length: J }, () => initLoraTensors(spec.lora, cfg, null, rng));
    for (const s of bank.sites) {
      const a = new Float32Array(J * r * s.in);
      const b = new Float32Array(J * s.out * r);
      for (let j = 0; j < J; j++) {
        a.set(blockInits[j].get(s.aKey)!.data, j * r * s.in);
        b.set(blockInits[j].get(s.bKey)!.data, j * s.out * r);
      }
      tensors.set(s.aKey, { shape: [J * r, s.in], data: a });
      tensors.set(s.bKey, { shape: [J * s.out, r], data: b });
    }
    const H = cfg.hiddenSize;
    if (spec.router) {
      const k = spec.router.bottleneck;
      tensors.set(ROUTER_KEYS.down, { shape: [k, H], data: uniform(k * H, 1 / Math.sqrt(H)) });
      tensors.set(ROUTER_KEYS.up, { shape: [H, k], data: uniform(H * k, 1 / Math.sqrt(k)) });
      tensors.set(ROUTER_KEYS.normWeight, { shape: [1, H], data: new Float32Array(H).fill(1) });
      tensors.set(ROUTER_KEYS.normBias, { shape: [1, H], data: new Float32Array(H) });
      tensors.set(ROUTER_KEYS.keys, { shape: [J, H], data: uniform(J * H, 1) });
    }
    if (spec.head) tensors.set(HEAD_KEY, { shape: [spec.head.classes, H], data: uniform(spec.head.classes * H, 1 / Math.sqrt(H)) });
    if (old) {
      // Leading rows come from the smaller bank: blocks, keys and head classes it already had.
      for (const [key, t] of old) {
        const target = tensors.get(key);
        if (!target) continue;
        if (t.data.length > target.data.length) throw new Error(`cannot shrink ${key} from ${t.data.length} to ${target.data.length} values`);
        if (key.endsWith('lora_B.weight') || key.endsWith('lora_A.weight') || key === ROUTER_KEYS.keys || key === HEAD_KEY) {
          target.data.set(t.data, 0);
        } else {
          target.data.set(t.data);
        }
      }
    }
    bank.params.upload(tensors);
    return bank;
  }

  get blocks(): number {
    return this.spec.blocks;
  }

  get rank(): number {
    return this.spec.lora.rank;
  }

  get trainSelection(): TrainSelection {
    return { ...this.selection };
  }

  /** Chooses what the optimizer trains and zeroes gradients; the AdamW moments are reset too. */
  setTrainable(sel: TrainSelection): void {
    if (sel.block >= this.blocks || sel.block < -1) throw new Error(`block ${sel.block} is not in a bank of ${this.blocks}`);
    if (sel.router && !this.spec.router) throw new Error('this bank has no router to train');
    if (sel.head && !this.spec.head) throw new Error('this bank has no head to train');
    this.selection = { ...sel };
    const r = this.rank;
    const H = this.cfg.hiddenSize;
    const siteOf = new Map<string, BankSite>();
    for (const s of this.sites) {
      siteOf.set(s.aKey, s);
      siteOf.set(s.bKey, s);
    }
    this.params.setTrainable((key) => {
      const s = siteOf.get(key);
      if (s) {
        if (sel.block < 0) return null;
        const per = key === s.aKey ? r * s.in : s.out * r;
        return [sel.block * per, (sel.block + 1) * per];
      }
      if (key === ROUTER_KEYS.keys) return sel.block >= 0 && sel.router ? [sel.block * H, (sel.block + 1) * H] : null;
      if (key.startsWith('router.')) return sel.router ? 'all' : null;
      if (key === HEAD_KEY) return sel.head ? 'all' : null;
      return null;
    }, (key) => (key === ROUTER_KEYS.down || key === ROUTER_KEYS.up ? sel.routerLrScale ?? 1 : 1));
    this.params.resetOptimizer();
  }

  /**
   * Block j's tensors under PEFT key names (A [r, in], B [out, r]), for export; `all` is a download of the bank's
   * parameters already made (one readback for several blocks), else one is made.
   */
  async blockTensors(j: number, all?: Map<string, HostTensor>): Promise<Map<string, HostTensor>> {
    if (j < 0 || j >= this.blocks) throw new Error(`block ${j} is not in a bank of ${this.blocks}`);
    all ??= await this.params.download();
    const r = this.rank;
    const out = new Map<string, HostTensor>();
    for (const s of this.sites) {
      const a = all.get(s.aKey)!.data;
      const b = all.get(s.bKey)!.data;
      out.set(s.aKey, { shape: [r, s.in], data: a.slice(j * r * s.in, (j + 1) * r * s.in) });
      out.set(s.bKey, { shape: [s.out, r], data: b.slice(j * s.out * r, (j + 1) * s.out * r) });
    }
    return out;
  }

  /** Writes PEFT-keyed tensors (A [r, in], B [out, r]) into block j. */
  async setBlockTensors(j: number, tensors: Map<string, HostTensor>): Promise<void> {
    if (j < 0 || j >= this.blocks) throw new Error(`block ${j} is not in a bank of ${this.blocks}`);
    const all = await this.params.download();
    const r = this.rank;
    for (const s of this.sites) {
      const a = tensors.get(s.aKey);
      const b = tensors.get(s.bKey);
      if (!a || !b) throw new Error(`adapter is missing ${!a ? s.aKey : s.bKey}`);
      if (a.data.length !== r * s.in || b.data.length !== s.out * r) throw new Error(`adapter tensors of ${s.aKey} have the wrong size for rank ${r}`);
      all.get(s.aKey)!.data.set(a.data, j * r * s.in);
      all.get(s.bKey)!.data.set(b.data, j * s.out * r);
    }
    this.params.upload(all);
  }

  /** The LoRA blocks' sum (IncLoRA, O-LoRA inference) as one adapter of rank J*r, in PEFT layout. */
  async mergedTensors(): Promise<{ config: LoraConfig; tensors: Map<string, HostTensor> }> {
    const all = await this.params.download();
    const J = this.blocks;
    const r = this.rank;
    const out = new Map<string, HostTensor>();
    for (const s of this.sites) {
      // B_cat [out, J*r] with B_cat[o, j*r + i] = B_j[o, i]; A_cat = the stacked A.
      const b = all.get(s.bKey)!.data;
      const cat = new Float32Array(s.out * J * r);
      for (let j = 0; j < J; j++) for (let o = 0; o < s.out; o++) for (let i = 0; i < r; i++) cat[o * J * r + j * r + i] = b[(j * s.out + o) * r + i];
      out.set(s.aKey, { shape: [J * r, s.in], data: all.get(s.aKey)!.data });
      out.set(s.bKey, { shape: [s.out, J * r], data: cat });
    }
    // alpha is scaled so that the merged scale (alpha / (J r), or alpha / sqrt(J r) with rsLoRA) equals this bank's.
    const alpha = this.spec.lora.alpha * (this.spec.lora.useRslora ? Math.sqrt(J) : J);
    const config: LoraConfig = { ...this.spec.lora, rank: J * r, alpha };
    return { config, tensors: out };
  }

  /** A copy of this bank's parameters (a frozen teacher, a snapshot). */
  async clone(gpu: Gpu): Promise<Bank> {
    const copy = new Bank(gpu, this.cfg, this.spec);
    const enc = gpu.device.createCommandEncoder({ label: 'bank.clone' });
    enc.copyBufferToBuffer(this.params.params, 0, copy.params.params, 0, this.params.totalFloats * 4);
    gpu.device.queue.submit([enc.finish()]);
    await gpu.flush();
    return copy;
  }

  destroy(): void {
    this.params.destroy();
  }
}

/** A one-block bank holding a PEFT adapter's tensors. */
export async function bankFromAdapter(gpu: Gpu, cfg: ModelConfig, lora: LoraConfig, tensors: Map<string, HostTensor>, rng: Rng): Promise<Bank> {
  const bank = await Bank.create(gpu, cfg, { lora, blocks: 1, router: null, head: null }, rng);
  bank.params.upload(tensors);
  return bank;
}

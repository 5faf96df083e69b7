// Continual merging of per-task LoRA task vectors (docs: METHODS.md "Continual model merging") in the LoRA factors'
// space. On every adapted projection the merged task vector is kept as M = P · C · Qᵀ: P (d_out x n) and Q (d_in x m)
// orthonormal bases that grow by at most r columns a task (the new task's B columns and Aᵀ columns outside them), C a
// small n x m core. A task vector s · B · A then has exact coordinates in the grown bases, the SVD of M is P·U, S, Q·V
// from the SVD of the small core, and Frobenius norms are the core's: no d_out x d_in matrix is ever formed, and a
// step costs O((d_out + d_in) · n · r + n³) per projection. Three merges:
//   merge-avg  M_t = (1/t) Σ τ_i;   merge-ta  M_t = λ Σ τ_i;
//   opcm       the new task vector projected away from M_{t-1}'s dominant singular directions, then scaled so that
//              ‖M_t‖ (over the whole model) is the running mean of the task vectors' norms.
import { frobenius, GrowingBasis, matmul, matmulNT, matmulTN, numericalRank, padTo, svd, transpose, zeros, type Mat } from './linalg.ts';

export type MergeKind = 'opcm' | 'merge-ta' | 'merge-avg';

export interface MergeSettings {
  kind: MergeKind;
  /** OPCM: the share of the spectrum (cumulative singular values) whose directions a new task vector is kept out of. */
  alpha: number;
  /** merge-ta: the scaling of the sum of task vectors. */
  lambda: number;
  /** When set, the merged task vector of every projection is truncated to its this many largest singular directions after each task. */
  rankCap: number | null;
}

/** One task's LoRA on one projection: the task vector is scale · B · A. */
export interface SiteFactors {
  /** B: out x r, row-major. */
  b: ArrayLike<number>;
  /** A: r x in, row-major. */
  a: ArrayLike<number>;
  out: number;
  in: number;
  rank: number;
}

/** Singular values at most this share of the largest count as zero (the rank of M, in the engine and the PyTorch reference). */
export const RANK_RTOL = 1e-9;
/** A new factor column adds a basis vector only when more than this share of its norm lies outside the basis. */
const BASIS_TOL = 1e-10;

interface SiteState {
  out: number;
  in: number;
  p: GrowingBasis;
  q: GrowingBasis;
  core: Mat;
}

/** The merged task vector of one projection as LoRA factors: Δ = b · a with b out x rank, a rank x in (row-major). */
export interface MergedFactors {
  out: number;
  in: number;
  rank: number;
  b: Float64Array;
  a: Float64Array;
}

export class ContinualMerge {
  private readonly sites = new Map<string, SiteState>();
  /** Tasks merged so far. */
  tasks = 0;
  /** OPCM's λ_t (1 for the other merges). */
  lambda = 1;
  /** ‖τ_i‖ over the whole model, for every merged task (OPCM's running mean). */
  readonly norms: number[] = [];

  constructor(readonly settings: MergeSettings) {
    if (!['opcm', 'merge-ta', 'merge-avg'].includes(settings.kind)) throw new Error(`unknown merge ${JSON.stringify(settings.kind)}`);
    if (!(settings.alpha >= 0 && settings.alpha <= 1)) throw new Error(`OPCM alpha must be in [0, 1], got ${settings.alpha}`);
    if (!(Number.isFinite(settings.lambda) && settings.lambda > 0)) throw new Error(`task arithmetic lambda must be a positive number, got ${settings.lambda}`);
    if (settings.rankCap !== null && !(Number.isSafeInteger(settings.rankCap) && settings.rankCap >= 1)) {
      throw new Error(`the rank cap must be a positive integer or null, got ${settings.rankCap}`);
    }
  }

  /** Site names in the order they were first merged. */
  get siteNames(): string[] {
    return [...this.sites.keys()];
  }

  /** Folds task t's LoRA (scale · B · A on every site) into the merged task vector. */
  add(task: Map<string, SiteFactors>, scale: number): void {
    if (this.tasks > 0) {
      for (const name of this.sites.keys()) if (!task.has(name)) throw new Error(`the new task's LoRA has no factors for ${name}`);
      if (task.size !== this.sites.size) throw new Error(`the new task's LoRA adapts ${task.size} projections, the merge ${this.sites.size}`);
    }
    const t = this.tasks + 1;
    // Grow the bases and express the new task vector in them: τ = P · Cτ · Qᵀ.
    const taus = new Map<string, Mat>();
    const previous = new Map<string, Mat>();
    let tauSq = 0;
    for (const [name, f] of task) {
      if (f.b.length !== f.out * f.rank || f.a.length !== f.rank * f.in) throw new Error(`${name}: factors do not match out ${f.out}, in ${f.in}, rank ${f.rank}`);
      let site = this.sites.get(name);
      if (!site) {
        site = { out: f.out, in: f.in, p: new GrowingBasis(f.out), q: new GrowingBasis(f.in), core: zeros(0, 0) };
        this.sites.set(name, site);
      } else if (site.out !== f.out || site.in !== f.in) {
        throw new Error(`${name}: the new task's LoRA is ${f.out} x ${f.in}, the merge ${site.out} x ${site.in}`);
      }
      const b: Mat = { rows: f.out, cols: f.rank, data: Float64Array.from(f.b) };
      const aT = transpose({ rows: f.rank, cols: f.in, data: Float64Array.from(f.a) });
      site.p.extend(b, BASIS_TOL);
      site.q.extend(aT, BASIS_TOL);
      const cb = site.p.coordinates(b);
      const ca = site.q.coordinates(aT);
      const tau = matmulNT(cb, ca);
      for (let i = 0; i < tau.data.length; i++) tau.data[i] *= scale;
      tauSq += frobenius(tau) ** 2;
      taus.set(name, tau);
      previous.set(name, padTo(site.core, site.p.size, site.q.size));
    }
    this.norms.push(Math.sqrt(tauSq));
    const { kind } = this.settings;
    if (kind === 'merge-avg') {
      for (const [name, tau] of taus) this.site(name).core = combine(previous.get(name)!, (t - 1) / t, tau, 1 / t);
    } else if (kind === 'merge-ta') {
      for (const [name, tau] of taus) this.site(name).core = combine(previous.get(name)!, 1, tau, this.settings.lambda);
    } else if (t === 1) {
      for (const [name, tau] of taus) this.site(name).core = tau;
      this.lambda = 1;
    } else {
      // N = λ_{t-1} M_{t-1} + τ', τ' = τ with its parts along M_{t-1}'s dominant directions removed.
      const next = new Map<string, Mat>();
      let nSq = 0;
      for (const [name, tau] of taus) {
        const prev = previous.get(name)!;
        const n = combine(prev, this.lambda, projectAway(prev, tau, this.settings.alpha), 1);
        nSq += frobenius(n) ** 2;
        next.set(name, n);
      }
      const mean = this.norms.reduce((s, v) => s + v, 0) / this.norms.length;
      const normN = Math.sqrt(nSq);
      const lambda = mean > 0 && normN > 0 ? normN / mean : 1;
      for (const [name, n] of next) {
        for (let i = 0; i < n.data.length; i++) n.data[i] /= lambda;
        this.site(name).core = n;
      }
      this.lambda = lambda;
    }
    this.tasks = t;
    if (this.settings.rankCap !== null) for (const site of this.sites.values()) truncate(site, this.settings.rankCap);
  }

  private site(name: string): SiteState {
    const s = this.sites.get(name);
    if (!s) throw new Error(`no merged factors for ${name}`);
    return s;
  }

  /** ‖M‖ over the whole model. */
  get norm(): number {
    let sq = 0;
    for (const s of this.sites.values()) sq += frobenius(s.core) ** 2;
    return Math.sqrt(sq);
  }

  /**
   * The merged task vector of a site as LoRA factors Δ = b · a of rank `rank` (zero-padded beyond the site's own):
   * the basis of the smaller side times the core, so the product costs min(d_out, d_in) · n · m.
   */
  factors(name: string, rank?: number): MergedFactors {
    const s = this.site(name);
    let b: Mat;
    let a: Mat;
    if (s.out <= s.in) {
      b = s.p.times(s.core);
      a = transpose(s.q.toMat());
    } else {
      b = s.p.toMat();
      a = matmulNT(s.core, s.q.toMat());
    }
    const own = b.cols;
    const r = rank ?? own;
    if (r < own) throw new Error(`${name}: the merged factors have rank ${own}, more than ${r}`);
    return { out: s.out, in: s.in, rank: r, b: padTo(b, s.out, r).data, a: padTo(a, r, s.in).data };
  }

  /** The rank of the factors `factors` returns for a site before padding. */
  factorRank(name: string): number {
    const s = this.site(name);
    return s.out <= s.in ? s.core.cols : s.core.rows;
  }

  /** The largest factor rank over all sites (at least 1, the smallest LoRA rank). */
  get maxRank(): number {
    let r = 1;
    for (const name of this.sites.keys()) r = Math.max(r, this.factorRank(name));
    return r;
  }

  /** Everything needed to continue merging, as JSON and float64 vectors. */
  pack(): { json: Record<string, unknown>; float64: Map<string, Float64Array> } {
    const float64 = new Map<string, Float64Array>();
    const sites: Record<string, { out: number; in: number; n: number; m: number }> = {};
    for (const [name, s] of this.sites) {
      sites[name] = { out: s.out, in: s.in, n: s.p.size, m: s.q.size };
      float64.set(`${name}/p`, s.p.pack());
      float64.set(`${name}/q`, s.q.pack());
      float64.set(`${name}/core`, s.core.data.slice());
    }
    float64.set('norms', Float64Array.from(this.norms));
    return { json: { settings: this.settings, tasks: this.tasks, lambda: this.lambda, sites }, float64 };
  }

  static unpack(json: Record<string, unknown>, float64: Map<string, Float64Array>, where: string): ContinualMerge {
    const sites = json.sites as Record<string, { out: number; in: number; n: number; m: number }> | undefined;
    if (!json.settings || typeof json.tasks !== 'number' || typeof json.lambda !== 'number' || !sites) throw new Error(`${where}: the saved merge is incomplete`);
    const merge = new ContinualMerge(json.settings as MergeSettings);
    merge.tasks = json.tasks;
    merge.lambda = json.lambda;
    const norms = float64.get('norms');
    if (!norms || norms.length !== merge.tasks) throw new Error(`${where}: the saved merge has no norms for its ${merge.tasks} tasks`);
    merge.norms.push(...norms);
    for (const [name, s] of Object.entries(sites)) {
      const p = float64.get(`${name}/p`);
      const q = float64.get(`${name}/q`);
      const core = float64.get(`${name}/core`);
      if (!p || !q || !core || p.length !== s.out * s.n || q.length !== s.in * s.m || core.length !== s.n * s.m) {
        throw new Error(`${where}: the saved merge of ${name} is missing or has the wrong size`);
      }
      merge.sites.set(name, { out: s.out, in: s.in, p: GrowingBasis.unpack(s.out, p), q: GrowingBasis.unpack(s.in, q), core: { rows: s.n, cols: s.m, data: core.slice() } });
    }
    return merge;
  }
}

/** a · x + b · y for same-sized matrices. */
function combine(x: Mat, a: number, y: Mat, b: number): Mat {
  if (x.rows !== y.rows || x.cols !== y.cols) throw new Error(`combine: ${x.rows}x${x.cols} and ${y.rows}x${y.cols}`);
  const out = zeros(x.rows, x.cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a * x.data[i] + b * y.data[i];
  return out;
}

/**
 * OPCM's projection of a task vector (core coordinates) away from the merged one's (`m`) singular directions: with
 * m = U S Vᵀ over its ρ nonzero singular values and k the first index at which cumsum(S)/sum(S) > alpha,
 *   τ' = τ − U_k U_kᵀ τ V_k V_kᵀ − Σ_{k <= i < ρ} (u_iᵀ τ v_i) u_i v_iᵀ,
 * i.e. in the singular bases, the top-left k x k block of Uᵀ τ V and the rest of its diagonal are zeroed.
 */
export function projectAway(m: Mat, tau: Mat, alpha: number): Mat {
  const { u, s, v } = svd(m);
  const rho = numericalRank(s, RANK_RTOL);
  if (rho === 0) return tau;
  const k = dominantCount(s.subarray(0, rho), alpha);
  // G = U_ρᵀ τ V_ρ, then H keeps the entries OPCM removes.
  const uRho = firstCols(u, rho);
  const vRho = firstCols(v, rho);
  const g = matmul(matmulTN(uRho, tau), vRho);
  const h = zeros(rho, rho);
  for (let i = 0; i < rho; i++) {
    for (let j = 0; j < rho; j++) {
      if ((i < k && j < k) || i === j) h.data[i * rho + j] = g.data[i * rho + j];
    }
  }
  const removed = matmulNT(matmul(uRho, h), vRho);
  return combine(tau, 1, removed, -1);
}

/** The first index (0-based) at which the singular values' cumulative share exceeds alpha (ρ when none does). */
export function dominantCount(s: ArrayLike<number>, alpha: number): number {
  let total = 0;
  for (let i = 0; i < s.length; i++) total += s[i];
  let acc = 0;
  for (let i = 0; i < s.length; i++) {
    acc += s[i];
    if (acc / total > alpha) return i;
  }
  return s.length;
}

function firstCols(a: Mat, k: number): Mat {
  const out = zeros(a.rows, k);
  for (let i = 0; i < a.rows; i++) out.data.set(a.data.subarray(i * a.cols, i * a.cols + k), i * k);
  return out;
}

/** Keeps a site's `cap` largest singular directions: rotates its bases onto them and makes the core diagonal. */
function truncate(site: SiteState, cap: number): void {
  const { u, s, v } = svd(site.core);
  const keep = Math.min(cap, numericalRank(s, RANK_RTOL));
  if (keep >= Math.min(site.core.rows, site.core.cols) && site.core.rows <= cap && site.core.cols <= cap) return;
  site.p.rotate(firstCols(u, keep));
  site.q.rotate(firstCols(v, keep));
  const core = zeros(keep, keep);
  for (let i = 0; i < keep; i++) core.data[i * keep + i] = s[i];
  site.core = core;
}

// Small dense float64 linear algebra for merging LoRA task vectors in factor space: products of row-major
// matrices, growing an orthonormal basis by Gram-Schmidt with reorthogonalisation (an incremental thin QR), and the
// SVD of a small core matrix by one-sided Jacobi. Matrices are Float64Array in row-major order with their sizes
// passed alongside. Nothing here is sized by a model's full d_out x d_in.

/** A row-major rows x cols matrix. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function zeros(rows: number, cols: number): Mat {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function fromArray(rows: number, cols: number, data: ArrayLike<number>): Mat {
  if (data.length !== rows * cols) throw new Error(`a ${rows} x ${cols} matrix needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data: Float64Array.from(data) };
}

/** a · b. */
export function matmul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new Error(`matmul: ${a.rows}x${a.cols} times ${b.rows}x${b.cols}`);
  const out = zeros(a.rows, b.cols);
  // Local references to the arrays: the inner loop then compiles to plain loads and stores.
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  const n = b.cols;
  const K = a.cols;
  for (let i = 0; i < a.rows; i++) {
    const o = i * n;
    for (let k = 0; k < K; k++) {
      const v = ad[i * K + k];
      if (v === 0) continue;
      const bo = k * n;
      for (let j = 0; j < n; j++) od[o + j] += v * bd[bo + j];
    }
  }
  return out;
}

/** aᵀ · b (a and b with the same number of rows). */
export function matmulTN(a: Mat, b: Mat): Mat {
  if (a.rows !== b.rows) throw new Error(`matmulTN: (${a.rows}x${a.cols})ᵀ times ${b.rows}x${b.cols}`);
  const out = zeros(a.cols, b.cols);
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  const m = a.cols;
  const n = b.cols;
  for (let k = 0; k < a.rows; k++) {
    const ao = k * m;
    const bo = k * n;
    for (let i = 0; i < m; i++) {
      const v = ad[ao + i];
      if (v === 0) continue;
      const o = i * n;
      for (let j = 0; j < n; j++) od[o + j] += v * bd[bo + j];
    }
  }
  return out;
}

/** a · bᵀ (a and b with the same number of columns). */
export function matmulNT(a: Mat, b: Mat): Mat {
  if (a.cols !== b.cols) throw new Error(`matmulNT: ${a.rows}x${a.cols} times (${b.rows}x${b.cols})ᵀ`);
  const out = zeros(a.rows, b.rows);
  const ad = a.data;
  const bd = b.data;
  const K = a.cols;
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) {
      let s = 0;
      const ao = i * K;
      const bo = j * K;
      for (let k = 0; k < K; k++) s += ad[ao + k] * bd[bo + k];
      out.data[i * b.rows + j] = s;
    }
  }
  return out;
}

export function transpose(a: Mat): Mat {
  const out = zeros(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j];
  return out;
}

export function frobenius(a: Mat): number {
  let s = 0;
  for (const v of a.data) s += v * v;
  return Math.sqrt(s);
}

/** a with zero rows and columns appended up to rows x cols. */
export function padTo(a: Mat, rows: number, cols: number): Mat {
  if (rows < a.rows || cols < a.cols) throw new Error(`cannot pad ${a.rows}x${a.cols} to ${rows}x${cols}`);
  const out = zeros(rows, cols);
  for (let i = 0; i < a.rows; i++) out.data.set(a.data.subarray(i * a.cols, (i + 1) * a.cols), i * cols);
  return out;
}

/** Columns [from, to) of a. */
export function colSlice(a: Mat, from: number, to: number): Mat {
  const out = zeros(a.rows, to - from);
  for (let i = 0; i < a.rows; i++) out.data.set(a.data.subarray(i * a.cols + from, i * a.cols + to), i * (to - from));
  return out;
}

/**
 * An orthonormal basis (the columns of a d x n matrix) that grows column by column. Appending the columns of X keeps
 * those whose part outside the basis is more than `tol` of their norm: classical Gram-Schmidt applied twice and again
 * while a pass still removes more than half the remaining norm ("twice is enough", Kahan and Parlett), so the basis
 * stays orthonormal to rounding even when a new column lies almost inside it. A column lying inside adds nothing.
 */
export class GrowingBasis {
  /** Column-major: basis vector j is cols[j] (length d). */
  readonly vectors: Float64Array[] = [];

  constructor(readonly dim: number) {}

  get size(): number {
    return this.vectors.length;
  }

  /** Appends the parts of X's columns (X: d x c) outside the basis; returns how many vectors were added. */
  extend(x: Mat, tol = 1e-10): number {
    if (x.rows !== this.dim) throw new Error(`a basis of R^${this.dim} cannot take columns of length ${x.rows}`);
    const d = this.dim;
    const c = x.cols;
    // Column-major working copy of X.
    const w = Array.from({ length: c }, (_, j) => {
      const v = new Float64Array(d);
      for (let i = 0; i < d; i++) v[i] = x.data[i * c + j];
      return v;
    });
    const original = w.map(norm);
    // Two block passes against the existing basis: each basis vector is read once per pass for all c columns.
    const existing = this.vectors.length;
    this.subtract(w, 0, existing);
    const afterFirst = w.map(norm);
    this.subtract(w, 0, existing);
    let added = 0;
    for (let j = 0; j < c; j++) {
      const v = w[j];
      if (original[j] === 0) continue;
      // Then twice against the vectors this call added, and again against all while a pass still removes more than
      // half the remaining norm (a column almost inside the basis).
      this.subtract([v], existing, this.vectors.length);
      const mid = norm(v);
      this.subtract([v], existing, this.vectors.length);
      let prev = existing > 0 ? afterFirst[j] : mid;
      let cur = norm(v);
      for (let pass = 0; pass < 3 && cur <= 0.5 * prev && cur > tol * original[j]; pass++) {
        this.subtract([v], 0, this.vectors.length);
        prev = cur;
        cur = norm(v);
      }
      if (cur <= tol * original[j] || this.vectors.length >= d) continue;
      for (let i = 0; i < d; i++) v[i] /= cur;
      this.vectors.push(v);
      added++;
    }
    return added;
  }

  /** Removes from every column of `cols` its components along basis vectors [from, to) (classical Gram-Schmidt). */
  private subtract(cols: Float64Array[], from: number, to: number): void {
    const d = this.dim;
    for (let k = from; k < to; k++) {
      const q = this.vectors[k];
      for (const v of cols) {
        const p = dot(q, v);
        for (let i = 0; i < d; i++) v[i] -= p * q[i];
      }
    }
  }

  /** Basisᵀ · X (size x c): the coordinates of X's columns in the basis. */
  coordinates(x: Mat): Mat {
    if (x.rows !== this.dim) throw new Error(`coordinates: columns of length ${x.rows} in a basis of R^${this.dim}`);
    return matmulTN(this.toMat(), x);
  }

  /** Basis · C (d x c) for C of size x c: vectors given by their coordinates. */
  times(coords: Mat): Mat {
    if (coords.rows !== this.vectors.length) throw new Error(`times: ${coords.rows} coordinates for a basis of ${this.vectors.length}`);
    return matmul(this.toMat(), coords);
  }

  /** The basis as a d x n row-major matrix. */
  toMat(): Mat {
    const n = this.vectors.length;
    const out = zeros(this.dim, n);
    for (let j = 0; j < n; j++) for (let i = 0; i < this.dim; i++) out.data[i * n + j] = this.vectors[j][i];
    return out;
  }

  /** Flat column-major copy (vector after vector), for a checkpoint. */
  pack(): Float64Array {
    const out = new Float64Array(this.dim * this.vectors.length);
    this.vectors.forEach((v, j) => out.set(v, j * this.dim));
    return out;
  }

  static unpack(dim: number, flat: Float64Array): GrowingBasis {
    if (flat.length % dim !== 0) throw new Error(`a basis of R^${dim} cannot hold ${flat.length} values`);
    const b = new GrowingBasis(dim);
    for (let j = 0; j < flat.length / dim; j++) b.vectors.push(flat.slice(j * dim, (j + 1) * dim));
    return b;
  }

  /** Replaces the basis by Basis · R (R: size x k with orthonormal columns), e.g. to keep top singular directions. */
  rotate(r: Mat): void {
    const rotated = this.times(r);
    this.vectors.length = 0;
    for (let j = 0; j < r.cols; j++) {
      const v = new Float64Array(this.dim);
      for (let i = 0; i < this.dim; i++) v[i] = rotated.data[i * r.cols + j];
      this.vectors.push(v);
    }
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** A thin SVD a = U diag(s) Vᵀ with s descending: U rows x k, V cols x k, k = min(rows, cols). */
export interface Svd {
  u: Mat;
  s: Float64Array;
  v: Mat;
}

/**
 * The SVD of a small matrix by one-sided Jacobi (Hestenes): plane rotations orthogonalise the columns of a copy of a
 * (when it has at least as many rows as columns; else of aᵀ) and accumulate in V; the singular values are the final
 * column norms. It converges quadratically and gives small singular values to high relative accuracy, which is what
 * deciding a merge's rank needs. Columns whose norm is 0 get U columns of 0.
 */
export function svd(a: Mat): Svd {
  if (a.rows < a.cols) {
    const t = svd(transpose(a));
    return { u: t.v, s: t.s, v: t.u };
  }
  const m = a.rows;
  const n = a.cols;
  // Column-major working copies: the inner loops walk contiguous columns.
  const w = Array.from({ length: n }, (_, j) => {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = a.data[i * n + j];
    return c;
  });
  const v = Array.from({ length: n }, (_, j) => {
    const c = new Float64Array(n);
    c[j] = 1;
    return c;
  });
  const sq = w.map((c) => dot(c, c));
  const eps = 2.220446049250313e-16;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const wp = w[p];
        const wq = w[q];
        const app = sq[p];
        const aqq = sq[q];
        if (app === 0 || aqq === 0) continue;
        const apq = dot(wp, wq);
        if (Math.abs(apq) <= eps * Math.sqrt(app * aqq)) continue;
        rotated = true;
        // The rotation that zeroes the (p, q) entry of WᵀW.
        const zeta = (aqq - app) / (2 * apq);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = wp[i];
          const y = wq[i];
          wp[i] = c * x - s * y;
          wq[i] = s * x + c * y;
        }
        const vp = v[p];
        const vq = v[q];
        for (let i = 0; i < n; i++) {
          const x = vp[i];
          const y = vq[i];
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
        sq[p] = app - t * apq;
        sq[q] = aqq + t * apq;
      }
    }
    // Recomputed norms, so that the running updates' rounding never accumulates across sweeps.
    for (let j = 0; j < n; j++) sq[j] = dot(w[j], w[j]);
    if (!rotated) break;
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => sq[y] - sq[x]);
  const u = zeros(m, n);
  const vv = zeros(n, n);
  const s = new Float64Array(n);
  order.forEach((j, k) => {
    const sigma = Math.sqrt(sq[j]);
    s[k] = sigma;
    for (let i = 0; i < m; i++) u.data[i * n + k] = sigma > 0 ? w[j][i] / sigma : 0;
    for (let i = 0; i < n; i++) vv.data[i * n + k] = v[j][i];
  });
  return { u, s, v: vv };
}

/** How many singular values count as nonzero: those above `rtol` times the largest. */
export function numericalRank(s: Float64Array, rtol: number): number {
  if (s.length === 0 || s[0] === 0) return 0;
  let k = 0;
  while (k < s.length && s[k] > rtol * s[0]) k++;
  return k;
}

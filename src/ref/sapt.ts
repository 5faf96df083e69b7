// Plain-loop f64 reference of SAPT's attentive-selection ops (shaders/sapt.wgsl), forward and backward side by side.
import type { Vec } from './ops.ts';

// ---------------------------------------------------------------------------------------------
// Masked max and mean pooling over the sequence. No backward: they pool frozen token embeddings.

/** out[b,c] = max over t with mask[b*seq+t] != 0 of x[(b*seq+t)*cols + c]; 0 when the example has none. */
export function maskedMaxPool(x: Vec, mask: Vec, s: { batch: number; seq: number; cols: number }): Float64Array {
  const out = new Float64Array(s.batch * s.cols);
  for (let b = 0; b < s.batch; b++) {
    for (let c = 0; c < s.cols; c++) {
      let m = -Infinity;
      for (let t = 0; t < s.seq; t++) {
        const n = b * s.seq + t;
        if (mask[n] !== 0) m = Math.max(m, x[n * s.cols + c]);
      }
      out[b * s.cols + c] = m === -Infinity ? 0 : m;
    }
  }
  return out;
}

/** out[b,c] = mean over t with mask[b*seq+t] != 0 of x[(b*seq+t)*cols + c]; 0 when the example has none. */
export function maskedMeanPool(x: Vec, mask: Vec, s: { batch: number; seq: number; cols: number }): Float64Array {
  const out = new Float64Array(s.batch * s.cols);
  for (let b = 0; b < s.batch; b++) {
    let count = 0;
    for (let t = 0; t < s.seq; t++) if (mask[b * s.seq + t] !== 0) count++;
    if (count === 0) continue;
    for (let c = 0; c < s.cols; c++) {
      let sum = 0;
      for (let t = 0; t < s.seq; t++) {
        const n = b * s.seq + t;
        if (mask[n] !== 0) sum += x[n * s.cols + c];
      }
      out[b * s.cols + c] = sum / count;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// y = LayerNorm(silu(h)) * gamma + beta (biased variance, eps inside the sqrt)

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export interface NormShape {
  rows: number;
  cols: number;
  eps: number;
}

export function siluLayerNormForward(h: Vec, gamma: Vec, beta: Vec, s: NormShape): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const { rows, cols } = s;
  const y = new Float64Array(rows * cols);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  const a = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += (a[c] = h[r * cols + c] * sigmoid(h[r * cols + c]));
    const mu = sum / cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += (a[c] - mu) ** 2;
    const inv = 1 / Math.sqrt(ss / cols + s.eps);
    mean[r] = mu;
    rstd[r] = inv;
    for (let c = 0; c < cols; c++) y[r * cols + c] = (a[c] - mu) * inv * gamma[c] + beta[c];
  }
  return { y, mean, rstd };
}

export function siluLayerNormBackward(h: Vec, gamma: Vec, mean: Vec, rstd: Vec, dy: Vec, s: NormShape): {
  dh: Float64Array; dgamma: Float64Array; dbeta: Float64Array;
} {
  const { rows, cols } = s;
  const dh = new Float64Array(rows * cols);
  const dgamma = new Float64Array(cols);
  const dbeta = new Float64Array(cols);
  const xhat = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let sg = 0;
    let sgx = 0;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      xhat[c] = (h[i] * sigmoid(h[i]) - mean[r]) * rstd[r];
      const g = dy[i] * gamma[c];
      sg += g;
      sgx += g * xhat[c];
      dgamma[c] += dy[i] * xhat[c];
      dbeta[c] += dy[i];
    }
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const da = rstd[r] * (dy[i] * gamma[c] - sg / cols - (xhat[c] * sgx) / cols);
      const sig = sigmoid(h[i]);
      dh[i] = da * sig * (1 + h[i] * (1 - sig));
    }
  }
  return { dh, dgamma, dbeta };
}

// ---------------------------------------------------------------------------------------------
// Row softmax, and its backward with klScale * KL(target || softmax(x))

export function softmaxRows(x: Vec, s: { rows: number; cols: number }): Float64Array {
  const { rows, cols } = s;
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += (y[r * cols + c] = Math.exp(x[r * cols + c] - m));
    for (let c = 0; c < cols; c++) y[r * cols + c] /= sum;
  }
  return y;
}

/**
 * dx = y ⊙ (dy − Σ_c y·dy) + klScale * (y − target); dy or target may be null (treated as absent terms).
 * klLoss[row] = klScale * Σ_c target·(log target − log y) with 0·log 0 = 0 (zeros without a target).
 */
export function softmaxRowsBackward(y: Vec, dy: Vec | null, target: Vec | null, s: { rows: number; cols: number; klScale: number }): {
  dx: Float64Array; klLoss: Float64Array;
} {
  const { rows, cols } = s;
  const dx = new Float64Array(rows * cols);
  const klLoss = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    if (dy) for (let c = 0; c < cols; c++) dot += y[r * cols + c] * dy[r * cols + c];
    let kl = 0;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      let g = dy ? y[i] * (dy[i] - dot) : 0;
      if (target) {
        g += s.klScale * (y[i] - target[i]);
        if (target[i] > 0) kl += target[i] * (Math.log(target[i]) - Math.log(y[i]));
      }
      dx[i] = g;
    }
    klLoss[r] = s.klScale * kl;
  }
  return { dx, klLoss };
}

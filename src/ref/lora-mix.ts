// Plain-loop f64 reference of multi-block LoRA mixing (shaders/lora_mix.wgsl), forward and backward side by side.
import type { Vec } from './ops.ts';

/** Same fields as LoraMixShape in src/gpu/kernels/lora-mix.ts. */
export interface MixShape {
  tokens: number;
  seq: number;
  blocks: number;
  rank: number;
  outDim: number;
  scale: number;
}

export const mixBatch = (s: MixShape) => Math.ceil(s.tokens / s.seq);

/**
 * y[n,o] = y0[n,o] + scale * Σ_j mix[b(n),j] * Σ_i B[j,o,i] * u[n,j*r+i], b(n) = floor(n / seq).
 * u: [N, J*r], B: [J, outDim, r], mix: [batch, J]; y0 defaults to zeros.
 */
export function loraMixForward(u: Vec, B: Vec, mix: Vec, s: MixShape, y0?: Vec): Float64Array {
  const { tokens: N, seq, blocks: J, rank: r, outDim } = s;
  const jr = J * r;
  const y = y0 ? Float64Array.from(y0) : new Float64Array(N * outDim);
  for (let n = 0; n < N; n++) {
    const b = Math.floor(n / seq);
    for (let o = 0; o < outDim; o++) {
      let acc = 0;
      for (let j = 0; j < J; j++) {
        let z = 0;
        for (let i = 0; i < r; i++) z += B[(j * outDim + o) * r + i] * u[n * jr + j * r + i];
        acc += mix[b * J + j] * z;
      }
      y[n * outDim + o] += s.scale * acc;
    }
  }
  return y;
}

/**
 * Gradients of loraMixForward given dy = dL/dy, with g[n,k] = scale * Σ_o dy[n,o] B[j,o,i] (k = j*r+i):
 *   du[n,k] = mix[b(n),j] g[n,k]                         (dL/du)
 *   duActive[n,i] = du[n, active*r+i]                    (null when active < 0)
 *   uActive[n,i] = scale * mix[b(n),active] u[n, active*r+i], so that dB_active = dyᵀ uActive
 *   dmix[b,j] = Σ_{n in b} Σ_i g[n,k] u[n,k]            (this call's contribution; the kernel adds it)
 */
export function loraMixBackward(u: Vec, B: Vec, mix: Vec, dy: Vec, s: MixShape & { active: number }): {
  du: Float64Array; duActive: Float64Array | null; uActive: Float64Array | null; dmix: Float64Array;
} {
  const { tokens: N, seq, blocks: J, rank: r, outDim, active } = s;
  const jr = J * r;
  const du = new Float64Array(N * jr);
  const dmix = new Float64Array(mixBatch(s) * J);
  const duActive = active >= 0 ? new Float64Array(N * r) : null;
  const uActive = active >= 0 ? new Float64Array(N * r) : null;
  for (let n = 0; n < N; n++) {
    const b = Math.floor(n / seq);
    for (let j = 0; j < J; j++) {
      const m = mix[b * J + j];
      for (let i = 0; i < r; i++) {
        const k = j * r + i;
        let g = 0;
        for (let o = 0; o < outDim; o++) g += dy[n * outDim + o] * B[(j * outDim + o) * r + i];
        g *= s.scale;
        du[n * jr + k] = m * g;
        dmix[b * J + j] += g * u[n * jr + k];
        if (j === active) {
          duActive![n * r + i] = m * g;
          uActive![n * r + i] = s.scale * m * u[n * jr + k];
        }
      }
    }
  }
  return { du, duActive, uActive, dmix };
}

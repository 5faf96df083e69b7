// Folds a PEFT LoRA adapter into the base projection weights: W' = W + scale · B · A for every adapted projection.
import type { ModelConfig } from '../model/config.ts';
import { adapterLayers, loraScale, modulePath, peftKey, projShape, type PeftAdapter } from '../model/peft.ts';
import type { HostTensor } from '../model/weights.ts';

/**
 * W [out, in] + scale · B [out, r] · A [r, in], accumulated in f64 and rounded once to f32. This is the
 * projection the engine computes as x Wᵀ + scale · (x Aᵀ) Bᵀ (src/ref/ops.ts loraForward) with dropout off.
 */
export function mergedWeight(w: HostTensor, a: HostTensor, b: HostTensor, scale: number, label: string): HostTensor {
  const [out, inDim] = w.shape;
  const r = a.shape[0];
  if (w.shape.length !== 2 || a.shape.join() !== `${r},${inDim}` || b.shape.join() !== `${out},${r}`) {
    throw new Error(`${label}: LoRA A [${a.shape.join(',')}] and B [${b.shape.join(',')}] do not fit the weight [${w.shape.join(',')}]`);
  }
  const merged = new Float32Array(out * inDim);
  const row = new Float64Array(inDim);
  for (let o = 0; o < out; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const bk = b.data[o * r + k];
      if (bk === 0) continue;
      for (let i = 0; i < inDim; i++) row[i] += bk * a.data[k * inDim + i];
    }
    for (let i = 0; i < inDim; i++) merged[o * inDim + i] = w.data[o * inDim + i] + scale * row[i];
  }
  return { shape: [out, inDim], data: merged };
}

/**
 * The base weights with the adapter merged into each projection it adapts (PEFT's scale: alpha / r, or
 * alpha / sqrt(r) with rsLoRA). Unadapted tensors are shared with `weights`, which is left unchanged.
 */
export function mergeAdapter(weights: ReadonlyMap<string, HostTensor>, adapter: PeftAdapter, cfg: ModelConfig): Map<string, HostTensor> {
  const scale = loraScale(adapter.config);
  const out = new Map(weights);
  for (const layer of adapterLayers(adapter.config, cfg)) {
    for (const proj of adapter.config.targets) {
      const name = `${modulePath(layer, proj)}.weight`;
      const w = weights.get(name);
      const a = adapter.tensors.get(peftKey(layer, proj, 'A'));
      const b = adapter.tensors.get(peftKey(layer, proj, 'B'));
      if (!w) throw new Error(`the base model has no ${name} to merge the adapter into`);
      if (!a || !b) throw new Error(`the adapter has no LoRA A/B for ${modulePath(layer, proj)}`);
      const s = projShape(cfg, proj);
      if (w.shape.join() !== `${s.out},${s.in}`) throw new Error(`${name} has shape [${w.shape.join(',')}], expected [${s.out},${s.in}]`);
      out.set(name, mergedWeight(w, a, b, scale, modulePath(layer, proj)));
    }
  }
  return out;
}

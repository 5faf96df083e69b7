// A random SAPT model folder for a model config, as clora run writes one (router_config.json, router.safetensors,
// adapters/<block>/): every tensor random, the norm away from 1 and 0 and the keys spread, so routing is not uniform.
import type { ModelConfig } from '../../src/model/config.ts';
import { loraTensorShapes, writePeftAdapter, type LoraConfig } from '../../src/model/peft.ts';
import { writeSafetensors } from '../../src/model/safetensors.ts';
import { ROUTER_KEYS, ROUTER_NORM_EPS, saptConfigJson, type RouterPool } from '../../src/model/sapt-files.ts';
import { randomArray } from './random.ts';

export function randomSaptFolder(cfg: ModelConfig, opts: { lora: LoraConfig; blocks: string[]; bottleneck: number; pool?: RouterPool; seed: number }): Record<string, Uint8Array | string> {
  const H = cfg.hiddenSize;
  const k = opts.bottleneck;
  const J = opts.blocks.length;
  let seed = opts.seed;
  const random = (shape: number[], scale: number, offset = 0) => ({ shape, data: randomArray(shape[0] * shape[1], seed++, scale).map((v) => offset + v) });
  const files: Record<string, Uint8Array | string> = {
    'router_config.json': saptConfigJson({ pool: opts.pool ?? 'mean', bottleneck: k, normEps: ROUTER_NORM_EPS, blocks: opts.blocks }),
    'router.safetensors': writeSafetensors(new Map([
      [ROUTER_KEYS.down, random([k, H], 0.5)],
      [ROUTER_KEYS.up, random([H, k], 0.5)],
      [ROUTER_KEYS.normWeight, random([1, H], 0.5, 1)],
      [ROUTER_KEYS.normBias, random([1, H], 0.2)],
      [ROUTER_KEYS.keys, random([J, H], 2)],
    ])),
  };
  for (const block of opts.blocks) {
    const tensors = new Map([...loraTensorShapes(opts.lora, cfg)].map(([key, shape]) => [key, random(shape, 0.3)]));
    for (const [name, content] of Object.entries(writePeftAdapter(opts.lora, cfg, tensors))) files[`adapters/${block}/${name}`] = content;
  }
  return files;
}

// Times the continual merges in factor space at a real model's shapes: 15 synthetic rank-8 task LoRAs on every layer
// of Qwen2.5-0.5B (24 layers, hidden 896, intermediate 4864, 2 key/value heads of 64), on q/v or all seven
// projections, merged one after another by OPCM, task arithmetic and the running average, with the merged adapter's
// factors formed after every task (what a run writes and uploads). CPU only, no GPU involved.
//   node --import tsx bench/merge.bench.ts [--tasks 15] [--rank 8] [--targets qv|all] [--methods opcm,merge-ta,merge-avg]
import { ContinualMerge, type MergeKind, type SiteFactors } from '../src/cl/merge/factored-merge.ts';
import { createRng } from '../src/model/rng.ts';

const QWEN = { layers: 24, hidden: 896, intermediate: 4864, q: 14 * 64, kv: 2 * 64 };
const SHAPES: Record<string, { out: number; in: number }> = {
  q_proj: { out: QWEN.q, in: QWEN.hidden },
  k_proj: { out: QWEN.kv, in: QWEN.hidden },
  v_proj: { out: QWEN.kv, in: QWEN.hidden },
  o_proj: { out: QWEN.hidden, in: QWEN.q },
  gate_proj: { out: QWEN.intermediate, in: QWEN.hidden },
  up_proj: { out: QWEN.intermediate, in: QWEN.hidden },
  down_proj: { out: QWEN.hidden, in: QWEN.intermediate },
};

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const tasks = Number(arg('tasks', '15'));
const rank = Number(arg('rank', '8'));
const targetSets = arg('targets', 'qv,all').split(',');
const kinds = arg('methods', 'opcm,merge-ta,merge-avg').split(',') as MergeKind[];

function syntheticTask(targets: string[], seed: number): Map<string, SiteFactors> {
  const rng = createRng(seed);
  const gauss = (n: number, s: number) => Float32Array.from({ length: n }, () => (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * s);
  const m = new Map<string, SiteFactors>();
  for (let l = 0; l < QWEN.layers; l++) {
    for (const p of targets) {
      const { out, in: inDim } = SHAPES[p];
      m.set(`model.layers.${l}.${p}`, { b: gauss(out * rank, 0.01), a: gauss(rank * inDim, 1 / Math.sqrt(inDim)), out, in: inDim, rank });
    }
  }
  return m;
}

for (const set of targetSets) {
  const targets = set === 'qv' ? ['q_proj', 'v_proj'] : Object.keys(SHAPES);
  const inputs = Array.from({ length: tasks }, (_, t) => syntheticTask(targets, 1000 + t));
  for (const kind of kinds) {
    const merge = new ContinualMerge({ kind, alpha: 0.5, lambda: 0.3, rankCap: null });
    let mergeMs = 0;
    let factorMs = 0;
    // CPU time too: on a shared machine the wall time says little.
    const cpu0 = process.cpuUsage();
    for (const task of inputs) {
      const t0 = performance.now();
      merge.add(task, 2);
      const t1 = performance.now();
      const r = merge.maxRank;
      for (const site of merge.siteNames) merge.factors(site, r);
      factorMs += performance.now() - t1;
      mergeMs += t1 - t0;
    }
    console.log(JSON.stringify({
      method: kind, model: 'Qwen2.5-0.5B shapes', targets: set, projections: merge.siteNames.length, tasks, rank,
      mergedRank: merge.maxRank, mergeSeconds: +(mergeMs / 1000).toFixed(2), factorSeconds: +(factorMs / 1000).toFixed(2),
      totalSeconds: +((mergeMs + factorMs) / 1000).toFixed(2),
      cpuSeconds: +((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6).toFixed(2),
    }));
  }
}

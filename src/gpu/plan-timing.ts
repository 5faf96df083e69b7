// Times every dispatch of recorded plans on the device with timestamp queries: each dispatch runs in a compute pass of
// its own whose beginning and end write a timestamp. Separate passes add the device's pass overhead to each dispatch
// and keep it from overlapping the next one, so the sum is an upper bound of the plans' GPU time. The plan profiler
// (`npm run bench -- --plan --timestamps`) sums these per kernel class.
import type { Gpu } from './context.ts';
import type { Plan } from './plan.ts';

/** Queries one query set holds (WebGPU's maximum count). */
const MAX_QUERIES = 4096;

export function hasTimestamps(gpu: Gpu): boolean {
  return gpu.device.features.has('timestamp-query');
}

/**
 * Milliseconds each dispatch of `plans` took on the GPU, in plan order (the order of planDispatches), averaged over
 * `reps` runs after one unmeasured run. The plans' inputs must already be written: they run as they are.
 */
export async function timeDispatches(gpu: Gpu, plans: readonly Plan[], reps = 3): Promise<number[]> {
  if (!hasTimestamps(gpu)) throw new Error(`this device (${gpu.adapter.description || gpu.adapter.vendor}) has no timestamp-query feature: per-dispatch timings need it`);
  const count = plans.reduce((n, p) => n + p.dispatchCount, 0);
  const perSet = MAX_QUERIES / 2;
  const sets = Array.from({ length: Math.ceil(count / perSet) }, (_, i) =>
    gpu.device.createQuerySet({ type: 'timestamp', count: Math.min(MAX_QUERIES, 2 * (count - i * perSet)), label: `plan-timing.${i}` }));
  const resolve = gpu.device.createBuffer({ label: 'plan-timing.resolve', size: Math.max(16, 2 * count * 8), usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const staging = gpu.device.createBuffer({ label: 'plan-timing.read', size: Math.max(16, 2 * count * 8), usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const sums = new Float64Array(count);
  try {
    for (let rep = -1; rep < reps; rep++) {
      const enc = gpu.device.createCommandEncoder({ label: 'plan-timing' });
      let i = 0;
      for (const plan of plans) {
        for (const op of plan.ops) {
          if (op.kind === 'clear') enc.clearBuffer(op.buffer, op.offset, op.size);
          else if (op.kind === 'copy') enc.copyBufferToBuffer(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
          else {
            const set = sets[Math.floor(i / perSet)];
            const at = 2 * (i % perSet);
            const pass = enc.beginComputePass({ label: op.label, timestampWrites: { querySet: set, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 } });
            pass.setPipeline(op.pipeline);
            pass.setBindGroup(0, op.bindGroup);
            pass.dispatchWorkgroups(op.x, op.y, op.z);
            pass.end();
            i++;
          }
        }
      }
      sets.forEach((set, s) => enc.resolveQuerySet(set, 0, set.count, resolve, s * MAX_QUERIES * 8));
      enc.copyBufferToBuffer(resolve, 0, staging, 0, 2 * count * 8);
      gpu.device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const stamps = new BigInt64Array(staging.getMappedRange(0, 2 * count * 8).slice(0));
      staging.unmap();
      gpu.throwIfFailed();
      if (rep < 0) continue;
      for (let d = 0; d < count; d++) sums[d] += Math.max(0, Number(stamps[2 * d + 1] - stamps[2 * d])) / 1e6;
    }
  } finally {
    for (const s of sets) s.destroy();
    resolve.destroy();
    staging.destroy();
  }
  return Array.from(sums, (s) => s / reps);
}

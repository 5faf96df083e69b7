// The workgroup reductions shared by the row kernels (shaders/row_reduce_subgroup.wgsl and
// shaders/row_reduce_tree.wgsl, chosen by src/gpu/kernels/row-reduce.ts), on real WebGPU: every
// function on both paths, at workgroup widths from 1 to 256 (below, at and above the device's
// subgroup size, so subgroups are also partly filled) and row lengths that leave invocations idle or
// give them uneven counts; every invocation's result is checked, not only the first one's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Gpu } from '../../src/gpu/context.ts';
import { record } from '../../src/gpu/kernels/record.ts';
import { rowReduceShader, rowReduceShaders } from '../../src/gpu/kernels/row-reduce.ts';
import { assertClose } from '../helpers/assert.ts';
import { randomArray } from '../helpers/random.ts';
import { assertReductionPath, kernelHarness, REDUCTION_PATHS, releaseTestGpu, testGpu, withReductionPath } from '../helpers/gpu.ts';

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
  assert.ok(gpu.adapter.vendor !== undefined, 'a WebGPU adapter is required');
});
after(releaseTestGpu);

const { up, zeros, run } = kernelHarness(() => gpu);

/** Outputs per invocation of the test kernel, in this order. */
const OUTPUTS = ['max', 'sum', 'sum2.x', 'sum2.y', 'max2.x', 'max2.y', 'sum of squares'] as const;

// One workgroup per row of n (a, b) pairs; five reductions in a row, alternating slots, the last
// reusing slot 0 right after slot 1.
const kernel = `
override RED_WG: u32 = 64u;

struct Params { n: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(RED_WG)
fn reduce_rows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * p.n;
  var mx = -3.4e38;
  var sm = 0.0;
  var s2 = vec2f(0.0);
  var m2 = vec2f(-3.4e38);
  var sq = 0.0;
  for (var c = lid; c < p.n; c += RED_WG) {
    let v = x[base + c];
    mx = max(mx, v.x);
    sm += v.x;
    s2 += v;
    m2 = max(m2, v);
    sq = fma(v.y, v.y, sq);
  }
  let r_max = row_max(lid, mx, 0u);
  let r_sum = row_sum(lid, sm, 1u);
  let r_sum2 = row_sum2(lid, s2, 0u);
  let r_max2 = row_max2(lid, m2, 1u);
  let r_sq = row_sum(lid, sq, 0u);
  let o = (wid.x * RED_WG + lid) * ${OUTPUTS.length}u;
  out[o] = r_max;
  out[o + 1u] = r_sum;
  out[o + 2u] = r_sum2.x;
  out[o + 3u] = r_sum2.y;
  out[o + 4u] = r_max2.x;
  out[o + 5u] = r_max2.y;
  out[o + 6u] = r_sq;
}
`;
const shaders = rowReduceShaders('row_reduce_test', kernel);

/** The f64 reductions of each row of pairs, in OUTPUTS order. */
function expected(x: Float32Array, rows: number, n: number): number[][] {
  return Array.from({ length: rows }, (_, r) => {
    let mx = -Infinity, sum = 0, sumB = 0, maxB = -Infinity, sq = 0;
    for (let c = 0; c < n; c++) {
      const a = x[2 * (r * n + c)], b = x[2 * (r * n + c) + 1];
      mx = Math.max(mx, a);
      sum += a;
      sumB += b;
      maxB = Math.max(maxB, b);
      sq += b * b;
    }
    return [mx, sum, sum, sumB, mx, maxB, sq];
  });
}

describe('row reductions (subgroup and tree paths)', () => {
  it('the test device has the subgroups feature, and kernels use it by default', () => {
    assert.ok(gpu.hasSubgroups, `the test device (${gpu.adapter.vendor} ${gpu.adapter.description}) lacks "subgroups"; SwiftShader has it`);
    assert.equal(gpu.useSubgroups, true);
    assert.equal(rowReduceShader(gpu, shaders), shaders.subgroup);
    assert.match(shaders.subgroup.code, /^enable subgroups;/, 'the enable directive opens the module');
  });

  it('a device without subgroups builds the tree path and refuses the subgroup one', () => {
    const device = {
      features: new Set<string>(),
      limits: gpu.device.limits,
      lost: new Promise<never>(() => {}),
      addEventListener: () => {},
      createBuffer: ({ size }: GPUBufferDescriptor) => ({ size, destroy: () => {} }),
    } as unknown as GPUDevice;
    const plain = new Gpu(device, gpu.adapter);
    assert.equal(plain.hasSubgroups, false);
    assert.equal(plain.useSubgroups, false);
    assert.equal(rowReduceShader(plain, shaders), shaders.tree);
    assert.throws(() => { plain.useSubgroups = true; }, /without the "subgroups" feature/);
  });

  for (const path of REDUCTION_PATHS) {
    for (const width of [1, 2, 4, 8, 32, 64, 256]) {
      it(`sum, max, vec2 sum and max, slots reused: ${width}-wide workgroups, ${path} reductions`, () => withReductionPath(gpu, path, async () => {
        // Rows shorter than the workgroup (idle invocations), one past it, and long ones of uneven split.
        for (const n of [1, 3, width + 1, 1001]) {
          const rows = 3;
          const x = randomArray(rows * n * 2, width * 7 + n, 2);
          const params = gpu.uniform('row_reduce_test.params', [n, 0, 0, 0], ['u32', 'u32', 'u32', 'u32']);
          const out = zeros(rows * width * OUTPUTS.length);
          const plan = await run((plan) => record(gpu, plan, {
            shader: rowReduceShader(gpu, shaders), entry: 'reduce_rows', label: 'row_reduce_test', constants: { RED_WG: width },
            bindings: { 0: params, 1: up(x), 2: out }, workgroups: [rows],
            cost: { kernel: 'row_reduce_test', flops: rows * n * 2 * OUTPUTS.length, bytes: (rows * n * 2 + rows * width * OUTPUTS.length) * 4 },
          }));
          assertReductionPath(plan, path);
          const got = await gpu.readF32(out);
          const want = expected(x, rows, n);
          for (let r = 0; r < rows; r++) {
            for (let lid = 0; lid < width; lid++) {
              const o = (r * width + lid) * OUTPUTS.length;
              // Maxima pick one of their inputs: exact. Sums of <= 1001 f32 values of magnitude <= 2
              // (or their squares, <= 4) in another order than the f64 reference: atol 2e-4, rtol 1e-5.
              OUTPUTS.forEach((name, k) => {
                const tol = name.startsWith('max') ? { rtol: 0, atol: 0 } : { rtol: 1e-5, atol: 2e-4 };
                assertClose([got[o + k]], [want[r][k]], tol, `${name}, n=${n}, row ${r}, invocation ${lid}`);
              });
            }
          }
        }
      }));
    }
  }
});

// The continual-learning reference gradients (EWC, O-LoRA orthogonality and L2, LwF distillation) against central finite differences, in f64.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as reg from '../../src/ref/regularizers.ts';
import { matmul } from '../../src/ref/ops.ts';
import { assertClose } from '../helpers/assert.ts';
import { randomArray } from '../helpers/random.ts';

// Central differences with step 1e-5 on smooth f64 losses of O(1) terms: truncation ~h^2 * f''' ~ 1e-10,
// rounding ~1e-16 / 1e-5 ~ 1e-11 per unit of loss. Tolerances: rtol 1e-6, atol 1e-7.
const TOL = { rtol: 1e-6, atol: 1e-7 };
const H = 1e-5;

function numericGrad(x: Float64Array, loss: (x: Float64Array) => number): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i];
    x[i] = keep + H;
    const up = loss(x);
    x[i] = keep - H;
    const down = loss(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * H);
  }
  return g;
}

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

describe('continual-learning reference gradients vs finite differences', () => {
  it('O-LoRA L2 term lambda sum_s ||theta_s||_2 over segments', () => {
    const theta = f64(randomArray(40, 9));
    const segments: [number, number][] = [[0, 7], [10, 1], [13, 27]];
    const lambda = 0.3;
    const { grad, loss } = reg.l2NormPenalty(theta, segments, lambda);
    assertClose(grad, numericGrad(theta, (x) => reg.l2NormPenalty(x, segments, lambda).loss), TOL, 'L2 gradient');
    assertClose([loss], [lambda * (Math.hypot(...theta.subarray(0, 7)) + Math.abs(theta[10]) + Math.hypot(...theta.subarray(13)))], { rtol: 1e-12, atol: 0 }, 'L2 value');
    for (const i of [7, 8, 9, 11, 12]) assert.equal(grad[i], 0, `element ${i} outside every segment`);
  });

  it('EWC penalty (lambda/2) sum F (theta - theta*)^2', () => {
    const n = 37;
    const theta = f64(randomArray(n, 1));
    const anchor = f64(randomArray(n, 2));
    const fisher = f64(randomArray(n, 3)).map(Math.abs);
    const lambda = 0.7;
    const { grad, loss } = reg.ewcPenalty(theta, anchor, fisher, lambda);
    let expected = 0;
    for (let i = 0; i < n; i++) expected += 0.5 * lambda * fisher[i] * (theta[i] - anchor[i]) ** 2;
    assertClose([loss], [expected], { rtol: 1e-12, atol: 0 }, 'EWC penalty value');
    assertClose(grad, numericGrad(theta, (x) => reg.ewcPenalty(x, anchor, fisher, lambda).loss), TOL, 'EWC grad');
  });

  it('Fisher accumulation adds weight * g^2', () => {
    const f0 = f64(randomArray(9, 4)).map(Math.abs);
    const g = f64(randomArray(9, 5));
    const f1 = reg.fisherAccumulate(f0, g, 0.25);
    assertClose(f1, f0.map((v, i) => v + 0.25 * g[i] * g[i]), { rtol: 1e-15, atol: 0 }, 'fisher');
  });

  it('O-LoRA orthogonality loss sum |Aold Anewᵀ|', () => {
    const [rOld, r, d] = [6, 4, 9];
    const aOld = f64(randomArray(rOld * d, 6));
    const aNew = f64(randomArray(r * d, 7));
    const { loss, product, dAnew } = reg.oLoraOrthLoss(aOld, aNew, rOld, r, d);
    // |.| is differentiable where no product is near 0: every |M_ij| must exceed the step's effect.
    const minAbs = Math.min(...Array.from(product, Math.abs));
    assert.ok(minAbs > 1e-3, `a product entry is too close to 0 (${minAbs}) for finite differences`);
    assertClose([loss], [matmul(aOld, aNew, rOld, r, d, { transB: true }).reduce((s, v) => s + Math.abs(v), 0)], { rtol: 1e-12, atol: 0 }, 'loss value');
    assertClose(dAnew, numericGrad(aNew, (x) => reg.oLoraOrthLoss(aOld, x, rOld, r, d).loss), TOL, 'dAnew');
  });

  for (const temperature of [1, 2, 0.5]) {
    it(`LwF distillation loss w.r.t. the student logits (T=${temperature}, ignored rows)`, () => {
      const [rows, vocab] = [5, 11];
      const student = f64(randomArray(rows * vocab, 8, 3));
      const teacher = f64(randomArray(rows * vocab, 9, 3));
      const targets = [3, -100, 0, -100, 10];
      const opts = { temperature, weight: 0.8 };
      const { dStudent, rowLoss, loss } = reg.distillLoss(student, teacher, targets, rows, vocab, opts);
      assert.equal(rowLoss[1], 0);
      assert.equal(rowLoss[3], 0);
      assert.ok(loss > 0, 'KL of different distributions is positive');
      assertClose(dStudent, numericGrad(student, (x) => reg.distillLoss(x, teacher, targets, rows, vocab, opts).loss), TOL, 'dStudent');
      // Identical logits: zero loss and zero gradient.
      const same = reg.distillLoss(teacher, teacher, targets, rows, vocab, opts);
      assertClose([same.loss], [0], { rtol: 0, atol: 1e-14 }, 'KL(p || p)');
      assertClose(same.dStudent, new Float64Array(rows * vocab), { rtol: 0, atol: 1e-15 }, 'grad at p = q');
    });
  }
});

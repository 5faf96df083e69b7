// Continual-learning methods' loss terms, routing and sampling helpers on tiny tensors, checked against values worked out by hand.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Bank } from '../../src/engine/bank.ts';
import type { EncodedExample } from '../../src/data/encode.ts';
import type { Task } from '../../src/data/task.ts';
import { createRng } from '../../src/model/rng.ts';
import { distillLoss, ewcPenalty, fisherAccumulate, oLoraOrthLoss } from '../../src/ref/regularizers.ts';
import { softmaxRows, softmaxRowsBackward } from '../../src/ref/sapt.ts';
import { loraMixForward } from '../../src/ref/lora-mix.ts';
import {
  allBlocks, EpochSampler, inBatches, oneHot, promptOnly, ReplayMemory,
  type EncodedTask, type MethodContext,
} from '../../src/cl/methods/method.ts';
import { meanRows, padReference, SaptMethod } from '../../src/cl/methods/sapt.ts';
import { selectorExample, topKMixture } from '../../src/cl/methods/conpet-dynamic.ts';
import { accumulateFisher } from '../../src/cl/methods/ewc.ts';
import { ReplayMethod } from '../../src/cl/methods/replay.ts';
import { IncLoraMethod, OracleMethod } from '../../src/cl/methods/block-bank.ts';
import { createMethod } from '../../src/cl/methods/index.ts';
import { assertClose } from '../helpers/assert.ts';

// Hand values below are f64 results of short closed forms; 1e-12 leaves room only for the last-bit
// rounding of exp/log. Float32 outputs are compared at 1e-7 (f32 has ~6e-8 relative precision).
const F64 = { rtol: 1e-12, atol: 1e-12 };
const F32 = { rtol: 1e-7, atol: 1e-7 };
const IGN = -100;

// σ(1) = e/(1+e) with e = 2.718281828459045: 2.718281828459045 / 3.718281828459045 = 0.7310585786300049
const SIG1 = 0.7310585786300049;
// σ(−1) = 1 − σ(1) = 0.2689414213699951
const SIGM1 = 0.2689414213699951;
// σ(1) − σ(−1) = (e − 1)/(e + 1) = tanh(1/2) = 0.46211715726000974
const TANH_HALF = 0.46211715726000974;

/** A task of n examples: prompt [base + i, base], answer [9]; raw input `in<i>`. */
function encodedTask(index: number, n: number, base: number): EncodedTask {
  const raw = Array.from({ length: n }, (_, i) => ({ input: `in${i}`, output: 'nine' }));
  const task: Task = { name: `task${index}`, instruction: 'Answer.', train: raw, test: [], dev: [], labels: null, source: `task${index}.jsonl` };
  const train: EncodedExample[] = raw.map((_, i) => ({ ids: [base + i, base, 9], labels: [IGN, IGN, 9], promptLength: 2, truncated: 0 }));
  return { task, index, train, test: [], metric: 'em' };
}

describe('EWC', () => {
  it('penalty (lambda/2) Σ F (θ − θ*)² and gradient lambda F (θ − θ*) on 3 parameters', () => {
    // θ = [1, 2, −1], θ* = [0, 2.5, 1], F = [2, 4, 0.5], lambda = 3
    // θ − θ* = [1, −0.5, −2]
    // F (θ − θ*)² = [2·1, 4·0.25, 0.5·4] = [2, 1, 2], sum 5 -> penalty = 3/2 · 5 = 7.5
    // gradient = 3 · [2·1, 4·(−0.5), 0.5·(−2)] = [6, −6, −3]
    const { loss, grad } = ewcPenalty([1, 2, -1], [0, 2.5, 1], [2, 4, 0.5], 3);
    assert.equal(loss, 7.5);
    assert.deepEqual(Array.from(grad), [6, -6, -3]);
  });

  it('no penalty at the anchor or with zero Fisher', () => {
    assert.equal(ewcPenalty([1, 2, -1], [1, 2, -1], [2, 4, 0.5], 3).loss, 0);
    const zeroF = ewcPenalty([1, 2, -1], [0, 0, 0], [0, 0, 0], 3);
    assert.equal(zeroF.loss, 0);
    assert.ok(zeroF.grad.every((g) => g === 0), `grad ${zeroF.grad}`);
  });

  it('accumulateFisher adds the mean of squared gradients per call, summed across calls', () => {
    const fisher = new Float64Array(3);
    // Task 1, two batches: g1 = [1, −2, 0.5], g2 = [3, 0, −1.5]
    // mean of squares = ([1, 4, 0.25] + [9, 0, 2.25]) / 2 = [5, 2, 1.25]
    accumulateFisher(fisher, [Float32Array.of(1, -2, 0.5), Float32Array.of(3, 0, -1.5)]);
    assert.deepEqual(Array.from(fisher), [5, 2, 1.25]);
    // Task 2, one batch g3 = [2, 1, −1]: squares [4, 1, 1], added -> [9, 3, 2.25]
    accumulateFisher(fisher, [Float32Array.of(2, 1, -1)]);
    assert.deepEqual(Array.from(fisher), [9, 3, 2.25]);
    // No batches: unchanged (not a division by zero).
    accumulateFisher(fisher, []);
    assert.deepEqual(Array.from(fisher), [9, 3, 2.25]);
  });

  it('accumulateFisher agrees with the reference fisherAccumulate (weight 1/batches)', () => {
    const g1 = Float32Array.of(1, -2, 0.5);
    const g2 = Float32Array.of(3, 0, -1.5);
    const ref = fisherAccumulate(fisherAccumulate([0, 0, 0], g1, 0.5), g2, 0.5);
    const got = new Float64Array(3);
    accumulateFisher(got, [g1, g2]);
    assert.deepEqual(Array.from(got), Array.from(ref));
  });
});

describe('O-LoRA orthogonality', () => {
  // A_old (r_old = 2, d = 3) = [[1, 2, 0], [0, −1, 3]]
  const aOld = [1, 2, 0, 0, -1, 3];

  it('Σ |A_old A_newᵀ| and its gradient sign(A_old A_newᵀ)ᵀ A_old', () => {
    // A_new (r = 1) = [[1, 1, −1]]
    // M = A_old A_newᵀ: row 0 = 1·1 + 2·1 + 0·(−1) = 3; row 1 = 0·1 + (−1)·1 + 3·(−1) = −4
    // loss = |3| + |−4| = 7
    // dA_new = sign(M)ᵀ A_old = (+1)·[1, 2, 0] + (−1)·[0, −1, 3] = [1, 3, −3]
    const r = oLoraOrthLoss(aOld, [1, 1, -1], 2, 1, 3);
    assert.deepEqual(Array.from(r.product), [3, -4]);
    assert.equal(r.loss, 7);
    assert.deepEqual(Array.from(r.dAnew), [1, 3, -3]);
  });

  it('a zero entry of the product gives no gradient (sign 0)', () => {
    // A_new = [[2, −1, 1]]: row 0 = 2 − 2 + 0 = 0; row 1 = 0 + 1 + 3 = 4 -> loss 4
    // dA_new = 0·[1, 2, 0] + 1·[0, −1, 3] = [0, −1, 3]
    const r = oLoraOrthLoss(aOld, [2, -1, 1], 2, 1, 3);
    assert.deepEqual(Array.from(r.product), [0, 4]);
    assert.equal(r.loss, 4);
    assert.deepEqual(Array.from(r.dAnew), [0, -1, 3]);
  });

  it('the method adds the term only from the second task, with lambda1', () => {
    const m = createMethod('olora', { lambda1: 0.25 });
    const ctx = {} as MethodContext;
    assert.deepEqual(m.extras(ctx, 0, 0), {});
    assert.deepEqual(m.extras(ctx, 1, 0), { orthoLambda: 0.25 });
    assert.deepEqual(createMethod('olora', { lambda1: 0 }).extras(ctx, 2, 0), {});
  });
});

describe('LwF distillation', () => {
  it('T²·KL(p_t || p_s) and gradient T (p_s − p_t) on one 2-class row, T = 2', () => {
    // student s = [1, −1] -> s/T = [0.5, −0.5] -> p_s = [σ(1), σ(−1)] = [0.7310585786300049, 0.2689414213699951]
    //   (e^0.5 / (e^0.5 + e^−0.5) = 1 / (1 + e^−1) = σ(1))
    // teacher t = [0, 2] -> t/T = [0, 1] -> p_t = [σ(−1), σ(1)]
    // KL(p_t || p_s) = σ(−1) ln(σ(−1)/σ(1)) + σ(1) ln(σ(1)/σ(−1)) = (σ(1) − σ(−1)) · ln(e) = tanh(1/2)
    //                = 0.46211715726000974
    // loss = T² · KL = 4 · 0.46211715726000974 = 1.848468629040039
    // grad = T (p_s − p_t) = 2 · [σ(1) − σ(−1), σ(−1) − σ(1)] = [0.9242343145200195, −0.9242343145200195]
    const r = distillLoss([1, -1], [0, 2], [0], 1, 2, { temperature: 2, weight: 1 });
    assert.ok(Math.abs(r.loss - 1.848468629040039) <= 1e-9, `loss ${r.loss}`);
    assertClose(r.dStudent, [0.9242343145200195, -0.9242343145200195], { rtol: 0, atol: 1e-9 }, 'dStudent');
    // The probabilities behind it, as the comment derives them.
    assertClose(softmaxRows([0.5, -0.5, 0, 1], { rows: 2, cols: 2 }), [SIG1, SIGM1, SIGM1, SIG1], F64, 'p_s, p_t');
  });

  it('weight and invCount scale the loss and the gradient; ignored rows count for nothing', () => {
    // Row 0 as above; row 1 student = teacher = [3, 3] -> KL 0, grad 0; row 2 target −100 (ignored).
    // Counted rows: 2 -> invCount = 1/2; weight = 0.5
    // loss = 0.5 · 4 · tanh(1/2) · 1/2 = tanh(1/2) = 0.46211715726000974
    // grad row 0 = 0.5 · 2 · (p_s − p_t) · 1/2 = 0.5 · [tanh(1/2), −tanh(1/2)] = [0.23105857863000487, −0.23105857863000487]
    const student = [1, -1, 3, 3, 5, -5];
    const teacher = [0, 2, 3, 3, -5, 5];
    const r = distillLoss(student, teacher, [0, 1, -100], 3, 2, { temperature: 2, weight: 0.5 });
    assert.ok(Math.abs(r.loss - TANH_HALF) <= 1e-9, `loss ${r.loss}`);
    assertClose(r.rowLoss, [TANH_HALF, 0, 0], { rtol: 0, atol: 1e-9 }, 'rowLoss');
    assertClose(r.dStudent, [0.23105857863000487, -0.23105857863000487, 0, 0, 0, 0], { rtol: 0, atol: 1e-9 }, 'dStudent');
    // An explicit invCount = 1/4 (e.g. all answer positions of the batch): loss halves again.
    const q = distillLoss(student, teacher, [0, 1, -100], 3, 2, { temperature: 2, weight: 0.5, invCount: 0.25 });
    assert.ok(Math.abs(q.loss - TANH_HALF / 2) <= 1e-9, `loss ${q.loss}`);
    assertClose(q.dStudent.subarray(0, 2), [0.11552928931500244, -0.11552928931500244], { rtol: 0, atol: 1e-9 }, 'dStudent/4');
  });

  it('the method distills only once a teacher exists', () => {
    assert.deepEqual(createMethod('lwf', { temperature: 2 }).extras({} as MethodContext, 0, 0), {});
  });
});

describe('SAPT', () => {
  it('attention = softmax(<k_j, x> / sqrt(d)) for d = 4', () => {
    // x = [1, 0, 2, −1]; keys k1 = [1, 1, 0, 0], k2 = [0, 1, 1, 0], k3 = [0, 0, 0, 2]
    // <k_j, x> = [1, 2, −2]; tau = sqrt(4) = 2 -> scores [0.5, 1, −1]
    // exp: [e^0.5, e^1, e^−1] = [1.6487212707001282, 2.718281828459045, 0.36787944117144233], sum 4.7348825403306165
    // w = [0.3482074278837348, 0.5740969929676945, 0.07769557914857057]
    const x = [1, 0, 2, -1];
    const keys = [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 2]];
    const scores = keys.map((k) => k.reduce((s, v, i) => s + v * x[i], 0) / Math.sqrt(4));
    assert.deepEqual(scores, [0.5, 1, -1]);
    const w = softmaxRows(scores, { rows: 1, cols: 3 });
    assertClose(w, [0.3482074278837348, 0.5740969929676945, 0.07769557914857057], F64, 'w');
  });

  it('ARM: klScale · KL(target || w) and gradient klScale (w − target) for a zero-padded target', () => {
    // Stored reference of an earlier task over 2 blocks [0.75, 0.25], padded to 3 blocks: [0.75, 0.25, 0]
    // w = softmax([ln 2, 0, 0]) = [2, 1, 1] / 4 = [0.5, 0.25, 0.25]
    // KL = 0.75 ln(0.75/0.5) + 0.25 ln(0.25/0.25) + 0 (0·log 0 = 0) = 0.75 ln 1.5
    //    = 0.75 · 0.4054651081081644 = 0.3040988310811233
    // klScale = klRatio / rows = 0.5 / 2 = 0.25 -> loss = 0.07602470777028082
    // grad = 0.25 · ([0.5, 0.25, 0.25] − [0.75, 0.25, 0]) = 0.25 · [−0.25, 0, 0.25] = [−0.0625, 0, 0.0625]
    const target = padReference(Float32Array.of(0.75, 0.25), 3);
    assert.deepEqual(Array.from(target), [0.75, 0.25, 0]);
    const w = softmaxRows([Math.LN2, 0, 0], { rows: 1, cols: 3 });
    assertClose(w, [0.5, 0.25, 0.25], F64, 'w');
    const r = softmaxRowsBackward(w, null, target, { rows: 1, cols: 3, klScale: 0.25 });
    assertClose(r.klLoss, [0.07602470777028082], F64, 'klLoss');
    assertClose(r.dx, [-0.0625, 0, 0.0625], F64, 'dx');
  });

  it('padReference zero-pads to the current block count (and cuts a longer one)', () => {
    assert.deepEqual(Array.from(padReference(Float32Array.of(1), 3)), [1, 0, 0]);
    assert.deepEqual(Array.from(padReference(Float32Array.of(0.75, 0.25), 2)), [0.75, 0.25]);
    assert.deepEqual(Array.from(padReference(Float32Array.of(0.75, 0.25), 1)), [0.75]);
  });

  it('meanRows averages the attention rows', () => {
    // [[0.5, 0.25, 0.25], [1, 0, 0]] -> [(0.5 + 1)/2, 0.25/2, 0.25/2] = [0.75, 0.125, 0.125]
    assert.deepEqual(Array.from(meanRows(Float32Array.of(0.5, 0.25, 0.25, 1, 0, 0), 2, 3)), [0.75, 0.125, 0.125]);
    // [[1, 0], [0, 1], [0.5, 0.5]] -> [1.5/3, 1.5/3] = [0.5, 0.5]
    assertClose(meanRows(Float32Array.of(1, 0, 0, 1, 0.5, 0.5), 3, 2), [0.5, 0.5], F32, 'mean of 3 rows');
  });

  it('LoRA mixture y = scale Σ_j w_j B_j A_j x of two rank-1 blocks', () => {
    // d_in = 3, outDim = 2, rank 1, alpha 2 -> scale = alpha / r = 2
    // A_1 = [1, 0, 2], A_2 = [0, 1, −1]; B_1 = [1, 2]ᵀ, B_2 = [3, −1]ᵀ
    // Example 0: x = [1, 2, 3] -> u = [A_1 x, A_2 x] = [1 + 6, 2 − 3] = [7, −1]; w = [0.25, 0.75]
    //   y = 2 · (0.25 · 7 · [1, 2] + 0.75 · (−1) · [3, −1]) = 2 · ([1.75, 3.5] + [−2.25, 0.75]) = [−1, 8.5]
    // Example 1: x = [0, 1, 0] -> u = [0, 1]; w = [0, 1] (one-hot on block 2)
    //   y = 2 · 1 · 1 · [3, −1] = [6, −2]
    const u = [7, -1, 0, 1];
    const B = [1, 2, 3, -1]; // [J, outDim, r]
    const mix = [0.25, 0.75, 0, 1];
    const shape = { tokens: 2, seq: 1, blocks: 2, rank: 1, outDim: 2, scale: 2 };
    assert.deepEqual(Array.from(loraMixForward(u, B, mix, shape)), [-1, 8.5, 6, -2]);
    // Added to the base projection y0 = [1, 1, 0, 0]: [0, 9.5, 6, −2]
    assert.deepEqual(Array.from(loraMixForward(u, B, mix, shape, [1, 1, 0, 0])), [0, 9.5, 6, -2]);
    // The same mixture from the routing helpers: all blocks summed (IncLoRA) = 2 · (7·[1, 2] − [3, −1]) = [8, 30]
    const summed = loraMixForward(u.slice(0, 2), B, allBlocks(2, 1), { ...shape, tokens: 1 });
    assert.deepEqual(Array.from(summed), [8, 30]);
  });

  it('ARM extras: replayed prompts with their padded references and klScale = klRatio / rows', () => {
    class Probe extends SaptMethod {
      setBlocks(blocks: number): void {
        this.bank = { blocks } as unknown as Bank;
      }
    }
    // bottleneck 4, mean pooling, klRatio 0.5, armRows 4, referenceSamples 8, memory 0.5 of each task (min 1)
    const sapt = new Probe(4, 'mean', 0.5, 4, 8, 0.5, 1);
    const rng = createRng(3);
    const ctx = { rng, settings: { batchSize: 6, padId: 0, seqLen: 5 } } as unknown as MethodContext;
    sapt.memory.store(encodedTask(0, 4, 100), rng);
    sapt.memory.store(encodedTask(1, 4, 200), rng);
    sapt.references[0] = Float32Array.of(1); // after task 1 (one block)
    sapt.references[1] = Float32Array.of(0.25, 0.75); // after task 2 (two blocks)
    sapt.setBlocks(3);
    assert.deepEqual(sapt.extras(ctx, 0, 0), {}, 'no ARM on the first task');
    const arm = sapt.extras(ctx, 2, 0).arm!;
    assert.ok(arm, 'ARM term from the third task on');
    assert.equal(arm.klScale, 0.125); // 0.5 / 4
    assert.equal(arm.batch.batchSize, 4);
    assert.equal(arm.batch.seqLen, 5);
    assert.equal(arm.targets.length, 4 * 3);
    const seen = new Set<number>();
    for (let r = 0; r < 4; r++) {
      const first = arm.batch.ids[r * 5];
      const task = first >= 200 ? 1 : 0;
      seen.add(task);
      // Prompt only: the two prompt tokens, then padding (the answer token 9 is gone), prompt mask on both.
      assert.deepEqual(Array.from(arm.batch.ids.subarray(r * 5, r * 5 + 5)), [first, task === 1 ? 200 : 100, 0, 0, 0]);
      assert.deepEqual(Array.from(arm.batch.promptMask.subarray(r * 5, r * 5 + 5)), [1, 1, 0, 0, 0]);
      assert.deepEqual(Array.from(arm.targets.subarray(r * 3, r * 3 + 3)), task === 1 ? [0.25, 0.75, 0] : [1, 0, 0]);
    }
    assert.equal(seen.size, 2, 'rows replay both earlier tasks (seed 3)');
    // armRows 0: half the batch (6 / 2 = 3 rows), klScale 0.5 / 3
    const half = new Probe(4, 'mean', 0.5, 0, 8, 0.5, 1);
    half.memory.store(encodedTask(0, 4, 100), rng);
    half.references[0] = Float32Array.of(1);
    half.setBlocks(2);
    const arm2 = half.extras(ctx, 1, 0).arm!;
    assert.equal(arm2.batch.batchSize, 3);
    assert.equal(arm2.klScale, 0.5 / 3);
    // klRatio 0 switches ARM off.
    const off = new Probe(4, 'mean', 0, 4, 8, 0.5, 1);
    off.memory.store(encodedTask(0, 4, 100), rng);
    off.references[0] = Float32Array.of(1);
    off.setBlocks(2);
    assert.deepEqual(off.extras(ctx, 1, 0), {});
  });
});

describe('ConPET', () => {
  it('topKMixture with k = 1 is one-hot on the best logit, ties to the lower index', () => {
    assert.deepEqual(Array.from(topKMixture([0.5, 2, -1], 1)), [0, 1, 0]);
    // logits 1 and 3 tie at 3: index 1 wins
    assert.deepEqual(Array.from(topKMixture([1, 3, 2, 3], 1)), [0, 1, 0, 0]);
  });

  it('topKMixture with k = 2 is the renormalised softmax of the two best', () => {
    // logits [2, 0, 1, −1]: best two are index 0 (2) and index 2 (1)
    // softmax over them: [e^2, e^1] / (e^2 + e^1) = [1, e^−1] / (1 + e^−1) = [σ(1), σ(−1)]
    //                  = [0.7310585786300049, 0, 0.2689414213699951, 0]
    assertClose(topKMixture([2, 0, 1, -1], 2), [SIG1, 0, SIGM1, 0], F32, 'k = 2');
    // three-way tie at 1: indices 0 and 1 are kept, each e^0 / (e^0 + e^0) = 0.5
    assert.deepEqual(Array.from(topKMixture([1, 1, 1, 0], 2)), [0.5, 0.5, 0, 0]);
    // [1, 3, 2, 3]: the two 3s -> 0.5 each
    assert.deepEqual(Array.from(topKMixture([1, 3, 2, 3], 2)), [0, 0.5, 0, 0.5]);
  });

  it('topKMixture with k at least the number of modules is the full softmax', () => {
    // [ln 2, 0, 0] -> [2, 1, 1] / 4
    assertClose(topKMixture([Math.LN2, 0, 0], 5), [0.5, 0.25, 0.25], F32, 'k > n');
  });

  it('selectorExample puts the task label at the position after the prompt', () => {
    // prompt [5, 6, 7], answer [8, 9]; task 2, pad 0 -> ids [5, 6, 7, 0], labels [−100, −100, −100, 2]
    // (HF labels are unshifted: position 3's label is predicted from the last prompt token, position 2)
    const ex: EncodedExample = { ids: [5, 6, 7, 8, 9], labels: [IGN, IGN, IGN, 8, 9], promptLength: 3, truncated: 1 };
    assert.deepEqual(selectorExample(ex, 2, 0), { ids: [5, 6, 7, 0], labels: [IGN, IGN, IGN, 2], promptLength: 3, truncated: 0 });
    // The input example is not modified.
    assert.deepEqual(ex.ids, [5, 6, 7, 8, 9]);
  });

  it('ReplayMemory.store keeps max(min, round(fraction · n)) samples, all of them when fewer', () => {
    const rng = createRng(11);
    const cases: [fraction: number, min: number, n: number, kept: number][] = [
      [0.2, 1, 10, 2], //   round(0.2 · 10) = 2
      [0.02, 3, 10, 3], //  round(0.2) = 0 < min 3
      [0.1, 1, 25, 3], //   round(2.5) = 3 (rounded, not floored)
      [0.5, 8, 2, 2], //    min 8 > n 2: all of them
      [1, 1, 4, 4], //      everything
    ];
    for (const [fraction, min, n, kept] of cases) {
      const mem = new ReplayMemory(fraction, min);
      const enc = encodedTask(0, n, 100);
      mem.store(enc, rng);
      const stored = mem.perTask[0];
      assert.equal(stored.examples.length, kept, `fraction ${fraction}, min ${min}, n ${n}`);
      assert.equal(mem.size, kept);
      const picked = stored.examples.map((e) => e.ids[0] - 100);
      assert.deepEqual(picked, [...new Set(picked)].sort((a, b) => a - b), 'distinct, in index order');
      // Stored examples are the task's own objects, and raw samples match them one for one.
      stored.examples.forEach((e, k) => {
        assert.equal(e, enc.train.at(picked[k]));
        assert.equal(stored.raw[k].input, `in${picked[k]}`);
      });
    }
  });

  it('ReplayMemory.draw picks only stored samples, a task first (uniformly), then a sample', () => {
    const mem = new ReplayMemory(0.2, 1);
    assert.deepEqual(mem.draw(4, createRng(1)), [], 'nothing stored yet');
    const a = encodedTask(0, 10, 100); // keeps 2
    const b = encodedTask(1, 40, 200); // keeps 8
    mem.store(a, createRng(2));
    mem.store(b, createRng(3));
    assert.equal(mem.size, 10);
    const stored = new Set(mem.perTask.flatMap((m) => m.examples));
    const draws = mem.draw(2000, createRng(4));
    assert.equal(draws.length, 2000);
    assert.ok(draws.every((e) => stored.has(e)), 'every draw is a stored sample');
    assert.equal(new Set(draws).size, 10, 'every stored sample is drawn at some point');
    // Task-first: task 0 has 2 of the 10 samples but gets about half the draws (0.5 ± 0.05;
    // the binomial standard deviation is sqrt(0.25 / 2000) = 0.011).
    const share = draws.filter((e) => e.ids[0] < 200).length / 2000;
    assert.ok(Math.abs(share - 0.5) < 0.05, `task 0 share ${share}`);
    // Deterministic for a seed.
    assert.deepEqual(mem.draw(20, createRng(9)), mem.draw(20, createRng(9)));
    // The stored samples as JSON lines.
    assert.equal(mem.jsonl(0), mem.perTask[0].raw.map((e) => JSON.stringify(e)).join('\n') + '\n');
    assert.equal(mem.jsonl(5), '');
  });

  it('replay rows: none before any memory, then round(B · share) clamped to [1, B − 1]', () => {
    const rowsFor = (share: number, B: number) => {
      const m = new ReplayMethod('replay', share, 0.5, 1);
      const before = m.replayRows(B);
      m.memory.store(encodedTask(0, 4, 100), createRng(5));
      return [before, m.replayRows(B)];
    };
    assert.deepEqual(rowsFor(0.25, 8), [0, 2]); //  round(2) = 2
    assert.deepEqual(rowsFor(0.05, 8), [0, 1]); //  round(0.4) = 0 -> at least 1
    assert.deepEqual(rowsFor(0.9, 4), [0, 3]); //   round(3.6) = 4 -> at most B − 1 = 3
    assert.deepEqual(rowsFor(0.5, 5), [0, 3]); //   round(2.5) = 3
    assert.deepEqual(rowsFor(0.25, 2), [0, 1]); //  round(0.5) = 1
    assert.deepEqual(rowsFor(0.5, 1), [0, 0]); //   a batch of one stays all new data
  });

  it('promptOnly drops the answer and masks every label', () => {
    const ex: EncodedExample = { ids: [5, 6, 7, 8, 9], labels: [IGN, IGN, IGN, 8, 9], promptLength: 3, truncated: 2 };
    assert.deepEqual(promptOnly(ex), { ids: [5, 6, 7], labels: [IGN, IGN, IGN], promptLength: 3, truncated: 0 });
  });
});

describe('IncLoRA and oracle routing', () => {
  it('allBlocks weights every block 1 for every row', () => {
    assert.deepEqual(Array.from(allBlocks(3, 2)), [1, 1, 1, 1, 1, 1]);
  });

  it('oneHot selects block j in every row', () => {
    assert.deepEqual(Array.from(oneHot(3, 2, 1)), [0, 1, 0, 0, 1, 0]);
    assert.deepEqual(Array.from(oneHot(2, 1, 0)), [1, 0]);
  });

  it('IncLoRA sums all blocks; the oracle picks the true task and answers unseen ones with the base model', async () => {
    const bank = { blocks: 3 } as unknown as Bank;
    class Inc extends IncLoraMethod {
      constructor() {
        super('inclora');
        this.bank = bank;
      }
      mixFor(t: number, rows: number) {
        return this.trainMix(t, rows);
      }
    }
    class Oracle extends OracleMethod {
      constructor() {
        super('oracle');
        this.bank = bank;
      }
      mixFor(t: number, rows: number) {
        return this.trainMix(t, rows);
      }
    }
    const ctx = {} as MethodContext;
    const inc = new Inc();
    assert.deepEqual(Array.from(inc.mixFor(1, 2)), [1, 1, 1, 1], 'task 2 trains with blocks 1 and 2 summed');
    const incRoute = await inc.route(ctx, 0, [[1], [2, 3]]);
    assert.equal(incRoute.bank, bank);
    assert.deepEqual(incRoute.mix!.map((m) => Array.from(m)), [[1, 1, 1], [1, 1, 1]]);
    const oracle = new Oracle();
    assert.deepEqual(Array.from(oracle.mixFor(1, 2)), [0, 1, 0, 1], 'task 2 trains its own block only');
    const oracleRoute = await oracle.route(ctx, 2, [[1], [2, 3]]);
    assert.deepEqual(oracleRoute.mix!.map((m) => Array.from(m)), [[0, 0, 1], [0, 0, 1]]);
    // Task 4 has no block yet (evaluating unseen tasks): every block weighted 0 leaves the base model.
    const unseen = await oracle.route(ctx, 3, [[1], [2, 3]]);
    assert.equal(unseen.bank, bank);
    assert.deepEqual(unseen.mix!.map((m) => Array.from(m)), [[0, 0, 0], [0, 0, 0]]);
  });
});

describe('EpochSampler', () => {
  const isPermutation = (xs: number[], n: number) => [...xs].sort((a, b) => a - b).every((v, i) => v === i) && xs.length === n;

  it('covers every index exactly once per epoch, across take() boundaries', () => {
    const s = new EpochSampler(7, createRng(42));
    const draws = [...s.take(3), ...s.take(5), ...s.take(6)]; // 14 = two epochs
    assert.ok(isPermutation(draws.slice(0, 7), 7), `epoch 1: ${draws.slice(0, 7)}`);
    assert.ok(isPermutation(draws.slice(7), 7), `epoch 2: ${draws.slice(7)}`);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = new EpochSampler(20, createRng(7)).take(40);
    const b = new EpochSampler(20, createRng(7)).take(40);
    const c = new EpochSampler(20, createRng(8)).take(40);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    // Two epochs are shuffled independently (the chance that they coincide is 1/20!).
    assert.notDeepEqual(a.slice(0, 20), a.slice(20));
  });

  it('handles one example and refuses none', () => {
    assert.deepEqual(new EpochSampler(1, createRng(0)).take(3), [0, 0, 0]);
    assert.throws(() => new EpochSampler(0, createRng(0)), /empty training split/);
  });
});

describe('inBatches', () => {
  it('pads the last chunk with its first item and keeps only the real results', async () => {
    const chunks: number[][] = [];
    const out = await inBatches([1, 2, 3, 4, 5], 2, async (chunk) => {
      chunks.push([...chunk]);
      return chunk.map((x) => x * 10);
    });
    assert.deepEqual(chunks, [[1, 2], [3, 4], [5, 5]]);
    assert.deepEqual(out, [10, 20, 30, 40, 50]);
  });
});

// The run's time left (src/cl/eta.ts): training steps and task evaluations priced at their own measured rates.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EtaEstimator } from '../../src/cl/eta.ts';

describe('EtaEstimator', () => {
  it('is null before anything was timed', () => {
    assert.equal(new EtaEstimator().estimate(10, 3), null);
  });

  it('prices each kind at its own rate: 0.5 s a step and 20 s an evaluation', () => {
    const eta = new EtaEstimator();
    eta.train(5, 10); // 10 steps in 5 s
    eta.train(1, 0); // after-task work: time, no units
    eta.eval(40, 2); // 2 tasks in 40 s
    // (5 + 1) / 10 = 0.6 s a step; 20 s an evaluation: 30 steps and 4 evaluations = 18 + 80 s.
    assert.ok(Math.abs(eta.estimate(30, 4)! - 98) < 1e-9);
    // One rate over all units (46 s for 12) would price the same 34 units at 130 s, and at far less early in a run, when
    // mostly steps were done: the split rates do not depend on the mix done so far.
  });

  it('a kind not timed yet is priced at the other kind\'s rate', () => {
    const eta = new EtaEstimator();
    eta.train(2, 4);
    assert.equal(eta.estimate(6, 2), 4);
    const onlyEval = new EtaEstimator();
    onlyEval.eval(9, 3);
    assert.equal(onlyEval.estimate(1, 1), 6);
  });
});

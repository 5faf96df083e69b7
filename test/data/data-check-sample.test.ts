// The Tasks panel's data check reads a split the run leaves uncapped as a seeded sample of CHECK_SAMPLE examples, the
// same draw a cap of that size makes, so that checking a big file holds a bounded number of examples.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CHECK_SAMPLE, dataCheckCaps, isSampled } from '../../src/data/data-check.ts';
import { loadTaskInputs, type TaskInput } from '../../src/data/inspect.ts';

const lines = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ input: `in${i}`, output: i % 3 === 0 ? 'pos' : 'neg' })).join('\n') + '\n';
const input = (n: number): TaskInput => ({ id: `t${n}`, name: `n${n}`, kind: 'file', folder: null, files: [new File([lines(n)], `n${n}.jsonl`)], instruction: null, columns: null });

describe('data check of uncapped splits', () => {
  test('the run\'s caps are kept; an uncapped split gets the sample size', () => {
    assert.deepEqual(dataCheckCaps(400, 50), { maxTrain: 400, maxTest: 50, sampled: false });
    assert.deepEqual(dataCheckCaps(null, 50), { maxTrain: CHECK_SAMPLE, maxTest: 50, sampled: true });
    assert.deepEqual(dataCheckCaps(null, null), { maxTrain: CHECK_SAMPLE, maxTest: CHECK_SAMPLE, sampled: true });
  });

  test('a big uncapped file is checked on a sample: the draw of a cap of that size, flagged only when the split filled it', async () => {
    const big = input(40_000);
    const caps = dataCheckCaps(null, null);
    const [checked] = await loadTaskInputs([big], { seed: 3, maxTrain: caps.maxTrain, maxTest: caps.maxTest });
    assert.equal(checked.train.length, CHECK_SAMPLE);
    assert.equal(checked.test.length, CHECK_SAMPLE, '20 % of 40,000 is 8,000 test examples, sampled down');
    assert.equal(isSampled(checked.test.length, null), true);
    assert.equal(isSampled(checked.test.length, 50), false, 'a split the run caps is what the run uses');
    // The sample is a subset of the full split, drawn exactly as a run capped at the sample size would draw it.
    const [full] = await loadTaskInputs([big], { seed: 3 });
    const fullTest = new Set(full.test.map((e) => e.input));
    assert.ok(checked.test.every((e) => fullTest.has(e.input)));
    const [capped] = await loadTaskInputs([big], { seed: 3, maxTrain: CHECK_SAMPLE, maxTest: CHECK_SAMPLE });
    assert.deepEqual(checked.test, capped.test);
    assert.deepEqual(checked.train, capped.train);

    const [small] = await loadTaskInputs([input(2_000)], { seed: 3, maxTrain: caps.maxTrain, maxTest: caps.maxTest });
    assert.equal(small.test.length, 400);
    assert.equal(isSampled(small.test.length, null), false, 'a split smaller than the sample is read whole: its size is exact');
  });
});

// The Tasks panel's data checks (src/data/data-check.ts) on the tiny model's tokenizer: token lengths against the
// max length, the test split's label balance and majority-label score, and a suggested max length within a budget.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { checkLengths, checkTestSplit, suggestMaxLength } from '../../src/data/data-check.ts';
import { encodeExample } from '../../src/data/encode.ts';
import { promptFor } from '../../src/data/prompt.ts';
import type { Task } from '../../src/data/task.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { loadTokenizer, type TextTokenizer } from '../../src/model/tokenizer.ts';

let tok: TextTokenizer;
before(async () => {
  tok = (await loadTokenizer(dirSource('public/models/tiny-random')))!;
});

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
/** Inputs of 2, 4, ..., 20 words; test answers: ham x3, spam x1. */
function task(): Task {
  const ex = (i: number, output: string) => ({ input: words(2 * (i + 1)), output });
  return {
    name: 'spam', instruction: 'Spam or ham?', source: 'spam.jsonl', labels: ['ham', 'spam'], dev: [],
    train: Array.from({ length: 6 }, (_, i) => ex(i, i % 2 ? 'spam' : 'ham')),
    test: [ex(6, 'ham'), ex(7, 'spam'), ex(8, 'ham'), ex(9, 'ham')],
  };
}

describe('data checks', () => {
  test('lengths are the uncut prompt + answer tokens; those above the max length are counted as cut', () => {
    const t = task();
    const full = [...t.train, ...t.test].map((e) => encodeExample(tok, promptFor(tok, t.instruction, e.input), e.output, 100_000).ids.length);
    const maxLength = full[4];
    const c = checkLengths(tok, t, maxLength);
    assert.deepEqual(c.lengths, full.slice().sort((a, b) => a - b));
    assert.equal(c.max, Math.max(...full));
    assert.equal(c.truncated, full.filter((n) => n > maxLength).length);
    assert.ok(c.truncated > 0 && c.truncated < 10);
    assert.equal(c.instructionCut, 0);
    assert.equal(c.bins.reduce((a, b) => a + b, 0), 10);
    assert.equal(c.median, c.lengths[4], 'nearest rank: the 5th of 10');
    assert.equal(c.p90, c.lengths[8]);
    // A max length too small for the instruction itself: every example cuts the instruction.
    assert.equal(checkLengths(tok, t, 6).instructionCut, 10);
    // Measured on the first `limit` examples only.
    assert.equal(checkLengths(tok, t, maxLength, 3).measured, 3);
  });

  test('the test split: size, label counts most common first, majority-label and chance scores', () => {
    const s = checkTestSplit(task());
    assert.equal(s.size, 4);
    assert.deepEqual(s.labels, [{ label: 'ham', count: 3 }, { label: 'spam', count: 1 }]);
    assert.deepEqual(s.baselines, { majorityLabel: 'ham', majority: 75, chance: 50 });
  });

  test('the suggested max length covers the longest example, lowered in steps of 8 until the budget fits', () => {
    const c = checkLengths(tok, task(), 64);
    const whole = suggestMaxLength([c], () => true)!;
    assert.equal(whole.maxLength, Math.max(16, Math.ceil(c.max / 8) * 8));
    assert.equal(whole.covers, 1);
    const capped = suggestMaxLength([c], (len) => len <= c.lengths[4])!;
    assert.ok(capped.maxLength <= c.lengths[4] && capped.maxLength > c.lengths[4] - 8, `${capped.maxLength}`);
    assert.equal(capped.covers, c.lengths.filter((n) => n <= capped.maxLength).length / 10);
    assert.equal(suggestMaxLength([c], () => false)!.maxLength, 16, 'never below 16');
    assert.equal(suggestMaxLength([], () => true), null);
  });
});

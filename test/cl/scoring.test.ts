// Answer scoring: SQuAD-style normalisation, exact match against one or several gold answers, and ROUGE-L on hand-computed LCS examples.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exactMatch, lcsLength, normalizeAnswer, pickMetric, rougeL, rougeTokens, scoreTask } from '../../src/cl/scoring.ts';

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

describe('normalizeAnswer', () => {
  it('lowercases, strips punctuation and articles, collapses whitespace', () => {
    assert.equal(normalizeAnswer('  The  Quick, brown\tfox!\n '), 'quick brown fox');
    assert.equal(normalizeAnswer('An apple a day'), 'apple day');
    assert.equal(normalizeAnswer("Don't"), 'dont'); // punctuation is deleted, not replaced by a space
    assert.equal(normalizeAnswer('a-team'), 'ateam');
    assert.equal(normalizeAnswer('$5 + 3 = 8'), '5 3 8');
    assert.equal(normalizeAnswer('The'), '');
  });
  it('drops articles only as whole words', () => {
    assert.equal(normalizeAnswer('theater another anthem'), 'theater another anthem');
    assert.equal(normalizeAnswer('aé thé'), 'aé thé'); // é is a letter, so "a" and "th" are not words
    assert.equal(normalizeAnswer('the.end'), 'theend');
  });
  it('folds Unicode compatibility forms (NFKC) and strips Unicode punctuation', () => {
    assert.equal(normalizeAnswer('ＡＢＣ'), 'abc'); // full-width letters
    assert.equal(normalizeAnswer('ﬁne'), 'fine'); // the "fi" ligature
    assert.equal(normalizeAnswer('«Bonjour» — ¿Qué?'), 'bonjour qué');
    assert.equal(normalizeAnswer('cafe\u0301'), 'café'); // NFKC composes e + combining acute
  });
});

describe('exactMatch', () => {
  it('compares normalised strings', () => {
    assert.equal(exactMatch('The Answer.', 'answer'), 1);
    assert.equal(exactMatch('answers', 'answer'), 0);
    assert.equal(exactMatch('', 'the'), 1); // both normalise to ""
  });
  it('accepts any of a list of gold answers', () => {
    assert.equal(exactMatch(' POS ', ['positive', 'pos']), 1);
    assert.equal(exactMatch('neg', ['positive', 'pos']), 0);
    assert.equal(exactMatch('pos', []), 0);
  });
});

describe('rougeL', () => {
  it('tokenizes like rouge-score: lowercase, non-alphanumerics to spaces', () => {
    assert.deepEqual(rougeTokens('State-of-the-art, 2nd TRY!'), ['state', 'of', 'the', 'art', '2nd', 'try']);
    assert.deepEqual(rougeTokens('  ...  '), []);
    assert.deepEqual(rougeTokens('Über café'), ['über', 'café']);
  });
  it('finds the longest common subsequence', () => {
    assert.equal(lcsLength(['a', 'b', 'c', 'b', 'd', 'a', 'b'], ['b', 'd', 'c', 'a', 'b', 'a']), 4); // b c b a (or b d a b)
    assert.equal(lcsLength([], ['a']), 0);
    assert.equal(lcsLength(['x'], ['y']), 0);
  });
  it('scores the F1 of LCS precision and recall', () => {
    // pred 6 tokens, gold 6 tokens, LCS "the cat on the mat" = 5: P = R = 5/6, F1 = 5/6
    close(rougeL('The cat sat on the mat.', 'the cat is on the mat'), 5 / 6);
    // LCS "police the gunman" = 3 of 4 and 4: P = R = 3/4, F1 = 0.75
    close(rougeL('police killed the gunman', 'police kill the gunman'), 0.75);
    // pred "w x y z", gold "w y": LCS 2, P = 2/4, R = 2/2, F1 = 2 * 0.5 * 1 / 1.5 = 2/3
    close(rougeL('w x y z', 'w y'), 2 / 3);
    // order matters: "c b a" vs "a b c": LCS 1, P = R = 1/3
    close(rougeL('c b a', 'a b c'), 1 / 3);
    assert.equal(rougeL('Hello, World!', 'hello world'), 1);
    assert.equal(rougeL('foo', 'bar'), 0);
  });
  it('is 0 when one side is empty and 1 when both are', () => {
    assert.equal(rougeL('', 'something'), 0);
    assert.equal(rougeL('something', '?!'), 0);
    assert.equal(rougeL('!!', ''), 1);
  });
  it('takes the best of several gold answers', () => {
    // against "a b c d": LCS 1 of 2 and 4 -> F1 = 2 * 0.5 * 0.25 / 0.75 = 1/3; against "x q": 1/2 and 1/2 -> 0.5
    close(rougeL('a q', ['a b c d', 'x q']), 0.5);
    assert.equal(rougeL('a', []), 0);
  });
});

describe('scoreTask and pickMetric', () => {
  it('averages in percent', () => {
    assert.equal(scoreTask(['yes', 'No.', 'maybe', 'yes'], ['yes', 'no', 'no', ['no', 'yes']], 'em'), 75);
    // ROUGE-L: 1 and 0.75 (the gunman example) -> mean 0.875 -> 87.5
    close(scoreTask(['x y', 'police killed the gunman'], ['x y', 'police kill the gunman'], 'rougeL'), 87.5);
  });
  it('rejects mismatched lengths, no examples and unknown metrics', () => {
    assert.throws(() => scoreTask(['a'], ['a', 'b'], 'em'), /1 predictions for 2 gold answers/);
    assert.throws(() => scoreTask([], [], 'em'), /no examples/);
    assert.throws(() => scoreTask(['a'], ['a'], 'bleu' as 'em'), /unknown metric "bleu"/);
  });
  it('uses exact match for tasks with a label set, ROUGE-L otherwise', () => {
    assert.equal(pickMetric(['positive', 'negative']), 'em');
    assert.equal(pickMetric(null), 'rougeL');
    assert.equal(pickMetric([]), 'rougeL');
  });
});

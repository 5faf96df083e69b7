// Tests that training examples encoded on demand (beyond the run's kept-token budget) are byte for byte the
// encodings the first pass made, that the run's sequence length and truncation counts do not depend on the budget,
// and that the lists a method indexes (one task's, MTL's union) give every example at its index.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { encodeTasks } from '../../src/cl/runner.ts';
import { encodeTaskExample } from '../../src/data/fit-example.ts';
import { concatLists, EncodedExamples, exampleAt } from '../../src/data/lazy-encode.ts';
import type { EncodedExample } from '../../src/data/encode.ts';
import type { Example, Task } from '../../src/data/task.ts';
import type { Session } from '../../src/engine/session.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { loadTokenizer, type TextTokenizer } from '../../src/model/tokenizer.ts';

let tok: TextTokenizer;
before(async () => {
  tok = (await loadTokenizer(dirSource('public/models/demo')))!;
});

const words = (n: number, seed: number) => Array.from({ length: n }, (_, i) => `w${(i * 7 + seed) % 23}`).join(' ');

function task(name: string, n: number, longEvery: number): Task {
  // Every `longEvery`-th input is far longer than maxLength, so some examples are cut (by their input).
  const ex = (i: number): Example => ({ input: words(i % longEvery === 0 ? 120 : 3 + (i % 9), i), output: i % 3 === 0 ? 'yes' : 'no' });
  return {
    name, instruction: 'Answer yes or no.', source: `${name}.jsonl`, labels: ['no', 'yes'], dev: [],
    train: Array.from({ length: n }, (_, i) => ex(i)), test: Array.from({ length: 7 }, (_, i) => ex(i + 1000)),
  };
}

/** The encodings as encodeTasks made them before lazy encoding: every example, stripped of how it was cut. */
function eager(t: Task, maxLength: number): EncodedExample[] {
  return t.train.map((ex) => {
    const { cut: _c, fullLength: _f, ...e } = encodeTaskExample(tok, t.instruction, ex.input, ex.output, maxLength);
    return e;
  });
}

describe('training examples encoded on demand', () => {
  test('are identical to the first pass\'s encodings, with the same sequence length and truncation counts, whatever the budget', () => {
    const tasks = [task('a', 60, 5), task('b', 45, 4)];
    const session = { tokenizer: tok } as unknown as Session;
    const all = encodeTasks(session, tasks, 48);
    const none = encodeTasks(session, tasks, 48, {}, 0);
    const some = encodeTasks(session, tasks, 48, {}, 1500);
    assert.ok(all.truncation[0].input > 0, 'some examples are cut');
    for (const run of [none, some]) {
      assert.equal(run.seqLen, all.seqLen);
      assert.deepEqual(run.truncation, all.truncation);
    }
    tasks.forEach((t, k) => {
      const want = eager(t, 48);
      for (const run of [all, none, some]) {
        const list = run.encoded[k].train;
        assert.equal(list.length, t.train.length);
        for (let i = 0; i < list.length; i++) assert.deepEqual(list.at(i), want[i], `task ${t.name} example ${i}`);
        assert.deepEqual(run.encoded[k].test, all.encoded[k].test);
      }
    });
    const kept = (run: typeof all, k: number) => (run.encoded[k].train as EncodedExamples).keptCount;
    assert.equal(kept(all, 0) + kept(all, 1), 105, 'the default budget keeps small tasks whole');
    assert.equal(kept(none, 0) + kept(none, 1), 0);
    // The budget is shared: the first task takes what it fits and the second what is left.
    assert.ok(kept(some, 0) > 0 && kept(some, 0) < 60, `${kept(some, 0)}`);
  });

  test('a list answers only its own indices', () => {
    const list = EncodedExamples.encodeAll(3, (i) => ({ ids: [i], labels: [i], promptLength: 0, truncated: 0 }), (i) => ({ ids: [i], labels: [i], promptLength: 0, truncated: 0 }), { tokens: 1 });
    assert.equal(list.keptCount, 1);
    assert.deepEqual(list.at(2)?.ids, [2]);
    for (const bad of [-1, 3, 1.5]) assert.equal(list.at(bad), undefined);
    assert.throws(() => exampleAt(list, 3), /no training example 3 \(of 3\)/);
  });

  test('MTL\'s union reads every task\'s examples in order, at their own index', () => {
    const mk = (tag: number, n: number) => Array.from({ length: n }, (_, i) => ({ ids: [tag, i], labels: [i], promptLength: 1, truncated: 0 }));
    const union = concatLists([mk(1, 3), mk(2, 0), mk(3, 2)]);
    assert.equal(union.length, 5);
    assert.deepEqual(Array.from({ length: 5 }, (_, i) => exampleAt(union, i).ids), [[1, 0], [1, 1], [1, 2], [3, 0], [3, 1]]);
    assert.equal(union.at(5), undefined);
    assert.equal(union.at(-1), undefined);
  });
});

// Tests the seeded generator against the xoshiro128** reference sequence and checks its distributions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, rngFromState, shuffled, shuffleInPlace } from '../../src/model/rng.ts';

test('xoshiro128** reference outputs for state [1, 2, 3, 4]', () => {
  // The test vector published with the reference implementation (also used by Rust's rand_xoshiro).
  const rng = rngFromState([1, 2, 3, 4]);
  const got = Array.from({ length: 10 }, () => rng.nextU32());
  assert.deepEqual(got, [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804]);
});

test('same seed gives the same stream; state resumes it', () => {
  const a = createRng(42);
  const b = createRng(42);
  const c = createRng(43);
  const xs = Array.from({ length: 5 }, () => a.uniform());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.uniform()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.uniform()));
  const resumed = rngFromState(a.state());
  assert.deepEqual(Array.from({ length: 5 }, () => resumed.nextU32()), Array.from({ length: 5 }, () => a.nextU32()));
  assert.throws(() => rngFromState([0, 0, 0, 0]), /not all zero/);
});

test('uniform lies in [0, 1) and normal has mean 0, variance 1', () => {
  const rng = createRng(7);
  const n = 100000;
  let su = 0;
  let sn = 0;
  let sn2 = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u >= 0 && u < 1);
    su += u;
    const z = rng.normal();
    assert.ok(Number.isFinite(z));
    sn += z;
    sn2 += z * z;
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.01);
  assert.ok(Math.abs(sn / n) < 0.02);
  assert.ok(Math.abs(sn2 / n - 1) < 0.02);
});

test('shuffles are seeded permutations; the copy leaves its input alone', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const copy = shuffled(items, createRng(7));
  assert.deepEqual(items, Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual([...copy].sort((a, b) => a - b), items);
  assert.notDeepEqual(copy, items);
  assert.deepEqual(shuffled(items, createRng(7)), copy);
  assert.notDeepEqual(shuffled(items, createRng(8)), copy);
  const inPlace = items.slice();
  assert.equal(shuffleInPlace(inPlace, createRng(7)), inPlace);
  assert.deepEqual(inPlace, copy);
  // Fisher-Yates draws j in [0, i] from i = n - 1 down: for two items one draw decides the order.
  const rng = createRng(3);
  const swap = Math.floor(createRng(3).uniform() * 2) === 0;
  assert.deepEqual(shuffled(['a', 'b'], rng), swap ? ['b', 'a'] : ['a', 'b']);
});

// Numeric comparison helpers for tests: tolerances are explicit and failures name the worst element.
import assert from 'node:assert/strict';

export type Vec = ArrayLike<number>;

/** Asserts |actual - expected| <= atol + rtol * |expected| elementwise. */
export function assertClose(actual: Vec, expected: Vec, tol: { rtol: number; atol: number }, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} != ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      assert.fail(`${label}: non-finite value at ${i}: got ${a}, expected ${e}`);
    }
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    assert.fail(`${label}: element ${worst} got ${actual[worst]}, expected ${expected[worst]} (atol ${tol.atol}, rtol ${tol.rtol})`);
  }
}

/** max|a - e| / max|e|: the relative error used for whole-tensor comparisons. */
export function relError(actual: Vec, expected: Vec): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < actual.length; i++) {
    num = Math.max(num, Math.abs(actual[i] - expected[i]));
    den = Math.max(den, Math.abs(expected[i]));
  }
  return den === 0 ? num : num / den;
}

export function assertRelError(actual: Vec, expected: Vec, max: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} != ${expected.length}`);
  const err = relError(actual, expected);
  assert.ok(Number.isFinite(err) && err <= max, `${label}: relative error ${err.toExponential(3)} exceeds ${max}`);
}
